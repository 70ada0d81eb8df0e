//! The worker's delivery state machine: the bounded buffer of events waiting for an
//! answer, their sequence numbers, what is sent to the current process, sync deadlines,
//! and what goes again after the process ends.
//!
//! Pure: no threads, no fds, no clock reads (the callers pass `now` and deadlines), no
//! I/O, so that every delivery rule is tested here without a worker process. The writer
//! and the supervisor drive it under the worker's lock.
//!
//! Life of an event: [`Queue::push`] gives it the next `seq` (or refuses it: full, or
//! closed at unload); [`Queue::send_next`] hands it to the writer, in `seq` order; it
//! leaves the queue exactly once, by [`Queue::ack`] (answered), [`Queue::expired`] (its
//! deadline passed) or [`Queue::drain`] (unload). When a new process starts,
//! [`Queue::rewind`] makes every event still here go again, in `seq` order, marked as a
//! replay if it had been sent before: delivery is at least once.
//!
//! Merging (`overflow: "merge"`, [`Queue::with_merge`]) happens only under pressure:
//! below `max_queued` waiting events and the byte budget every event is kept (as Kea's
//! own hook delivers every one). From there on, an async event about exactly one lease
//! ([`crate::lease_key`]) whose lease's latest waiting event is async, about that lease
//! alone and was never sent (to any process) takes that event's place — same `seq`, same
//! position — and the older one comes back as [`Pushed::Merged`]. So what is delivered
//! is, per lease, the newest state, last, and events of different leases keep their
//! order. An event about several leases (a client moved to another address: its new and
//! its deleted lease) or a sync event (with a deadline) is never merged, nor merged
//! into, and no later event of any of its leases merges into one before it (that would
//! deliver the later state first). Under merge the count is not a bound: the estimated bytes of the
//! waiting events are (a merge is always taken: it replaces an event, it adds none);
//! past the budget an async event is [`Refused::Full`]. Without merge, past the count.
//!
//! A sync event (with a deadline) is never refused for room: someone waits for its
//! verdict (a Kea thread, or a packet parked in Kea's parking lot, both bounded by Kea),
//! and it leaves by its deadline at the latest, so it is admitted past the bounds; it
//! still counts towards them, so async events make room for it.
//!
//! The spawn runner uses the same queue for the events that wait for a process slot,
//! taking them out with [`Queue::pop_ready`] (an event leaves it when started).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use crate::lease_key::LeaseKey;

/// One event in the queue.
struct Entry<T> {
    item: T,
    /// When it times out (sync events only).
    deadline: Option<Instant>,
    /// Handed to the writer before (a resend is a replay).
    sent: bool,
    /// The leases it is about.
    keys: Vec<LeaseKey>,
    /// Its estimated bytes (for the merge budget).
    bytes: usize,
}

/// What waits for one lease.
#[derive(Default)]
struct Waiting {
    /// How many waiting events are about it.
    events: usize,
    /// Its latest waiting event, when a newer one may replace it (merging, async, about
    /// this lease alone, never sent).
    merge_into: Option<u64>,
}

/// What [`Queue::push_keyed`] did with an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed<T> {
    /// Queued under this new `seq`.
    New(u64),
    /// It replaced the waiting event of the same lease, under that event's `seq`; the
    /// replaced event comes back (counted as merged by the caller).
    Merged {
        /// The `seq` it now has (the replaced event's).
        seq: u64,
        /// The event it replaced.
        replaced: T,
    },
}

/// Why [`Queue::push`] refused an event; the event comes back with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused<T> {
    /// The queue is closed (unload).
    Closed(T),
    /// `max_queued` events (or the byte budget) wait for an answer already; only ever
    /// for an async event.
    Full(T),
}

/// What [`Queue::ack`] made of an answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ack<T> {
    /// The event waited for this answer: it has left the queue.
    Settled(T),
    /// The event left the queue before (answered already, timed out, dropped at
    /// unload): nothing waits for this answer.
    Stale,
    /// The event waits but was never sent: the worker cannot know its `seq`.
    Unsent,
    /// No event ever had this `seq`.
    Unknown,
}

/// The events of one worker that wait for an answer, by `seq`.
pub(crate) struct Queue<T> {
    /// At most this many events wait at once (`max-queued`).
    max_queued: usize,
    /// The `seq` of the next event accepted; `seq`s start at 1 and are never reused.
    next_seq: u64,
    /// Unanswered events by `seq`.
    pending: BTreeMap<u64, Entry<T>>,
    /// Deadlines `(when, seq)` of the events in `pending` that have one.
    deadlines: BTreeSet<(Instant, u64)>,
    /// The next `seq` to send to the current process.
    cursor: u64,
    /// No more events are accepted (unload).
    closed: bool,
    /// Whether events with a lease key are merged (`overflow: "merge"`).
    merge: bool,
    /// The leases of the waiting events.
    leases: HashMap<LeaseKey, Waiting>,
    /// How many of them have an event that may be replaced (`merge_into`).
    merge_targets: usize,
    /// Estimated bytes of the events in `pending`.
    bytes: usize,
    /// At most this many estimated bytes wait at once (`usize::MAX`: no budget).
    budget: usize,
}

impl<T> Queue<T> {
    /// An empty, open queue holding at most `max_queued` events.
    pub fn new(max_queued: usize) -> Queue<T> {
        Queue {
            max_queued,
            next_seq: 1,
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            cursor: 1,
            closed: false,
            merge: false,
            leases: HashMap::new(),
            merge_targets: 0,
            bytes: 0,
            budget: usize::MAX,
        }
    }

    /// This queue merging events of the same lease once `max_queued` events wait, with
    /// `budget` estimated bytes at most waiting (one event is accepted into an empty queue
    /// whatever its size); the count is then no bound.
    pub fn with_merge(mut self, budget: usize) -> Queue<T> {
        self.merge = true;
        self.budget = budget;
        self
    }

    /// Accepts `item` under the next `seq`, which it returns. `deadline`: when a sync
    /// event times out (see [`Queue::expired`]); an event with one is also one whose
    /// verdict someone waits for (see [`Queue::worth_lingering`]).
    #[cfg(test)]
    pub fn push(&mut self, item: T, deadline: Option<Instant>) -> Result<u64, Refused<T>> {
        match self.push_keyed(item, deadline, Vec::new(), 0)? {
            Pushed::New(seq) | Pushed::Merged { seq, .. } => Ok(seq),
        }
    }

