//! A minimal worker (protocol v1) that acknowledges every event at once: the "fast
//! worker" of `scripts/bench-kea.sh`, and a starting point for a worker in Rust.
//!
//! It reads one event per line on stdin, answers `{"seq":N}` on stdout, and flushes
//! whenever it has answered everything it has read so far (so answers leave in
//! batches under load and at once when idle). It exits at end of input.
//!
//! ```text
//! cargo build --release -p kea-runscript-core --example ack_worker
//! # then "name": ".../target/release/examples/ack_worker", "mode": "worker"
//! ```

use std::io::{self, BufRead, BufReader, BufWriter, Write};

/// The `seq` of an event line: the digits after the first `"seq":` (the hook writes
/// the fields in a fixed order, before `vars`, so no variable can come first).
fn seq(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"seq\":";
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    let mut any = false;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

fn main() -> io::Result<()> {
    if std::env::var("KEA_RUNSCRIPT_PROTOCOL").as_deref() != Ok("1") {
        eprintln!(
            "ack_worker: not started as a kea-runscript worker (KEA_RUNSCRIPT_PROTOCOL is not 1)"
        );
        std::process::exit(2);
    }
    let mut input = BufReader::with_capacity(1 << 20, io::stdin().lock());
    let mut output = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        match seq(&line) {
            Some(n) => writeln!(output, "{{\"seq\":{n}}}")?,
            None => eprintln!("ack_worker: a line without a seq"),
        }
        // Nothing more read ahead: the hook waits for these answers, send them.
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::seq;

    #[test]
    fn finds_the_seq() {
        assert_eq!(
            seq(br#"{"v":1,"instance":"ab","seq":42,"vars":{"seq":"7"}}"#),
            Some(42)
        );
        assert_eq!(seq(br#"{"v":1}"#), None);
        assert_eq!(seq(br#"{"seq":}"#), None);
    }
}
