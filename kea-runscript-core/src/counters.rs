//! Event and process counters (lock-free atomics) and their snapshot.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one engine, updated from any thread.
#[derive(Debug, Default)]
pub(crate) struct LiveCounters {
    pub events: AtomicU64,
    pub started: AtomicU64,
    pub failed_to_start: AtomicU64,
    pub timed_out: AtomicU64,
    pub dropped: AtomicU64,
    pub merged: AtomicU64,
    pub blocked: AtomicU64,
    pub non_zero_exits: AtomicU64,
    pub killed_by_signal: AtomicU64,
    pub exited: AtomicU64,
    pub in_flight: AtomicU64,
    pub queued: AtomicU64,
    pub acked: AtomicU64,
    pub worker_restarts: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub answers_with_data: AtomicU64,
    pub answer_errors: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Subtracts one from a gauge.
pub(crate) fn drop_one(gauge: &AtomicU64) {
    gauge.fetch_sub(1, Ordering::Relaxed);
}

impl LiveCounters {
    pub(crate) fn snapshot(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            events: get(&self.events),
            started: get(&self.started),
            failed_to_start: get(&self.failed_to_start),
            timed_out: get(&self.timed_out),
            dropped: get(&self.dropped),
            merged: get(&self.merged),
            blocked: get(&self.blocked),
            non_zero_exits: get(&self.non_zero_exits),
            killed_by_signal: get(&self.killed_by_signal),
            exited: get(&self.exited),
            in_flight: get(&self.in_flight),
            queued: get(&self.queued),
            acked: get(&self.acked),
            worker_restarts: get(&self.worker_restarts),
            protocol_errors: get(&self.protocol_errors),
            answers_with_data: get(&self.answers_with_data),
            answer_errors: get(&self.answer_errors),
        }
    }
}

/// A snapshot of an engine's counters. Totals since load, except the two gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Events handled that selected at least one script.
    pub events: u64,
    /// Script processes started.
    pub started: u64,
    /// Script processes that could not be started.
    pub failed_to_start: u64,
    /// Script runs that hit their timeout and were terminated.
    pub timed_out: u64,
    /// Async deliveries dropped (bounds full under `overflow: "drop"`, no room within
    /// `block-ms` under `block`/`merge`, or arriving or queued at shutdown).
    pub dropped: u64,
    /// Waiting async events replaced by a newer event for the same lease (`overflow:
    /// "merge"`): not delivered, but their lease's newer state is.
    pub merged: u64,
    /// Async events for which a Kea thread waited for room (`block`, or `merge` past its
    /// budget), whether room came (delivered) or not (then also counted as dropped).
    pub blocked: u64,
    /// Script processes that exited with a non-zero code.
    pub non_zero_exits: u64,
    /// Script processes that died by a signal (including our timeout kills).
    pub killed_by_signal: u64,
    /// Script processes reaped (ended and waited for), whatever their status.
    pub exited: u64,
    /// Gauge: script processes running now.
    pub in_flight: u64,
    /// Gauge: async deliveries waiting in queues now (for workers: events not yet
    /// answered).
    pub queued: u64,
    /// Events a worker answered (ack or verdict).
    pub acked: u64,
    /// Worker processes restarted after they ended.
    pub worker_restarts: u64,
    /// Worker processes terminated for breaking the protocol.
    pub protocol_errors: u64,
    /// Sync answers that carried data (classes, a host name, …) accepted at their hook
    /// point.
    pub answers_with_data: u64,
    /// Answer fields left out: malformed, unknown, or meaningless at the hook point (the
    /// verdict still applied).
    pub answer_errors: u64,
}

impl Counters {
    /// Every counter with its name, in a fixed order: the names of the log line at
    /// unload and of the Kea statistics (`kea-runscript.<name>`).
    pub fn fields(&self) -> [(&'static str, u64); 17] {
        [
            ("events", self.events),
            ("started", self.started),
            ("failed-to-start", self.failed_to_start),
            ("timed-out", self.timed_out),
            ("dropped", self.dropped),
            ("merged", self.merged),
            ("blocked", self.blocked),
            ("non-zero-exits", self.non_zero_exits),
            ("killed-by-signal", self.killed_by_signal),
            ("exited", self.exited),
            ("in-flight", self.in_flight),
            ("queued", self.queued),
            ("acked", self.acked),
            ("worker-restarts", self.worker_restarts),
            ("protocol-errors", self.protocol_errors),
            ("answers-with-data", self.answers_with_data),
            ("answer-errors", self.answer_errors),
        ]
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.fields().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}
