//! A worker's stderr on its way into the log (when `log-output` is on): cut into lines,
//! rate-limited. It knows only the log, not the worker: the supervisor reads with it.

use std::time::Instant;

use super::process;
use crate::fdio::{LineSplitter, Piece};
use crate::log::{RateLimiter, Window};
use crate::runner::output::{self, MAX_OUTPUT_LINE};

/// The worker's stderr on its way into the log: split into lines of at most
/// [`MAX_OUTPUT_LINE`] bytes, at most [`output::OUTPUT_LINES_PER_SECOND`] lines a second.
/// It outlives the processes of one worker, so that the rate limit spans restarts.
pub(crate) struct Output<'a> {
    log: &'a RateLimiter,
    /// The script's label, in every line.
    label: &'a str,
    lines: LineSplitter,
    window: Window,
}

impl<'a> Output<'a> {
    /// Lines of the worker `label` into `log`.
    pub fn new(log: &'a RateLimiter, label: &'a str) -> Output<'a> {
        Output {
            log,
            label,
            lines: LineSplitter::new(MAX_OUTPUT_LINE),
            window: Window::new(Instant::now()),
        }
    }

    /// Reads once from `fd` and logs the complete lines.
    pub fn read(&mut self, fd: libc::c_int, buf: &mut [u8]) -> process::Read {
        let read = process::read(fd, buf);
        match read {
            process::Read::Data(n) => {
                let (log, label, window) = (self.log, self.label, &mut self.window);
                self.lines
                    .feed(&buf[..n], |piece| log_line(log, label, window, piece));
            }
            process::Read::WouldBlock | process::Read::End => {}
        }
        read
    }

    /// Logs a last line that had no newline.
    pub fn flush(&mut self) {
        let (log, label, window) = (self.log, self.label, &mut self.window);
        self.lines.finish(|piece| {
            if let Piece::Line(_) = piece {
                log_line(log, label, window, piece);
            }
        });
    }
}

/// Logs one line (or the kept start of a cut one) of worker `label`.
fn log_line(log: &RateLimiter, label: &str, window: &mut Window, piece: Piece<'_>) {
    output::log_output_line(log, window, format_args!("worker {label}"), piece);
}
