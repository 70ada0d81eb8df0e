//! [`Limiter`]: a token bucket per client, in a sharded map of bounded size. Pure Rust,
//! no Kea: the time is an argument, so the tests drive it.
//!
//! Each client has a bucket of `burst` tokens, refilled at `max-per-second` tokens per
//! second; a query takes a token, a query finding the bucket empty is dropped. A client
//! unknown so far starts with a full bucket. A bucket that has had time to fill up again
//! is *stale*: forgetting it changes nothing, so stale buckets are what a full shard
//! evicts first; when every bucket in it is fresh (more active clients than
//! `max-clients`), the least recently seen eighth of the shard is forgotten (those clients
//! start again with a full bucket). Eviction sweeps a whole shard, but at most once per
//! eighth of a shard's inserts, so each query costs constant time on average. Stale
//! buckets also go in a sweep of the shard once per refill time (at a newcomer), so the
//! map holds about the clients of the last refill time, not `max-clients` of them.
//!
//! A client is keyed by a 64-bit keyed hash (SipHash with a random key) of its identifier:
//! no allocation per client, 40 bytes per bucket; two clients share a bucket only if
//! their hashes collide (odds about 2^-64 per pair, not something a client can aim at).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::params::Parameters;

/// Shards at most: a lock each, so Kea's packet threads rarely wait for one another.
const SHARDS: usize = 16;

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left at `last` (up to `burst`).
    tokens: f64,
    /// When the client's last query arrived.
    last: Instant,
    /// Whether its last query was dropped (to log the first drop of a flood only).
    dropping: bool,
}

/// Hashes a key that is a keyed hash already: itself.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; anything else still spreads.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// One shard: the buckets of the clients whose key falls in it.
struct Shard {
    /// Bucket per client key.
    buckets: HashMap<u64, Bucket, BuildHasherDefault<KeyHasher>>,
    /// When stale buckets were last swept out.
    swept: Instant,
}

/// What to do with a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit.
    Pass,
    /// Above the limit: drop it. `first`: the client's previous query passed (the start of
    /// a flood, worth a log line).
    Drop {
        /// The first of a run of drops.
        first: bool,
    },
}

/// Token buckets of every recently seen client, sharded by a hash of the client's
/// identifier; safe to share between threads.
pub struct Limiter {
    /// Tokens refilled per second.
    rate: f64,
    /// Size of a bucket.
    burst: f64,
    /// The time an empty bucket takes to fill: older buckets are stale.
    refill: Duration,
    /// Buckets per shard at most.
    shard_cap: usize,
    /// Picks the shard (random keys: clients cannot aim at one shard).
    hasher: RandomState,
    /// The shards.
    shards: Vec<Mutex<Shard>>,
}

impl Limiter {
    /// A limiter for `parameters`, tracking nobody yet.
    pub fn new(parameters: &Parameters) -> Limiter {
        Limiter::with_shards(parameters, SHARDS)
    }

