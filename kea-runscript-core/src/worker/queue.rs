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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// One event in the queue.
struct Entry<T> {
    item: T,
    /// When it times out (sync events only).
    deadline: Option<Instant>,
    /// Handed to the writer before (a resend is a replay).
    sent: bool,
}

/// Why [`Queue::push`] refused an event; the event comes back with it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused<T> {
    /// The queue is closed (unload).
    Closed(T),
    /// `max_queued` events wait for an answer already.
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
        }
    }

    /// Accepts `item` under the next `seq`, which it returns. `deadline`: when a sync
    /// event times out (see [`Queue::expired`]); an event with one is also one whose
    /// verdict someone waits for (see [`Queue::worth_lingering`]).
    pub fn push(&mut self, item: T, deadline: Option<Instant>) -> Result<u64, Refused<T>> {
        if self.closed {
            return Err(Refused::Closed(item));
        }
        if self.pending.len() >= self.max_queued {
            return Err(Refused::Full(item));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(d) = deadline {
            self.deadlines.insert((d, seq));
        }
        self.pending.insert(
            seq,
            Entry {
                item,
                deadline,
                sent: false,
            },
        );
        Ok(seq)
    }

    /// How many events wait for an answer.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether a replayed lease event may come in: it may fill at most half of the
    /// buffer, so live events keep the other half.
    pub fn has_room_for_replay(&self) -> bool {
        self.pending.len() * 2 < self.max_queued
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
        let entry = self.pending.remove(&seq).expect("looked up above");
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, seq));
        }
        Ack::Settled(entry.item)
    }

    /// Removes the events whose deadline is `now` or earlier, in deadline order.
    pub fn expired(&mut self, now: Instant) -> Vec<(u64, T)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, seq)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.pending.remove(&seq) {
                expired.push((seq, entry.item));
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

    use super::{Ack, Queue, Refused};

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
    fn a_queue_of_zero_refuses_everything() {
        let mut q = Queue::new(0);
        assert_eq!(q.push(1, None), Err(Refused::Full(1)));
        assert!(!q.has_room_for_replay());
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
                            prop_assert!(m.waiting.len() < max, "accepted past the bound");
                            // Strictly increasing, hence never reused; and by one.
                            let expected = m.handed_out.last().map_or(1, |s| s + 1);
                            prop_assert_eq!(seq, expected);
                            m.handed_out.push(seq);
                            m.waiting.insert(seq, (next_item, deadline, false));
                        }
                        Err(Refused::Full(item)) => {
                            prop_assert_eq!(item, next_item);
                            prop_assert_eq!(m.waiting.len(), max, "refused below the bound");
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
            // After every step: the bound holds, and the queue agrees with the model.
            prop_assert!(q.len() <= max);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_rule_holds_in_random_runs(
            max in 0usize..8,
            ops in proptest::collection::vec(op(), 0..120),
        ) {
            run(max, &ops)?;
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
