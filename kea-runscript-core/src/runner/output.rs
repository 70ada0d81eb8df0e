//! `log-output` for spawned scripts: each line a script writes to stdout or stderr
//! becomes one log line, naming the script and the hook point.
//!
//! A script with `log-output` gets a pipe on fd 1 and one on fd 2; the read ends go to
//! one collector thread per engine, which polls them all. Kea's threads never touch
//! the pipes: a script that writes faster than the collector reads blocks itself on a
//! full pipe, not Kea. Memory is bounded: per stream one line of at most
//! [`MAX_OUTPUT_LINE`] bytes is kept (the rest of a longer line is cut and skipped up to
//! its newline, however long), and at most [`OUTPUT_LINES_PER_SECOND`] lines per script
//! are logged a second (the others are counted and mentioned with the next one logged).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kea_runscript_env::HookPoint;

use crate::fdio::{self, LineSplitter, Piece, Read, Wake};
use crate::log::{self, Admit, RateLimiter, Severity, Window};

/// Longest output line logged (spawn stdout/stderr, worker stderr); the rest of a longer
/// line is cut.
pub const MAX_OUTPUT_LINE: usize = 2048;
/// Output lines logged per script (or worker) and second; more are counted and reported.
pub const OUTPUT_LINES_PER_SECOND: u32 = 100;

/// Bytes read per `read` from a script's pipe.
const READ_CHUNK: usize = 16 * 1024;
/// Reads per stream and poll round, so that one chatty script cannot starve the others.
const READS_PER_ROUND: usize = 4;

/// Which of the script's fds a stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    /// fd 1.
    Stdout,
    /// fd 2.
    Stderr,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
        }
    }
}

/// One pipe's read end and where its lines go.
struct Stream {
    fd: OwnedFd,
    label: Arc<str>,
    hook_point: HookPoint,
    channel: Channel,
    lines: LineSplitter,
}

struct Shared {
    incoming: Mutex<Vec<Stream>>,
    wake: Wake,
    stopping: AtomicBool,
    /// The engine's log (its runners' context).
    log: Arc<dyn AsRef<RateLimiter> + Send + Sync>,
}

/// The collector thread of one engine.
pub(crate) struct OutputCollector {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl OutputCollector {
    /// Starts the collector thread, logging through `log` (the runners' context).
    pub fn start(
        log: Arc<dyn AsRef<RateLimiter> + Send + Sync>,
    ) -> io::Result<Arc<OutputCollector>> {
        let shared = Arc::new(Shared {
            incoming: Mutex::new(Vec::new()),
            wake: Wake::new()?,
            stopping: AtomicBool::new(false),
            log,
        });
        let in_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kea-runscript-out".into())
            .spawn(move || run(&in_thread))?;
        Ok(Arc::new(OutputCollector {
            shared,
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Hands the read end of a started script's pipe to the collector.
    pub fn add(&self, fd: OwnedFd, label: Arc<str>, hook_point: HookPoint, channel: Channel) {
        if self.shared.stopping.load(Ordering::Acquire) {
            return;
        }
        self.shared
            .incoming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Stream {
                fd,
                label,
                hook_point,
                channel,
                lines: LineSplitter::new(MAX_OUTPUT_LINE),
            });
        self.shared.wake.trigger();
    }

    /// At unload, once the scripts have ended: reads what is left in the pipes, closes
    /// them (also those a script's background child still holds) and joins the thread.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.trigger();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared) {
    fdio::block_async_signals();
    let mut streams: Vec<Stream> = Vec::new();
    let mut windows: HashMap<Arc<str>, Window> = HashMap::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut wake_buf = [0u8; 8];
    loop {
        streams.append(&mut shared.incoming.lock().unwrap_or_else(|e| e.into_inner()));
        let stopping = shared.stopping.load(Ordering::Acquire);
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(streams.len() + 1);
        fds.push(fdio::pollfd(shared.wake.raw(), libc::POLLIN));
        fds.extend(
            streams
                .iter()
                .map(|s| fdio::pollfd(s.fd.as_raw_fd(), libc::POLLIN)),
        );
        // At unload: one last look at what is already there, without waiting.
        let timeout = stopping.then_some(Duration::ZERO);
        if fdio::poll(&mut fds, timeout).is_err() {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        if fds[0].revents != 0 {
            // Reset the eventfd (it is non-blocking).
            let _ = fdio::read(shared.wake.raw(), &mut wake_buf);
        }
        let mut ended = vec![false; streams.len()];
        for (i, stream) in streams.iter_mut().enumerate() {
            if fds[i + 1].revents == 0 {
                continue;
            }
            for _ in 0..READS_PER_ROUND {
                match fdio::read(stream.fd.as_raw_fd(), &mut buf) {
                    Read::Data(n) => {
                        let window = windows
                            .entry(Arc::clone(&stream.label))
                            .or_insert_with(|| Window::new(Instant::now()));
                        let (label, hook_point, channel) =
                            (&stream.label, stream.hook_point, stream.channel);
                        stream.lines.feed(&buf[..n], |piece| {
                            log_piece(shared, window, label, hook_point, channel, piece);
                        });
                    }
                    Read::WouldBlock => break,
                    Read::End => {
                        ended[i] = true;
                        break;
                    }
                }
            }
        }
        if stopping {
            ended.iter_mut().for_each(|e| *e = true);
        }
        let mut index = 0;
        streams.retain_mut(|stream| {
            let end = ended.get(index).copied().unwrap_or(false);
            index += 1;
            if end {
                let window = windows
                    .entry(Arc::clone(&stream.label))
                    .or_insert_with(|| Window::new(Instant::now()));
                let (label, hook_point, channel) =
                    (&stream.label, stream.hook_point, stream.channel);
                stream.lines.finish(|piece| {
                    log_piece(shared, window, label, hook_point, channel, piece);
                });
            }
            !end
        });
        if stopping {
            return;
        }
    }
}

fn log_piece(
    shared: &Shared,
    window: &mut Window,
    label: &str,
    hook_point: HookPoint,
    channel: Channel,
    piece: Piece<'_>,
) {
    log_output_line(
        (*shared.log).as_ref(),
        window,
        format_args!(
            "script {label} at {} ({})",
            hook_point.name(),
            channel.name()
        ),
        piece,
    );
}

/// Logs one line of a script's output (spawn or worker) as `<source>: <line>`, within the
/// source's rate [`Window`]; a cut line and the lines suppressed before it are said.
pub(crate) fn log_output_line(
    log: &RateLimiter,
    window: &mut Window,
    source: fmt::Arguments<'_>,
    piece: Piece<'_>,
) {
    let (line, cut) = match piece {
        Piece::Line(l) => (l, false),
        Piece::Cut(l) => (l, true),
    };
    let admit = window.admit(
        Instant::now(),
        OUTPUT_LINES_PER_SECOND,
        Duration::from_secs(1),
    );
    let Admit::Yes { suppressed } = admit else {
        return;
    };
    let mut text = format!("{source}: {}", String::from_utf8_lossy(line));
    if cut {
        text.push_str(&format!(" [line cut at {MAX_OUTPUT_LINE} bytes]"));
    }
    if suppressed > 0 {
        text.push_str(&format!(" ({suppressed} lines not logged before this one)"));
    }
    log.always(Severity::Info, log::SCRIPT_OUTPUT, &text);
}
