//! The worker-protocol reader: any bytes a worker could write to stdout, in any chunking,
//! through the line splitter and the answer decoder. Each complete line decodes to an
//! answer or a protocol error (never a panic), the same way twice, and an error's message
//! (logged) holds no control character; cut lines stay within the bound; excerpts stay short.
#![no_main]

use kea_runscript_core::fuzzing::{decode_answer, excerpt, LineSplitter, Piece};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let max = 64;
    let mut splitter = LineSplitter::new(max);
    let mut check = |piece: Piece<'_>| match piece {
        Piece::Line(line) => {
            let first = decode_answer(line).map_err(|e| e.0);
            assert_eq!(format!("{first:?}"), format!("{:?}", decode_answer(line).map_err(|e| e.0)));
            // A protocol error is logged: one line, no control character from the worker.
            if let Err(message) = &first {
                assert!(!message.chars().any(char::is_control), "{message:?}");
            }
            let shown = excerpt(line, 40);
            assert!(shown.chars().count() <= 41, "{shown:?}");
        }
        Piece::Cut(start) => assert!(start.len() <= max),
    };
    // Fed in chunks of the first byte's size (1..=256), as reads from a pipe arrive.
    for part in bytes.chunks(usize::from(chunk) + 1) {
        splitter.feed(part, &mut check);
        assert!(splitter.held() <= max);
    }
    splitter.finish(&mut check);
});
