//! The worker-protocol reader: any bytes a worker could write to stdout, in any chunking,
//! through the line splitter and the answer decoder. Each complete line decodes to an
//! answer or a protocol error (never a panic), the same way twice, and an error's message
//! (logged) holds no control character; cut lines stay within the bound; excerpts stay short.
//! An answer's data fields, and the same bytes as a spawned script's stdout, are read at
//! every hook point that takes data: only checked values come out, and every problem (logged)
//! is one line without control characters.
#![no_main]

use kea_runscript_core::answer::{check_class, check_hostname, AnswerData, Problem};
use kea_runscript_core::fuzzing::{decode_answer, excerpt, LineSplitter, Piece};
use kea_runscript_env::HookPoint;

/// Only values that pass the checks, and loggable problems.
fn check_data(data: &AnswerData, problems: &[Problem]) {
    for class in &data.classes {
        assert!(check_class(class).is_ok(), "{class:?}");
    }
    if let Some(name) = &data.hostname {
        assert!(check_hostname(name).is_ok(), "{name:?}");
    }
    for problem in problems {
        assert!(!problem.0.chars().any(char::is_control), "{problem:?}");
    }
}
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
            for hook_point in HookPoint::ALL {
                if let Ok(answer) = decode_answer(line) {
                    if let Some(fields) = &answer.data {
                        let mut problems = Vec::new();
                        let data = AnswerData::from_json(fields, *hook_point, &mut problems);
                        check_data(&data, &problems);
                    }
                }
                let mut problems = Vec::new();
                let (data, _) = AnswerData::from_lines(line, *hook_point, &mut problems);
                check_data(&data, &problems);
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
