//! The supervisor thread: starts the worker process (`script worker`), hands its stdin
//! to the writer, reads its stdout (answers, applied to the
//! [`Queue`](super::queue::Queue)) and its stderr ([`Output`], when `log-output` is on),
//! notices its end, a protocol error or unload, terminates it if needed and restarts it
//! with backoff; at unload it gives up what is left unanswered.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::process;
use super::protocol;
use super::shared::{Inner, UNLOAD_GRACE};
use super::stderr::Output;
use crate::counters::bump;
use crate::fdio::{LineSplitter, Piece};
use crate::log::{self, Severity};
use crate::verdict::Verdict;
use kea_runscript_spawn::KILL_GRACE;

/// First delay before restarting a worker that ended.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The delay doubles per quick failure up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A worker that ran at least this long restarts after [`INITIAL_BACKOFF`] again.
pub const STABLE_RUN: Duration = Duration::from_secs(10);
/// Bytes read per `read` from the worker's stdout or stderr.
const READ_CHUNK: usize = 64 * 1024;

/// Why a worker process's run ended.
enum End {
    /// It exited (or was killed) on its own.
    Exited,
    /// It closed its stdout.
    ClosedStdout,
    /// It wrote something that is not an answer.
    Protocol(String),
    /// Unload, and the grace period passed.
    Unload,
    /// Polling its fds failed.
    Failed(std::io::Error),
}

/// The supervisor thread: (re)starts the worker with backoff and reads its output.
pub(crate) fn supervisor_loop(inner: &Inner, started: mpsc::SyncSender<()>) {
    process::block_async_signals();
    let policy = process::DeliveryPolicy::enter();
    let mut backoff = INITIAL_BACKOFF;
    let mut output = Output::new(&inner.context.log, &inner.options.label);
    let mut started = Some(started);
    loop {
        if inner.lock().queue.is_closed() {
            break;
        }
        let started_at = Instant::now();
        let launched = policy.normal_while(|| process::start(&inner.options));
        if let Some(started) = started.take() {
            let _ = started.send(());
        }
        match launched {
            Err(err) => {
                bump(&inner.context.counters.failed_to_start);
                inner
                    .context
                    .log
                    .limited(Severity::Error, log::SPAWN_FAILED, || {
                        format!("cannot start worker {}: {err}", inner.options.label)
                    });
            }
            Ok(running) => run_once(inner, running, &mut output),
        }
        if inner.lock().queue.is_closed() {
            break;
        }
        if started_at.elapsed() >= STABLE_RUN {
            backoff = INITIAL_BACKOFF;
        }
        let mut fds = [process::pollfd(inner.stop_wake.raw(), libc::POLLIN)];
        let _ = process::poll(&mut fds, Some(backoff));
        backoff = (backoff * 2).min(MAX_BACKOFF);
        bump(&inner.context.counters.worker_restarts);
    }
    // Unload: what is left unanswered is given up, and counted.
    let left = inner.lock().queue.drain();
    let unanswered = left.len();
    for (_, pending) in left {
        bump(&inner.context.counters.dropped);
        inner.finish(pending, Verdict::Continue.into());
    }
    inner.context.log.always(
        if unanswered > 0 {
            Severity::Warn
        } else {
            Severity::Info
        },
        log::WORKER_STOPPED,
        &format!(
            "worker {} stopped at unload; {unanswered} events were never answered (dropped)",
            inner.options.label
        ),
    );
}

/// One run of the worker process: hand its stdin to the writer, read its answers and
/// output until it ends, make sure it has ended, log how.
fn run_once(inner: &Inner, running: process::Running, output: &mut Output<'_>) {
    let process::Running {
        mut child,
        stdin,
        stdout,
        stderr,
        stop,
    } = running;
    bump(&inner.context.counters.started);
    let generation = {
        let mut st = inner.lock();
        st.generation += 1;
        // Everything unanswered goes again, in seq order.
        st.queue.rewind();
        if st.writer_done {
            // Unload already closed stdin: the new process gets EOF at once.
            drop(stdin);
        } else {
            st.pipe = Some((st.generation, Arc::new(stdin)));
        }
        st.generation
    };
    inner.writer_wake.notify_all();
    inner
        .context
        .log
        .limited(Severity::Info, log::WORKER_STARTED, || {
            format!(
                "worker {} started (instance {}, run {generation})",
                inner.options.label, inner.instance
            )
        });

    let end = read_until_end(inner, &child, &stdout, stderr.as_ref(), output);
    {
        let mut st = inner.lock();
        if st.pipe.as_ref().is_some_and(|(g, _)| *g == generation) {
            st.pipe = None;
        }
    }
    if !matches!(end, End::Exited) {
        stop.trigger();
    }
    let result = child.wait();
    drop(child);
    // What it printed last, now that it is gone (non-blocking: a grandchild may
    // still hold the pipes).
    drain(inner, &stdout, stderr.as_ref(), output);
    output.flush();

    bump(&inner.context.counters.exited);
    let unanswered = inner.lock().queue.len();
    let status = match &result {
        Ok(report) => report.status.to_string(),
        Err(err) => format!("status unknown ({err})"),
    };
    let (severity, id, why) = match &end {
        End::Exited => (Severity::Warn, log::WORKER_EXITED, "exited".to_owned()),
        End::ClosedStdout => (
            Severity::Warn,
            log::WORKER_EXITED,
            "closed its stdout and was terminated".to_owned(),
        ),
        End::Protocol(err) => {
            bump(&inner.context.counters.protocol_errors);
            (
                Severity::Error,
                log::WORKER_PROTOCOL_ERROR,
                format!("broke the protocol ({err}) and was terminated"),
            )
        }
        End::Unload => (
            Severity::Warn,
            log::WORKER_EXITED,
            "did not exit within the unload grace and was terminated".to_owned(),
        ),
        End::Failed(err) => (
            Severity::Error,
            log::WORKER_EXITED,
            format!("could not be watched ({err}) and was terminated"),
        ),
    };
    let stopping = inner.lock().queue.is_closed();
    let text = format!(
        "worker {} {why}: {status}; {unanswered} events unanswered{}",
        inner.options.label,
        if stopping { "" } else { ", restarting" }
    );
    if stopping && matches!(end, End::Exited) {
        inner.context.log.always(Severity::Info, id, &text);
    } else if stopping {
        inner.context.log.always(severity, id, &text);
    } else {
        inner.context.log.limited(severity, id, || text);
    }
}