    /// As [`Queue::push`], for an event about the leases `keys` of about `bytes`: merged
    /// into the latest waiting event of its lease when the queue merges under pressure and
    /// both are mergeable (see the module documentation).
    pub fn push_keyed(
        &mut self,
        item: T,
        deadline: Option<Instant>,
        keys: Vec<LeaseKey>,
        bytes: usize,
    ) -> Result<Pushed<T>, Refused<T>> {
        if self.closed {
            return Err(Refused::Closed(item));
        }
        let mergeable = self.merge && deadline.is_none() && keys.len() == 1;
        let counted_full = self.pending.len() >= self.max_queued;
        let over_budget =
            !self.pending.is_empty() && self.bytes.saturating_add(bytes) > self.budget;
        // Merged only under pressure (the count or the budget full): below it every event
        // is kept.
        let pressed = counted_full || over_budget;
        if let Some(seq) = keys
            .first()
            .filter(|_| pressed && mergeable)
            .and_then(|k| self.leases.get(k)?.merge_into)
        {
            let entry = self.pending.get_mut(&seq).expect("indexed events wait");
            debug_assert!(!entry.sent && entry.deadline.is_none());
            self.bytes = self.bytes - entry.bytes + bytes;
            entry.bytes = bytes;
            let replaced = std::mem::replace(&mut entry.item, item);
            return Ok(Pushed::Merged { seq, replaced });
        }
        // Under merge only the budget bounds; a sync event is admitted past the bounds
        // (see the module's notes).
        if ((counted_full && !self.merge) || over_budget) && deadline.is_none() {
            return Err(Refused::Full(item));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(d) = deadline {
            self.deadlines.insert((d, seq));
        }
        for k in &keys {
            let waiting = self.leases.entry(k.clone()).or_default();
            waiting.events += 1;
            // The latest event of the lease: only it may be replaced from now on.
            let before = std::mem::replace(&mut waiting.merge_into, mergeable.then_some(seq));
            self.merge_targets =
                self.merge_targets + usize::from(mergeable) - usize::from(before.is_some());
        }
        self.bytes += bytes;
        self.pending.insert(
            seq,
            Entry {
                item,
                deadline,
                sent: false,
                keys,
                bytes,
            },
        );
        Ok(Pushed::New(seq))
    }

    /// `seq`, about `keys` (sent, or leaving), may no longer be replaced.
    fn no_merge_into(
        leases: &mut HashMap<LeaseKey, Waiting>,
        merge_targets: &mut usize,
        seq: u64,
        keys: &[LeaseKey],
    ) {
        for k in keys {
            if let Some(waiting) = leases.get_mut(k) {
                if waiting.merge_into == Some(seq) {
                    waiting.merge_into = None;
                    *merge_targets -= 1;
                }
            }
        }
    }

    /// Removes `seq` from the queue (present), with its deadline, leases and bytes.
    fn take(&mut self, seq: u64) -> Entry<T> {
        let entry = self.pending.remove(&seq).expect("present");
        Self::no_merge_into(&mut self.leases, &mut self.merge_targets, seq, &entry.keys);
        for k in &entry.keys {
            if let Some(waiting) = self.leases.get_mut(k) {
                waiting.events -= 1;
                if waiting.events == 0 {
                    self.leases.remove(k);
                }
            }
        }
        self.bytes -= entry.bytes;
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, seq));
        }
        entry
    }

    /// For a queue whose events leave when started (the spawn runner): takes out the
    /// first event, in `seq` order, none of whose leases `busy` names or an earlier
    /// waiting event is about (an event of a lease with a run still going waits, and so do
    /// the later events of that lease: one lease's runs never overlap and start in order).
    /// Returns `(seq, item, keys)`.
    pub fn pop_ready(
        &mut self,
        busy: impl Fn(&LeaseKey) -> bool,
    ) -> Option<(u64, T, Vec<LeaseKey>)> {
        let mut held: HashSet<&LeaseKey> = HashSet::new();
        let seq = self.pending.iter().find_map(|(&seq, e)| {
            if e.keys.iter().all(|k| !busy(k) && !held.contains(k)) {
                Some(seq)
            } else {
                held.extend(&e.keys);
                None
            }
        })?;
        let entry = self.take(seq);
        Some((seq, entry.item, entry.keys))
    }

    /// Whether a waiting event is about one of `keys`.
    pub fn holds_any(&self, keys: &[LeaseKey]) -> bool {
        keys.iter().any(|k| self.leases.contains_key(k))
    }

    /// Whether a new async event about a lease could be merged (a waiting event may be
    /// replaced), so its leases must be known for it to keep its place: under pressure
    /// with events unsent, or with an event indexed to be replaced from an earlier
    /// pressure (a later event of its lease, even one that will not merge, must stop it
    /// being replaced).
    pub fn merge_possible(&self, bytes: usize) -> bool {
        self.merge && ((self.is_full(bytes) && self.has_unsent()) || self.merge_targets > 0)
    }

    /// Whether a new event of about `bytes` would find the queue under pressure
    /// (`max_queued` events wait, or it would pass the budget): it then meets the
    /// overflow policy (merged into its lease's waiting event, refused, or admitted
    /// within the merge budget).
    pub fn is_full(&self, bytes: usize) -> bool {
        self.pending.len() >= self.max_queued
            || (!self.pending.is_empty() && self.bytes.saturating_add(bytes) > self.budget)
    }

    /// How many events wait for an answer.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// The estimated bytes of the waiting events.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a replayed lease event may come in: it may fill at most half of the
    /// buffer (count and budget), so live events keep the other half.
    pub fn has_room_for_replay(&self) -> bool {
        self.pending.len().saturating_mul(2) < self.max_queued
            && self.bytes.saturating_mul(2) < self.budget
    }

    /// Whether some event waits to be sent to the current process.
    pub fn has_unsent(&self) -> bool {
        self.pending.range(self.cursor..).next().is_some()
    }

    /// The unsent events are fewer than `batch` and none is awaited (has a deadline),
    /// so the writer may wait a little for more before it writes them.
    pub fn worth_lingering(&self, batch: usize) -> bool {
        let mut unsent = 0;
        for entry in self
            .pending
            .range(self.cursor..)
            .take(batch)
            .map(|(_, e)| e)
        {
            if entry.deadline.is_some() {
                return false;
            }
            unsent += 1;
        }
        unsent > 0 && unsent < batch
    }

    /// Hands the next at most `max` unsent events to `each` in `seq` order, as `(seq,
    /// item, replay)` (`replay`: sent to some process before), and counts them as sent.
    /// Returns how many.
    pub fn send_next(&mut self, max: usize, mut each: impl FnMut(u64, &T, bool)) -> usize {
        let mut last = None;
        let mut count = 0;
        for (&seq, entry) in self.pending.range_mut(self.cursor..).take(max) {
            each(seq, &entry.item, entry.sent);
            // Sent: the worker may act on it, so it is no longer replaced.
            Self::no_merge_into(&mut self.leases, &mut self.merge_targets, seq, &entry.keys);
            entry.sent = true;
            last = Some(seq);
            count += 1;
        }
        if let Some(last) = last {
            self.cursor = last + 1;
        }
        count
    }

    /// A new process starts: every event still waiting goes again, in `seq` order.
    pub fn rewind(&mut self) {
        self.cursor = self.pending.keys().next().copied().unwrap_or(self.next_seq);
    }

    /// The worker answered `seq`. Only an event that was sent leaves the queue.
    pub fn ack(&mut self, seq: u64) -> Ack<T> {
        match self.pending.get(&seq) {
            Some(entry) if entry.sent => {}
            Some(_) => return Ack::Unsent,
            None if seq >= self.next_seq => return Ack::Unknown,
            None => return Ack::Stale,
        }
        Ack::Settled(self.take(seq).item)
    }

    /// Removes the events whose deadline is `now` or earlier, in deadline order.
    pub fn expired(&mut self, now: Instant) -> Vec<(u64, T)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, seq)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            if self.pending.contains_key(&seq) {
                expired.push((seq, self.take(seq).item));
            } else {
                self.deadlines.pop_first();
            }
        }
        expired
    }

    /// The earliest deadline of an event still waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(d, _)| d)
    }

    /// Refuses every later event (unload).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Whether [`Queue::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Removes every event still waiting, in `seq` order (unload: they are given up).
    pub fn drain(&mut self) -> Vec<(u64, T)> {
        self.deadlines.clear();
        self.leases.clear();
        self.merge_targets = 0;
        self.bytes = 0;
        std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(seq, entry)| (seq, entry.item))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::{Ack, LeaseKey, Pushed, Queue, Refused};

    /// `n` milliseconds after `t0`.
    fn at(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    /// Sends everything unsent; returns `(seq, item, replay)`.
    fn send_all(q: &mut Queue<u32>) -> Vec<(u64, u32, bool)> {
        let mut sent = Vec::new();
        q.send_next(usize::MAX, |seq, item, replay| {
            sent.push((seq, *item, replay))
        });
        sent
    }

    #[test]
    fn seqs_start_at_one_and_grow_by_one() {
        let mut q = Queue::new(10);
        assert_eq!(q.push(7, None), Ok(1));
        assert_eq!(q.push(8, None), Ok(2));
        assert_eq!(send_all(&mut q), [(1, 7, false), (2, 8, false)]);
        assert_eq!(q.ack(1), Ack::Settled(7));
        // A freed place does not free its seq.
        assert_eq!(q.push(9, None), Ok(3));
    }

    #[test]
    fn a_full_or_closed_queue_refuses_and_gives_the_event_back() {
        let mut q = Queue::new(2);
        q.push(1, None).unwrap();
        q.push(2, None).unwrap();
        assert_eq!(q.push(3, None), Err(Refused::Full(3)));
        assert_eq!(q.len(), 2);
        q.close();
        assert!(q.is_closed());
        assert_eq!(q.push(4, None), Err(Refused::Closed(4)));
        // A refused event takes no seq.
        assert_eq!(q.drain(), [(1, 1), (2, 2)]);
        assert_eq!(q.ack(3), Ack::Unknown);
    }

    #[test]
    fn a_queue_of_zero_refuses_every_async_event() {
        let mut q = Queue::new(0);
        assert_eq!(q.push(1, None), Err(Refused::Full(1)));
        assert!(!q.has_room_for_replay());
    }

    #[test]
    fn a_sync_event_is_admitted_past_a_full_queue_and_counts_towards_it() {
        let t0 = Instant::now();
        let mut q = Queue::new(1);
        assert_eq!(q.push(1, None), Ok(1));
        assert_eq!(q.push(2, None), Err(Refused::Full(2)));
        assert_eq!(q.push(3, Some(t0)), Ok(2));
        assert_eq!(q.len(), 2);
        assert_eq!(q.expired(t0), [(2, 3)]);
        // The async event still fills the queue; once it is answered, room again.
        assert_eq!(q.push(4, None), Err(Refused::Full(4)));
        q.send_next(1, |_, _, _| {});
        assert_eq!(q.ack(1), Ack::Settled(1));
        assert_eq!(q.push(5, Some(t0)), Ok(3));
        assert_eq!(q.push(6, None), Err(Refused::Full(6)));
        // Past the byte budget too.
        let mut q = Queue::new(10).with_merge(4);
        assert!(matches!(
            q.push_keyed(1, None, vec![], 4),
            Ok(Pushed::New(1))
        ));
        assert_eq!(q.push_keyed(2, None, vec![], 4), Err(Refused::Full(2)));
        assert!(matches!(
            q.push_keyed(3, Some(t0), vec![], 4),
            Ok(Pushed::New(2))
        ));
    }

    #[test]
    fn replays_may_fill_half_of_the_queue() {
        let mut q = Queue::new(4);
        assert!(q.has_room_for_replay());
        q.push(1, None).unwrap();
        assert!(q.has_room_for_replay());
        q.push(2, None).unwrap();
        assert!(!q.has_room_for_replay());
    }

    #[test]
    fn an_answer_is_taken_only_for_a_sent_event() {
        let mut q = Queue::new(10);
        q.push(1, None).unwrap();
        assert_eq!(q.ack(1), Ack::Unsent);
        assert_eq!(q.ack(2), Ack::Unknown);
        assert_eq!(
            q.ack(0),
            Ack::Stale,
            "seq 0 is never handed out, and before 1"
        );
        send_all(&mut q);
        assert_eq!(q.ack(1), Ack::Settled(1));
        assert_eq!(q.ack(1), Ack::Stale);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn sending_goes_in_batches_in_seq_order() {
        let mut q = Queue::new(10);
        for i in 0..5 {
            q.push(i, None).unwrap();
        }
        let mut seen = Vec::new();
        assert_eq!(q.send_next(2, |seq, _, _| seen.push(seq)), 2);
        assert!(q.has_unsent());
        assert_eq!(q.send_next(2, |seq, _, _| seen.push(seq)), 2);
        assert_eq!(q.send_next(2, |seq, _, _| seen.push(seq)), 1);
        assert_eq!(q.send_next(2, |seq, _, _| seen.push(seq)), 0);
        assert!(!q.has_unsent());
        assert_eq!(seen, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn after_a_restart_the_unanswered_go_again_as_replays_then_new_ones_as_new() {
        let mut q = Queue::new(10);
        for i in 10..14 {
            q.push(i, None).unwrap();
        }
        q.send_next(3, |_, _, _| {});
        assert_eq!(q.ack(2), Ack::Settled(11));
        q.rewind();
        // 1 and 3 were sent before, 4 was not.
        assert_eq!(
            send_all(&mut q),
            [(1, 10, true), (3, 12, true), (4, 13, false)]
        );
        // Nothing waits: a rewind starts after the last seq handed out.
        for seq in [1, 3, 4] {
            assert!(matches!(q.ack(seq), Ack::Settled(_)));
        }
        q.rewind();
        q.push(20, None).unwrap();
        assert_eq!(send_all(&mut q), [(5, 20, false)]);
    }

    #[test]
    fn deadlines_fire_in_order_and_an_answered_event_has_none() {
        let t0 = Instant::now();
        let mut q = Queue::new(10);
        q.push(1, Some(at(t0, 30))).unwrap();
        q.push(2, Some(at(t0, 10))).unwrap();
        q.push(3, None).unwrap();
        q.push(4, Some(at(t0, 20))).unwrap();
        assert_eq!(q.next_deadline(), Some(at(t0, 10)));
        assert!(q.expired(at(t0, 9)).is_empty());
        assert_eq!(
            q.expired(at(t0, 10)),
            [(2, 2)],
            "a deadline is due at its instant"
        );
        send_all(&mut q);
        assert_eq!(q.ack(4), Ack::Settled(4));
        assert_eq!(q.next_deadline(), Some(at(t0, 30)));
        assert_eq!(q.expired(at(t0, 1000)), [(1, 1)]);
        assert_eq!(q.next_deadline(), None);
        assert_eq!(q.ack(2), Ack::Stale, "a late answer");
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn lingering_only_for_a_partial_batch_of_events_nobody_waits_for() {
        let t0 = Instant::now();
        let mut q = Queue::new(10);
        assert!(!q.worth_lingering(3), "nothing to send");
        q.push(1, None).unwrap();
        q.push(2, None).unwrap();
        assert!(q.worth_lingering(3));
        q.push(3, None).unwrap();
        assert!(!q.worth_lingering(3), "a full batch goes at once");
        q.send_next(3, |_, _, _| {});
        q.push(4, Some(at(t0, 5))).unwrap();
        assert!(!q.worth_lingering(3), "a verdict is awaited");
    }

    #[test]
    fn drain_gives_up_everything_and_its_deadlines() {
        let t0 = Instant::now();
        let mut q = Queue::new(10);
        q.push(1, Some(at(t0, 1))).unwrap();
        q.push(2, None).unwrap();
        q.close();
        assert_eq!(q.drain(), [(1, 1), (2, 2)]);
        assert_eq!(q.next_deadline(), None);
        assert!(q.expired(at(t0, 1000)).is_empty());
        assert_eq!(q.len(), 0);
    }

    /// One step of a random run of the queue.
    #[derive(Clone, Debug)]
    enum Op {
        /// An event, sync (with a deadline that many ms after the start) or async.
        Push(Option<u16>),
        /// The writer sends at most this many.
        Send(usize),
        /// An answer to the `n`-th seq (0: the invalid seq 0; beyond: never handed out).
        Ack(u64),
        /// Time passes to this many ms after the start.
        Tick(u16),
        /// The process ends and a new one starts; `true`: the writer then sends all.
        Restart(bool),
    }

    /// Random steps, weighted so that queues fill, drain and restart often.
    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => proptest::option::of(0u16..200).prop_map(Op::Push),
            3 => (1usize..5).prop_map(Op::Send),
            4 => (0u64..40).prop_map(Op::Ack),
            1 => (0u16..250).prop_map(Op::Tick),
            1 => any::<bool>().prop_map(Op::Restart),
        ]
    }

    /// How an accepted event left the queue.
    #[derive(Debug, PartialEq, Eq)]
    enum Outcome {
        /// [`Queue::ack`] settled it.
        Acked,
        /// [`Queue::expired`] returned it.
        TimedOut,
        /// [`Queue::drain`] gave it up (unload).
        Dropped,
    }

    /// A simple model of the queue next to the real one.
    #[derive(Default)]
    struct Model {
        /// `seq` → (item, deadline in ms, sent to any process).
        waiting: BTreeMap<u64, (u32, Option<u16>, bool)>,
        /// Every `seq` handed out.
        handed_out: Vec<u64>,
        /// `seq` → how it left.
        outcomes: BTreeMap<u64, Outcome>,
        /// What was sent to the current process, in order.
        sent_to_current: Vec<u64>,
    }

    /// Runs `ops` on a queue of `max` and checks every rule after each step; then unload.
    fn run(max: usize, ops: &[Op]) -> Result<(), TestCaseError> {
        let t0 = Instant::now();
        let mut q: Queue<u32> = Queue::new(max);
        let mut m = Model::default();
        let mut now = 0u16;
        let mut next_item = 0u32;
        for op in ops {
            match *op {
                Op::Push(deadline) => {
                    // A deadline is never before the event came.
                    let deadline = deadline.map(|d| d.max(now));
                    next_item += 1;
                    match q.push(next_item, deadline.map(|d| at(t0, d.into()))) {
                        Ok(seq) => {
                            prop_assert!(
                                deadline.is_some() || m.waiting.len() < max,
                                "an async event accepted past the bound"
                            );
                            // Strictly increasing, hence never reused; and by one.
                            let expected = m.handed_out.last().map_or(1, |s| s + 1);
                            prop_assert_eq!(seq, expected);
                            m.handed_out.push(seq);
                            m.waiting.insert(seq, (next_item, deadline, false));
                        }
                        Err(Refused::Full(item)) => {
                            prop_assert_eq!(item, next_item);
                            prop_assert!(deadline.is_none(), "a sync event refused");
                            prop_assert!(m.waiting.len() >= max, "refused below the bound");
                        }
                        Err(Refused::Closed(_)) => prop_assert!(false, "never closed here"),
                    }
                }
                Op::Send(n) => {
                    let mut sent = Vec::new();
                    let count = q.send_next(n, |seq, item, replay| sent.push((seq, *item, replay)));
                    prop_assert_eq!(count, sent.len());
                    // The next waiting events not yet sent to this process, in order.
                    let last = m.sent_to_current.last().copied().unwrap_or(0);
                    let expected: Vec<(u64, u32, bool)> = m
                        .waiting
                        .range(last + 1..)
                        .take(n)
                        .map(|(&seq, &(item, _, sent))| (seq, item, sent))
                        .collect();
                    prop_assert_eq!(&sent, &expected);
                    for (seq, _, _) in sent {
                        m.waiting.get_mut(&seq).unwrap().2 = true;
                        m.sent_to_current.push(seq);
                    }
                }
                Op::Ack(n) => {
                    let seq = n;
                    let got = q.ack(seq);
                    match m.waiting.get(&seq) {
                        Some(&(item, _, true)) => {
                            prop_assert_eq!(got, Ack::Settled(item));
                            m.waiting.remove(&seq);
                            prop_assert!(m.outcomes.insert(seq, Outcome::Acked).is_none());
                        }
                        Some(&(_, _, false)) => prop_assert_eq!(got, Ack::Unsent),
                        None if m.handed_out.contains(&seq) || seq == 0 => {
                            prop_assert_eq!(got, Ack::Stale)
                        }
                        None => prop_assert_eq!(got, Ack::Unknown),
                    }
                }
                Op::Tick(t) => {
                    now = now.max(t);
                    let expired = q.expired(at(t0, now.into()));
                    // Exactly the overdue ones, earliest deadline first (then by seq).
                    let mut overdue: Vec<(u16, u64, u32)> = m
                        .waiting
                        .iter()
                        .filter_map(|(&seq, &(item, d, _))| {
                            d.filter(|&d| d <= now).map(|d| (d, seq, item))
                        })
                        .collect();
                    overdue.sort_unstable();
                    let overdue: Vec<(u64, u32)> = overdue
                        .into_iter()
                        .map(|(_, seq, item)| (seq, item))
                        .collect();
                    prop_assert_eq!(&expired, &overdue);
                    for (seq, _) in expired {
                        m.waiting.remove(&seq);
                        prop_assert!(m.outcomes.insert(seq, Outcome::TimedOut).is_none());
                    }
                }
                Op::Restart(false) => {
                    q.rewind();
                    m.sent_to_current.clear();
                }
                Op::Restart(true) => {
                    q.rewind();
                    m.sent_to_current.clear();
                    // Every unanswered event goes again, in order, a replay if sent before.
                    let mut resent = Vec::new();
                    q.send_next(usize::MAX, |seq, item, replay| {
                        resent.push((seq, *item, replay))
                    });
                    let expected: Vec<(u64, u32, bool)> = m
                        .waiting
                        .iter()
                        .map(|(&seq, &(item, _, sent))| (seq, item, sent))
                        .collect();
                    prop_assert_eq!(&resent, &expected);
                    for (seq, _, _) in resent {
                        m.waiting.get_mut(&seq).unwrap().2 = true;
                        m.sent_to_current.push(seq);
                    }
                }
            }
            // After every step: the bound holds for async events (sync ones are admitted
            // past it), and the queue agrees with the model.
            let async_waiting = m.waiting.values().filter(|&&(_, d, _)| d.is_none()).count();
            prop_assert!(async_waiting <= max);
            prop_assert_eq!(q.len(), m.waiting.len());
            prop_assert_eq!(
                q.has_unsent(),
                m.waiting
                    .range(m.sent_to_current.last().copied().unwrap_or(0) + 1..)
                    .next()
                    .is_some()
            );
            let next_deadline = m.waiting.values().filter_map(|&(_, d, _)| d).min();
            prop_assert_eq!(q.next_deadline(), next_deadline.map(|d| at(t0, d.into())));
            prop_assert_eq!(q.has_room_for_replay(), m.waiting.len() * 2 < max);
        }
        // Unload: the rest is given up, in seq order, and nothing comes in any more.
        q.close();
        prop_assert!(matches!(q.push(0, None), Err(Refused::Closed(0))));
        let drained = q.drain();
        let expected: Vec<(u64, u32)> = m
            .waiting
            .iter()
            .map(|(&seq, &(item, _, _))| (seq, item))
            .collect();
        prop_assert_eq!(&drained, &expected);
        for (seq, _) in drained {
            prop_assert!(m.outcomes.insert(seq, Outcome::Dropped).is_none());
        }
        prop_assert_eq!(q.len(), 0);
        prop_assert_eq!(q.next_deadline(), None);
        // Every accepted event had exactly one outcome (the inserts above never
        // replaced one), and nothing else had one.
        let outcomes: Vec<u64> = m.outcomes.keys().copied().collect();
        prop_assert_eq!(outcomes, m.handed_out);
        Ok(())
    }

    fn key(lease: u8) -> Vec<LeaseKey> {
        vec![LeaseKey::V4(std::net::Ipv4Addr::new(10, 0, 0, lease))]
    }

    #[test]
    fn a_newer_event_of_the_same_lease_replaces_the_waiting_one_in_its_place() {
        // max_queued 0: always under pressure, so every chance to merge is taken.
        let mut q = Queue::new(0).with_merge(usize::MAX);
        assert_eq!(q.push_keyed(1, None, key(1), 10), Ok(Pushed::New(1)));
        assert_eq!(q.push_keyed(2, None, key(2), 10), Ok(Pushed::New(2)));
        // Lease 1 again: takes seq 1's place, the commit (1) comes back as merged.
        assert_eq!(
            q.push_keyed(3, None, key(1), 20),
            Ok(Pushed::Merged {
                seq: 1,
                replaced: 1
            })
        );
        assert_eq!((q.len(), q.bytes()), (2, 30));
        assert_eq!(send_all(&mut q), [(1, 3, false), (2, 2, false)]);
        // Sent: no longer replaced; a new event of lease 1 waits behind it.
        assert_eq!(q.push_keyed(4, None, key(1), 10), Ok(Pushed::New(3)));
        // A sync event is never merged, nor merged into, and a later event of its lease
        // does not merge before it (its state would be delivered first).
        let t0 = Instant::now();
        assert_eq!(q.push_keyed(5, Some(t0), key(1), 10), Ok(Pushed::New(4)));
        assert_eq!(q.push_keyed(6, None, key(1), 10), Ok(Pushed::New(5)));
        assert_eq!(
            q.push_keyed(7, None, key(1), 10),
            Ok(Pushed::Merged {
                seq: 5,
                replaced: 6
            })
        );
        // No key (a packet hook point): never merged.
        assert_eq!(q.push_keyed(8, None, vec![], 10), Ok(Pushed::New(6)));
        assert_eq!(q.push_keyed(9, None, vec![], 10), Ok(Pushed::New(7)));
        // Without merge, keys change nothing.
        let mut plain = Queue::new(10);
        assert_eq!(plain.push_keyed(1, None, key(1), 10), Ok(Pushed::New(1)));
        assert_eq!(plain.push_keyed(2, None, key(1), 10), Ok(Pushed::New(2)));
    }

    #[test]
    fn an_event_about_two_leases_is_never_merged_and_stops_merges_before_it() {
        let mut q = Queue::new(0).with_merge(usize::MAX);
        let both = [key(1), key(2)].concat();
        assert_eq!(q.push_keyed(1, None, key(1), 1), Ok(Pushed::New(1)));
        assert_eq!(q.push_keyed(2, None, key(2), 1), Ok(Pushed::New(2)));
        // A client moved from lease 2 to lease 1: about both, never merged.
        assert_eq!(q.push_keyed(3, None, both.clone(), 1), Ok(Pushed::New(3)));
        assert_eq!(q.push_keyed(4, None, both, 1), Ok(Pushed::New(4)));
        // A later event of lease 2 must come after the move: it is queued, and the next
        // one of lease 2 merges into it.
        assert_eq!(q.push_keyed(5, None, key(2), 1), Ok(Pushed::New(5)));
        assert_eq!(
            q.push_keyed(6, None, key(2), 1),
            Ok(Pushed::Merged {
                seq: 5,
                replaced: 5
            })
        );
        assert_eq!(
            send_all(&mut q),
            [
                (1, 1, false),
                (2, 2, false),
                (3, 3, false),
                (4, 4, false),
                (5, 6, false)
            ]
        );
    }

    #[test]
    fn below_max_queued_every_event_is_kept_and_merging_starts_there() {
        let mut q = Queue::new(2).with_merge(usize::MAX);
        // A renewal and a commit of one exchange, the queue not full: both kept.
        assert_eq!(q.push_keyed(1, None, key(1), 1), Ok(Pushed::New(1)));
        assert_eq!(q.push_keyed(2, None, key(1), 1), Ok(Pushed::New(2)));
        assert!(q.is_full(1));
        // Full: lease 1's newest waiting event takes the newer one.
        assert_eq!(
            q.push_keyed(3, None, key(1), 1),
            Ok(Pushed::Merged {
                seq: 2,
                replaced: 2
            })
        );
        // A lease with nothing waiting is queued past the count: the budget bounds.
        assert_eq!(q.push_keyed(4, None, key(2), 1), Ok(Pushed::New(3)));
        assert_eq!(q.len(), 3);
        assert_eq!(
            send_all(&mut q),
            [(1, 1, false), (2, 3, false), (3, 4, false)]
        );
        // Without merge the count bounds.
        let mut plain = Queue::new(2);
        plain.push_keyed(1, None, key(1), 1).unwrap();
        plain.push_keyed(2, None, key(2), 1).unwrap();
        assert_eq!(plain.push_keyed(3, None, key(3), 1), Err(Refused::Full(3)));
    }

    #[test]
    fn the_budget_bounds_new_events_but_not_merges_nor_the_first_one() {
        let mut q = Queue::new(0).with_merge(100);
        assert_eq!(
            q.push_keyed(1, None, key(1), 500),
            Ok(Pushed::New(1)),
            "an empty queue takes one"
        );
        assert_eq!(q.push_keyed(2, None, key(2), 1), Err(Refused::Full(2)));
        assert!(matches!(
            q.push_keyed(3, None, key(1), 60),
            Ok(Pushed::Merged { .. })
        ));
        assert_eq!(q.push_keyed(4, None, key(2), 40), Ok(Pushed::New(2)));
        assert_eq!(q.bytes(), 100);
        assert_eq!(q.push_keyed(5, None, key(3), 1), Err(Refused::Full(5)));
        assert!(!q.has_room_for_replay());
        send_all(&mut q);
        assert!(matches!(q.ack(1), Ack::Settled(3)));
        assert_eq!(q.bytes(), 40);
        assert_eq!(q.push_keyed(6, None, key(3), 60), Ok(Pushed::New(3)));
    }

    #[test]
    fn pop_ready_skips_the_events_of_a_busy_lease() {
        let mut q = Queue::new(1).with_merge(usize::MAX);
        q.push_keyed(1, None, key(1), 1).unwrap();
        q.push_keyed(2, None, key(2), 1).unwrap();
        q.push_keyed(3, None, vec![], 1).unwrap();
        let busy = |k: &LeaseKey| key(1).contains(k);
        assert_eq!(q.pop_ready(busy), Some((2, 2, key(2))));
        assert_eq!(q.pop_ready(busy), Some((3, 3, vec![])));
        assert_eq!(q.pop_ready(busy), None);
        // Still mergeable while it waits for its lease (the queue full with it).
        assert!(matches!(
            q.push_keyed(4, None, key(1), 1),
            Ok(Pushed::Merged { seq: 1, .. })
        ));
        assert_eq!(q.pop_ready(|_| false), Some((1, 4, key(1))));
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }

    #[test]
    fn pop_ready_keeps_each_leases_order_through_events_about_two() {
        let mut q = Queue::new(0).with_merge(usize::MAX);
        let both = [key(1), key(2)].concat();
        q.push_keyed(1, None, key(1), 1).unwrap();
        q.push_keyed(2, None, both.clone(), 1).unwrap();
        q.push_keyed(3, None, key(2), 1).unwrap();
        q.push_keyed(4, None, key(3), 1).unwrap();
        assert!(q.holds_any(&key(2)) && !q.holds_any(&key(4)));
        // Lease 1 busy: the move waits for it, and lease 2's later event for the move.
        let busy = |k: &LeaseKey| key(1).contains(k);
        assert_eq!(q.pop_ready(busy), Some((4, 4, key(3))));
        assert_eq!(q.pop_ready(busy), None);
        assert_eq!(q.pop_ready(|_| false), Some((1, 1, key(1))));
        // The move runs (both leases busy): lease 2's event still waits.
        let busy = |k: &LeaseKey| both.contains(k);
        assert_eq!(q.pop_ready(|_| false), Some((2, 2, both.clone())));
        assert_eq!(q.pop_ready(busy), None);
        assert_eq!(q.pop_ready(|_| false), Some((3, 3, key(2))));
        assert!(!q.holds_any(&both));
    }

    /// One step of a random run of a merging queue.
    #[derive(Clone, Debug)]
    enum MergeOp {
        /// An event: its leases (a bit each of 4; none: a packet event), sync, estimated
        /// bytes.
        Push(u8, bool, u8),
        /// The writer sends at most this many.
        Send(usize),
        /// The oldest sent event is answered.
        AckOldest,
        /// The process restarts (unanswered go again).
        Restart,
    }

    fn merge_op() -> impl Strategy<Value = MergeOp> {
        prop_oneof![
            6 => (leases(), proptest::bool::weighted(0.15), 1u8..40)
                .prop_map(|(l, s, b)| MergeOp::Push(l, s, b)),
            2 => (1usize..4).prop_map(MergeOp::Send),
            2 => Just(MergeOp::AckOldest),
            1 => Just(MergeOp::Restart),
        ]
    }

    /// The leases of a random event, a bit each: mostly one, sometimes none or two (a
    /// client moved from one to the other).
    fn leases() -> impl Strategy<Value = u8> {
        prop_oneof![
            7 => (0u8..4).prop_map(|l| 1 << l),
            1 => Just(0),
            2 => (0u8..4, 0u8..4).prop_map(|(a, b)| (1 << a) | (1 << b)),
        ]
    }

    /// The keys of the leases in `mask`.
    fn keys(mask: u8) -> Vec<LeaseKey> {
        (0u8..4)
            .filter(|l| mask & (1 << l) != 0)
            .flat_map(key)
            .collect()
    }

    /// An event of a random run: its push index, leases (bits), sync.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Ev {
        n: usize,
        leases: u8,
        sync: bool,
    }

    /// Each lease's newest accepted event (not refused) is the last of that lease
    /// delivered (`delivered`: in the order they reached the script).
    fn newest_last(pushed: &[Ev], refused: &[Ev], delivered: &[Ev]) -> Result<(), TestCaseError> {
        for lease in 0u8..4 {
            let bit = 1 << lease;
            let newest = pushed
                .iter()
                .rfind(|e| e.leases & bit != 0 && !refused.contains(e));
            let last_delivered = delivered.iter().rfind(|e| e.leases & bit != 0);
            prop_assert_eq!(
                newest.map(|e| e.n),
                last_delivered.map(|e| e.n),
                "lease {}: not its newest state last",
                lease
            );
        }
        Ok(())
    }

    /// Runs `ops` on a merging queue and checks the merge rules; finally sends everything.
    fn run_merge(max: usize, budget: usize, ops: &[MergeOp]) -> Result<(), TestCaseError> {
        let t0 = Instant::now();
        let mut q: Queue<Ev> = Queue::new(max).with_merge(budget);
        let mut pushed: Vec<Ev> = Vec::new();
        // Push index of the first event of each seq's merge chain (its place).
        let mut place: BTreeMap<u64, usize> = BTreeMap::new();
        let (mut merged, mut refused) = (Vec::new(), Vec::new());
        let mut delivered: Vec<(u64, Ev)> = Vec::new();
        let mut sent_unacked: Vec<u64> = Vec::new();
        let record = |sent: Vec<(u64, Ev, bool)>,
                      delivered: &mut Vec<(u64, Ev)>,
                      sent_unacked: &mut Vec<u64>| {
            for (seq, ev, replay) in sent {
                if !replay {
                    delivered.push((seq, ev));
                }
                sent_unacked.push(seq);
            }
        };
        for op in ops {
            match *op {
                MergeOp::Push(leases, sync, bytes) => {
                    let ev = Ev {
                        n: pushed.len(),
                        leases,
                        sync,
                    };
                    pushed.push(ev);
                    let (len, before) = (q.len(), q.bytes());
                    let deadline = sync.then_some(t0);
                    match q.push_keyed(ev, deadline, keys(leases), bytes.into()) {
                        Ok(Pushed::New(seq)) => {
                            // Under merge only the budget bounds async events.
                            prop_assert!(
                                sync || len == 0 || before + usize::from(bytes) <= budget,
                                "async past the budget"
                            );
                            place.insert(seq, ev.n);
                        }
                        Ok(Pushed::Merged { replaced, .. }) => {
                            prop_assert!(
                                len >= max || before + usize::from(bytes) > budget,
                                "merged below max-queued and the budget"
                            );
                            prop_assert!(!sync && !replaced.sync, "a sync event merged");
                            prop_assert!(
                                leases.count_ones() == 1 && replaced.leases == leases,
                                "different leases merged"
                            );
                            prop_assert!(
                                !delivered.iter().any(|(_, e)| *e == replaced),
                                "a sent event replaced"
                            );
                            merged.push(replaced);
                        }
                        Err(Refused::Full(e)) => {
                            prop_assert!(!sync, "a sync event refused");
                            prop_assert!(
                                len > 0 && before + usize::from(bytes) > budget,
                                "refused within the budget"
                            );
                            refused.push(e)
                        }
                        Err(Refused::Closed(_)) => prop_assert!(false),
                    }
                }
                MergeOp::Send(n) => {
                    let mut sent = Vec::new();
                    q.send_next(n, |seq, ev, replay| sent.push((seq, *ev, replay)));
                    record(sent, &mut delivered, &mut sent_unacked);
                }
                MergeOp::AckOldest => {
                    if !sent_unacked.is_empty() {
                        let seq = sent_unacked.remove(0);
                        let _ = q.ack(seq);
                    }
                }
                MergeOp::Restart => {
                    q.rewind();
                    sent_unacked.clear();
                }
            }
        }
        let mut sent = Vec::new();
        q.rewind();
        q.send_next(usize::MAX, |seq, ev, replay| sent.push((seq, *ev, replay)));
        record(sent, &mut delivered, &mut sent_unacked);
        // Every event is delivered, merged or refused, exactly once.
        let mut outcome: Vec<usize> = delivered
            .iter()
            .map(|(_, e)| e.n)
            .chain(merged.iter().map(|e| e.n))
            .chain(refused.iter().map(|e| e.n))
            .collect();
        outcome.sort_unstable();
        prop_assert_eq!(outcome, (0..pushed.len()).collect::<Vec<_>>());
        // Order: delivered in the order of their places (the first event they replaced).
        let places: Vec<usize> = delivered.iter().map(|(seq, _)| place[seq]).collect();
        prop_assert!(
            places.windows(2).all(|w| w[0] < w[1]),
            "order kept: {:?}",
            places
        );
        // Newest state wins: per lease, the last accepted event is delivered, last.
        let delivered: Vec<Ev> = delivered.iter().map(|&(_, e)| e).collect();
        newest_last(&pushed, &refused, &delivered)?;
        Ok(())
    }

    /// One step of a random run of the spawn runner's use of a merging queue.
    #[derive(Clone, Debug)]
    enum SpawnOp {
        /// An event: its leases (bits), estimated bytes.
        Push(u8, u8),
        /// A run ends (the `i`-th running, modulo their count) and its slot goes to the
        /// next ready event.
        End(usize),
    }

    fn spawn_op() -> impl Strategy<Value = SpawnOp> {
        prop_oneof![
            3 => (leases(), 1u8..40).prop_map(|(l, b)| SpawnOp::Push(l, b)),
            2 => (0usize..4).prop_map(SpawnOp::End),
        ]
    }

    /// The runs of a random spawn run: going, and all started, with their places.
    #[derive(Default)]
    struct SpawnModel {
        running: Vec<(Ev, usize)>,
        started: Vec<(Ev, usize)>,
    }

    impl SpawnModel {
        /// The leases with a run going.
        fn busy(&self) -> u8 {
            self.running.iter().fold(0, |m, (e, _)| m | e.leases)
        }

        fn start(&mut self, ev: Ev, at: usize) -> Result<(), TestCaseError> {
            prop_assert_eq!(self.busy() & ev.leases, 0, "runs of a lease overlap");
            self.running.push((ev, at));
            self.started.push((ev, at));
            Ok(())
        }

        /// The `i`-th run (modulo) ends; its slot goes to the next ready event.
        fn end(
            &mut self,
            i: usize,
            q: &mut Queue<Ev>,
            place: &BTreeMap<u64, usize>,
        ) -> Result<(), TestCaseError> {
            if self.running.is_empty() {
                return Ok(());
            }
            self.running.remove(i % self.running.len());
            let busy = keys(self.busy());
            if let Some((seq, ev, _)) = q.pop_ready(|k| busy.contains(k)) {
                self.start(ev, place[&seq])?;
            }
            Ok(())
        }
    }

    /// Runs `ops` as the spawn runner does (`slots` runs at once; an event starts at once
    /// when a slot is free, none of its leases runs and none waits; else it is queued, and
    /// a freed slot takes [`Queue::pop_ready`]'s event), then ends every run. Checks: one
    /// lease's runs never overlap, start in the order of their places, and its newest
    /// state starts last.
    fn run_spawn(
        max: usize,
        budget: usize,
        slots: usize,
        ops: &[SpawnOp],
    ) -> Result<(), TestCaseError> {
        let mut q: Queue<Ev> = Queue::new(max).with_merge(budget);
        let mut pushed: Vec<Ev> = Vec::new();
        let mut place: BTreeMap<u64, usize> = BTreeMap::new();
        let (mut merged, mut refused) = (Vec::new(), Vec::new());
        let mut m = SpawnModel::default();
        for op in ops {
            match *op {
                SpawnOp::Push(leases, bytes) => {
                    let ev = Ev {
                        n: pushed.len(),
                        leases,
                        sync: false,
                    };
                    pushed.push(ev);
                    let free = m.busy() & leases == 0 && !q.holds_any(&keys(leases));
                    if m.running.len() < slots && free {
                        m.start(ev, ev.n)?;
                        continue;
                    }
                    match q.push_keyed(ev, None, keys(leases), bytes.into()) {
                        Ok(Pushed::New(seq)) => {
                            place.insert(seq, ev.n);
                        }
                        Ok(Pushed::Merged { replaced, .. }) => merged.push(replaced),
                        Err(Refused::Full(e)) => refused.push(e),
                        Err(Refused::Closed(_)) => prop_assert!(false),
                    }
                }
                SpawnOp::End(i) => m.end(i, &mut q, &place)?,
            }
        }
        while !m.running.is_empty() {
            m.end(0, &mut q, &place)?;
        }
        let started = m.started;
        prop_assert_eq!(q.len(), 0, "events left waiting with every slot free");
        let mut outcome: Vec<usize> = started
            .iter()
            .map(|(e, _)| e.n)
            .chain(merged.iter().map(|e: &Ev| e.n))
            .chain(refused.iter().map(|e: &Ev| e.n))
            .collect();
        outcome.sort_unstable();
        prop_assert_eq!(outcome, (0..pushed.len()).collect::<Vec<_>>());
        for lease in 0u8..4 {
            let places: Vec<usize> = started
                .iter()
                .filter(|(e, _)| e.leases & (1 << lease) != 0)
                .map(|&(_, at)| at)
                .collect();
            prop_assert!(
                places.windows(2).all(|w| w[0] < w[1]),
                "lease {}: runs out of order: {:?}",
                lease,
                places
            );
        }
        let started: Vec<Ev> = started.iter().map(|&(e, _)| e).collect();
        newest_last(&pushed, &refused, &started)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_rule_holds_in_random_runs(
            max in 0usize..8,
            ops in proptest::collection::vec(op(), 0..120),
        ) {
            run(max, &ops)?;
        }

        /// Merging: sync never merged, leases never mixed, sent never replaced, budget
        /// respected, order kept, each lease's newest state delivered.
        #[test]
        fn merge_rules_hold_in_random_runs(
            max in 0usize..10,
            budget in 1usize..200,
            ops in proptest::collection::vec(merge_op(), 0..150),
        ) {
            run_merge(max, budget, &ops)?;
        }

        /// The spawn runner's use: one lease's runs never overlap, start in order, and its
        /// newest state starts last, with events about two leases among them.
        #[test]
        fn spawn_order_rules_hold_in_random_runs(
            max in 0usize..6,
            budget in 1usize..200,
            slots in 1usize..4,
            ops in proptest::collection::vec(spawn_op(), 0..150),
        ) {
            run_spawn(max, budget, slots, &ops)?;
        }

        /// All sent, then answered in any order, with repeats and answers to seqs
        /// never handed out in between: each event is settled once, by its own answer.
        #[test]
        fn answers_in_any_order_settle_each_event_once(
            n in 1usize..40,
            order in Just((1u64..=40).collect::<Vec<_>>()).prop_shuffle(),
            repeats in proptest::collection::vec(0u64..60, 0..40),
        ) {
            let mut q = Queue::new(n);
            for i in 0..n as u32 {
                q.push(i + 100, None).unwrap();
            }
            prop_assert_eq!(q.send_next(usize::MAX, |_, _, _| {}), n);
            let mut settled = BTreeMap::new();
            let answers = order.iter().copied().chain(repeats.iter().copied());
            let mix: Vec<u64> = answers.collect();
            for seq in mix {
                match q.ack(seq) {
                    Ack::Settled(item) => {
                        prop_assert_eq!(u64::from(item), seq + 99, "the event of that seq");
                        prop_assert!(settled.insert(seq, item).is_none(), "settled twice");
                    }
                    Ack::Stale => prop_assert!(seq == 0 || settled.contains_key(&seq)),
                    Ack::Unknown => prop_assert!(seq > n as u64),
                    Ack::Unsent => prop_assert!(false, "all were sent"),
                }
            }
            // The shuffled answers name every seq up to 40, so each one was settled.
            prop_assert_eq!(settled.len(), n);
            prop_assert_eq!(q.len(), 0);
        }
    }
}
