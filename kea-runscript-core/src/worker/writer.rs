//! The writer thread: the only one that writes to a worker's stdin. It sends what the
//! [`Queue`](super::queue::Queue) has to send, in `seq` order and in batches, with
//! non-blocking writes, and settles sync deadlines (`on-timeout`), so a worker that stops
//! reading can never block it for long; at unload it closes stdin.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::process;
use super::protocol;
use super::shared::{Inner, WriterState, UNLOAD_GRACE};
use crate::runner::EventEnv;

/// Events encoded per batch by the writer.
const BATCH: usize = 256;
/// How long the writer waits for more async events before it writes fewer than
/// [`BATCH`]: under load, one write (and one wake-up of the worker and of the answer
/// reader) then carries several events instead of one each, which is what keeps a busy
/// Kea's cost per event low. An async event's delivery is late by this much at most;
/// a sync event is never held back (it ends the wait at once).
const LINGER: Duration = Duration::from_millis(2);

/// The writer thread: sends buffered events, settles sync deadlines, closes stdin at
/// unload (after sending what is buffered, within [`UNLOAD_GRACE`]).
pub(crate) fn writer_loop(inner: &Inner) {
    process::block_async_signals();
    let _policy = process::DeliveryPolicy::enter();
    let reply = inner.reply();
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut written = 0;
    let mut out_fd: Option<(u64, Arc<OwnedFd>)> = None;
    let mut stop_by: Option<Instant> = None;
    let mut batch: Vec<(u64, Arc<EventEnv>, bool)> = Vec::with_capacity(BATCH);
    // Lingered already for the events now buffered: write them next.
    let mut lingered = false;
    loop {
        let expired;
        {
            let mut st = inner.lock();
            let now = Instant::now();
            expired = st.queue.expired(now);
            if st.queue.is_closed() && stop_by.is_none() {
                // Half the grace to send what is buffered, half for the worker to
                // finish after its stdin is closed.
                stop_by = Some(now + UNLOAD_GRACE / 2);
            }
            let nothing_left = written >= out.len() && !st.queue.has_unsent();
            if stop_by.is_some_and(|by| nothing_left || st.pipe.is_none() || now >= by) {
                st.pipe = None;
                st.writer_done = true;
                drop(st);
                inner.expire(expired);
                // Closes stdin (the supervisor holds no copy): the worker sees EOF.
                drop(out_fd);
                inner.stop_wake.trigger();
                return;
            }
            if written >= out.len() {
                out.clear();
                written = 0;
                out_fd = None;
                if let Some((generation, fd)) = st.pipe.clone() {
                    if !lingered
                        && !st.queue.is_closed()
                        && expired.is_empty()
                        && st.queue.worth_lingering(BATCH)
                    {
                        lingered = true;
                        drop(inner.wait_as(st, WriterState::Lingering, Some(LINGER)));
                        continue;
                    }
                    lingered = false;
                    let sent = st.queue.send_next(BATCH, |seq, pending, replay| {
                        batch.push((seq, Arc::clone(&pending.event), replay));
                    });
                    if sent > 0 {
                        out_fd = Some((generation, fd));
                    }
                }
                if batch.is_empty() {
                    if expired.is_empty() {
                        let wait = [st.queue.next_deadline(), stop_by]
                            .into_iter()
                            .flatten()
                            .min()
                            .map(|d| d.saturating_duration_since(now));
                        drop(inner.wait_as(st, WriterState::Idle, wait));
                    } else {
                        drop(st);
                        inner.expire(expired);
                    }
                    continue;
                }
            }
        }
        inner.expire(expired);
        for (seq, event, replay) in batch.drain(..) {
            protocol::encode_event(
                &mut out,
                &protocol::Header {
                    instance: &inner.instance,
                    seq,
                    hook_point: event.hook_point().name(),
                    replay,
                    reply,
                },
                event.pairs(),
            );
        }
        let Some((generation, fd)) = &out_fd else {
            written = out.len();
            continue;
        };
        // Wait until the pipe takes more, a deadline passes, or unload.
        let deadline = {
            let st = inner.lock();
            [st.queue.next_deadline(), stop_by]
                .into_iter()
                .flatten()
                .min()
        };
        let mut fds = [process::pollfd(fd.as_raw_fd(), libc::POLLOUT)];
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // Unload while the pipe is full: re-check at least every 100 ms.
        let timeout = Some(timeout.map_or(Duration::from_millis(100), |t| {
            t.min(Duration::from_millis(100))
        }));
        if process::poll(&mut fds, timeout).unwrap_or(0) == 0 {
            continue;
        }
        match process::write(fd.as_raw_fd(), &out[written..]) {
            Ok(n) => written += n,
            Err(_) => {
                // The process is gone: its supervisor restarts it and rewinds the
                // queue; what was not answered is sent again then.
                written = out.len();
                let mut st = inner.lock();
                if st.pipe.as_ref().is_some_and(|(g, _)| g == generation) {
                    st.pipe = None;
                }
            }
        }
    }
}