/// Reads answers (stdout) and output (stderr) until the process ends, closes its
/// stdout, breaks the protocol, or outlives the unload grace.
fn read_until_end(
    inner: &Inner,
    child: &kea_runscript_spawn::Child,
    stdout: &OwnedFd,
    stderr: Option<&OwnedFd>,
    output: &mut Output<'_>,
) -> End {
    let mut answers = LineSplitter::new(protocol::MAX_ANSWER_LINE);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stderr_fd = stderr.map_or(-1, |fd| fd.as_raw_fd());
    let mut stop_fd = inner.stop_wake.raw();
    let mut stdout_fd = stdout.as_raw_fd();
    let mut grace_until: Option<Instant> = None;
    // Set when stdout reached its end: the process should be ending too.
    let mut closed_until: Option<Instant> = None;
    loop {
        let mut fds = [
            process::pollfd(stdout_fd, libc::POLLIN),
            process::pollfd(stderr_fd, libc::POLLIN),
            process::pollfd(child.as_fd().as_raw_fd(), libc::POLLIN),
            process::pollfd(stop_fd, libc::POLLIN),
        ];
        let until = [grace_until, closed_until].into_iter().flatten().min();
        let timeout = until.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(err) = process::poll(&mut fds, timeout) {
            return End::Failed(err);
        }
        if fds[3].revents != 0 {
            // Unload: the writer closes stdin; give the worker the grace to finish.
            stop_fd = -1;
            grace_until = Some(Instant::now() + UNLOAD_GRACE);
        }
        if fds[1].revents != 0 && matches!(output.read(stderr_fd, &mut buf), process::Read::End) {
            stderr_fd = -1;
        }
        if fds[0].revents != 0 {
            match read_answers(inner, stdout, &mut answers, &mut buf) {
                Ok(true) => {}
                Ok(false) => {
                    // Usually the process is exiting; if it is not gone shortly, it
                    // closed its stdout and cannot answer any more.
                    stdout_fd = -1;
                    closed_until = Some(Instant::now() + KILL_GRACE);
                }
                Err(err) => return End::Protocol(err),
            }
        }
        if fds[2].revents != 0 {
            // Ended: take in its last answers before reporting.
            return match read_answers(inner, stdout, &mut answers, &mut buf) {
                Err(err) => End::Protocol(err),
                Ok(_) => End::Exited,
            };
        }
        let now = Instant::now();
        if grace_until.is_some_and(|t| now >= t) {
            return End::Unload;
        }
        if closed_until.is_some_and(|t| now >= t) {
            return End::ClosedStdout;
        }
    }
}

/// Reads what stdout has now and applies each answer. `Ok(false)` at end of stream.
fn read_answers(
    inner: &Inner,
    stdout: &OwnedFd,
    answers: &mut LineSplitter,
    buf: &mut [u8],
) -> Result<bool, String> {
    loop {
        match process::read(stdout.as_raw_fd(), buf) {
            process::Read::WouldBlock => return Ok(true),
            process::Read::End => return Ok(false),
            process::Read::Data(n) => {
                let mut error = None;
                let mut decoded = Vec::new();
                answers.feed(&buf[..n], |piece| {
                    if error.is_some() {
                        return;
                    }
                    match piece {
                        Piece::Line(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                        Piece::Line(line) => match protocol::decode_answer(line) {
                            Ok(answer) => decoded.push(answer),
                            Err(e) => error = Some(e.to_string()),
                        },
                        Piece::Cut(_) => {
                            error = Some(format!(
                                "a line on stdout longer than {} bytes",
                                protocol::MAX_ANSWER_LINE
                            ))
                        }
                    }
                });
                // The answers before a bad line count; then the bad line ends the process.
                inner.answer_all(decoded)?;
                if let Some(err) = error {
                    return Err(err);
                }
            }
        }
    }
}

/// After the process ended: whatever its pipes still hold.
fn drain(inner: &Inner, stdout: &OwnedFd, stderr: Option<&OwnedFd>, output: &mut Output<'_>) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut answers = LineSplitter::new(protocol::MAX_ANSWER_LINE);
    // Answers after the end are still answers (the event need not be replayed); a
    // bad line here changes nothing, the process is gone anyway.
    let _ = read_answers(inner, stdout, &mut answers, &mut buf);
    if let Some(fd) = stderr {
        // Bounded: read until the pipe is empty now (a live grandchild could keep
        // writing; stop after a few chunks).
        for _ in 0..16 {
            if !matches!(
                output.read(fd.as_raw_fd(), &mut buf),
                process::Read::Data(_)
            ) {
                break;
            }
        }
    }
}