    /// A limiter with `shards` shards at most (fewer when `max-clients` is smaller).
    fn with_shards(parameters: &Parameters, shards: usize) -> Limiter {
        let shards = shards.min(parameters.max_clients).max(1);
        let burst = f64::from(parameters.burst);
        Limiter {
            rate: parameters.max_per_second,
            burst,
            refill: Duration::from_secs_f64(burst / parameters.max_per_second),
            shard_cap: (parameters.max_clients / shards).max(1),
            hasher: RandomState::new(),
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        buckets: HashMap::default(),
                        swept: Instant::now(),
                    })
                })
                .collect(),
        }
    }

    /// The verdict on a query from client `id` arriving at `now`.
    pub fn admit(&self, id: &[u8], now: Instant) -> Verdict {
        let key = self.hasher.hash_one(id);
        // The high half picks the shard: the map's own slots come from the low bits.
        let mut shard = self.lock((key >> 32) as usize % self.shards.len());
        if let Some(bucket) = shard.buckets.get_mut(&key) {
            let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
            let tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
            bucket.last = now;
            if tokens >= 1.0 {
                bucket.tokens = tokens - 1.0;
                bucket.dropping = false;
                return Verdict::Pass;
            }
            bucket.tokens = tokens;
            let first = !bucket.dropping;
            bucket.dropping = true;
            return Verdict::Drop { first };
        }
        if now.saturating_duration_since(shard.swept) >= self.refill {
            self.sweep(&mut shard, now);
        }
        if shard.buckets.len() >= self.shard_cap {
            self.evict(&mut shard, now);
        }
        shard.buckets.insert(
            key,
            Bucket {
                tokens: self.burst - 1.0,
                last: now,
                dropping: false,
            },
        );
        Verdict::Pass
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        (0..self.shards.len())
            .map(|i| self.lock(i).buckets.len())
            .sum()
    }

    /// Makes room in a full shard: stale buckets go; if that frees less than an eighth, the
    /// least recently seen buckets go too, down to seven eighths of the cap.
    fn evict(&self, shard: &mut Shard, now: Instant) {
        self.sweep(shard, now);
        let target = self.shard_cap - (self.shard_cap / 8).max(1);
        let shard = &mut shard.buckets;
        if shard.len() <= target {
            return;
        }
        let excess = shard.len() - target;
        let mut seen: Vec<Instant> = shard.values().map(|b| b.last).collect();
        let (_, &mut cutoff, _) = seen.select_nth_unstable(excess - 1);
        shard.retain(|_, b| b.last > cutoff);
    }

    /// Forgets the stale buckets of `shard`.
    fn sweep(&self, shard: &mut Shard, now: Instant) {
        shard
            .buckets
            .retain(|_, b| now.saturating_duration_since(b.last) < self.refill);
        shard.swept = now;
    }

    /// Shard `index`, locked. A poisoned lock (a panic while held) still holds buckets
    /// that are whole: each update is a few plain stores.
    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_per_second: f64, burst: u32, max_clients: usize) -> Limiter {
        Limiter::new(&Parameters {
            max_per_second,
            burst,
            max_clients,
        })
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_passes_then_drops_until_refilled() {
        let l = limiter(2.0, 3, 100);
        let t = Instant::now();
        let verdicts: Vec<Verdict> = (0..5).map(|_| l.admit(b"a", t)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Pass,
                Verdict::Drop { first: true },
                Verdict::Drop { first: false }
            ]
        );
        // 2 per second: one token after 500 ms, not before.
        assert_eq!(l.admit(b"a", t + ms(400)), Verdict::Drop { first: false });
        assert_eq!(l.admit(b"a", t + ms(500)), Verdict::Pass);
        assert_eq!(l.admit(b"a", t + ms(500)), Verdict::Drop { first: true });
        // Refilled, but never above the burst.
        let later = t + Duration::from_secs(60);
        let passed = (0..10)
            .filter(|_| l.admit(b"a", later) == Verdict::Pass)
            .count();
        assert_eq!(passed, 3);
    }

    #[test]
    fn clients_have_their_own_buckets() {
        let l = limiter(1.0, 1, 100);
        let t = Instant::now();
        assert_eq!(l.admit(b"a", t), Verdict::Pass);
        assert_eq!(l.admit(b"a", t), Verdict::Drop { first: true });
        assert_eq!(l.admit(b"b", t), Verdict::Pass);
        assert_eq!(l.admit(b"a\0", t), Verdict::Pass);
    }

    #[test]
    fn a_steady_client_at_the_rate_is_never_dropped() {
        let l = limiter(10.0, 1, 100);
        let t = Instant::now();
        assert!((0..1000).all(|i| l.admit(b"a", t + ms(100 * i)) == Verdict::Pass));
    }

    #[test]
    fn memory_is_bounded() {
        let l = limiter(1.0, 2, 64);
        let t = Instant::now();
        // A flooding client, then many one-off ones: the count never passes the cap.
        for _ in 0..5 {
            l.admit(b"flood", t);
        }
        for i in 0..10_000u32 {
            l.admit(&i.to_be_bytes(), t + ms(u64::from(i)));
            assert!(l.tracked() <= 64, "{} tracked", l.tracked());
        }
    }

    #[test]
    fn a_full_shard_evicts_stale_buckets_first_then_the_least_recently_seen() {
        let params = |max_clients| Parameters {
            max_per_second: 1.0,
            burst: 2,
            max_clients,
        };
        let t = Instant::now();
        let id = |i: u32| i.to_be_bytes();
        // Stale first: at 3 s every bucket but client 0's has been full again for 1 s.
        let l = Limiter::with_shards(&params(16), 1);
        for i in 0..16 {
            l.admit(&id(i), t);
        }
        assert_eq!(l.admit(&id(0), t + ms(3000)), Verdict::Pass);
        assert_eq!(l.admit(b"new", t + ms(3000)), Verdict::Pass);
        assert_eq!(l.tracked(), 2);
        // Client 0 kept its bucket: one token left, then dropped.
        assert_eq!(l.admit(&id(0), t + ms(3000)), Verdict::Pass);
        assert_eq!(l.admit(&id(0), t + ms(3000)), Verdict::Drop { first: true });

        // Nothing stale: the least recently seen (client 0) goes.
        let l = Limiter::with_shards(&params(8), 1);
        for i in 0..8 {
            l.admit(&id(i), t + ms(u64::from(i)));
        }
        assert_eq!(l.admit(b"new", t + ms(10)), Verdict::Pass);
        assert_eq!(l.tracked(), 8);
        // Client 1 is still tracked (one token left); client 0 starts again with two.
        assert_eq!(l.admit(&id(1), t + ms(10)), Verdict::Pass);
        assert_eq!(l.admit(&id(1), t + ms(10)), Verdict::Drop { first: true });
        assert_eq!(l.admit(&id(0), t + ms(10)), Verdict::Pass);
        assert_eq!(l.admit(&id(0), t + ms(10)), Verdict::Pass);
    }

    #[test]
    fn stale_buckets_go_without_a_full_shard() {
        let params = Parameters {
            max_per_second: 1.0,
            burst: 1,
            max_clients: 1000,
        };
        let l = Limiter::with_shards(&params, 1);
        let t = Instant::now();
        for i in 0..100u32 {
            l.admit(&i.to_be_bytes(), t);
        }
        assert_eq!(l.tracked(), 100);
        // A newcomer once a refill time (1 s) has passed sweeps the stale ones out.
        l.admit(b"new", t + ms(2000));
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn threads_share_one_limit() {
        let l = std::sync::Arc::new(limiter(0.001, 100, 100));
        let t = Instant::now();
        let passed: usize = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    (0..1000)
                        .filter(|_| l.admit(b"shared", t) == Verdict::Pass)
                        .count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(passed, 100);
    }
}
