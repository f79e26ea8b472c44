//! Token buckets per key (a client address, a signed-in user): `rate` operations per second
//! on average, `burst` at once. Idle buckets are forgotten, so memory follows the number of
//! recently active clients, not every client ever seen.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<Buckets<K>>,
}

struct Buckets<K> {
    map: HashMap<K, Bucket>,
    /// Size at which idle buckets are next swept (doubles with the live set, so sweeping is
    /// amortised constant time per request).
    sweep_at: usize,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

const FIRST_SWEEP: usize = 4_096;

impl<K: Eq + Hash> RateLimiter<K> {
    /// `None` when `rate` is 0 (no limit).
    pub fn new(rate: u32, burst: u32) -> Option<Self> {
        (rate > 0).then(|| Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        })
    }

    /// Takes `n` tokens from `key`'s bucket, or says how long until they are there.
    pub fn take(&self, key: K, n: u32) -> Result<(), Duration> {
        self.take_at(key, n, Instant::now())
    }

    fn take_at(&self, key: K, n: u32, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned lock must not turn every request away
        };
        let (rate, burst) = (self.rate, self.burst);
        if buckets.map.len() >= buckets.sweep_at {
            buckets
                .map
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            buckets.sweep_at = (buckets.map.len() * 2).max(FIRST_SWEEP);
        }
        let bucket = buckets.map.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        let wanted = f64::from(n);
        bucket.at = now;
        if refilled >= wanted {
            bucket.tokens = refilled - wanted;
            Ok(())
        } else {
            bucket.tokens = refilled;
            Err(Duration::from_secs_f64(
                (wanted.min(burst) - refilled) / rate,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let limiter = RateLimiter::new(10, 3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take_at("a", 1, t0).unwrap();
        }
        let wait = limiter.take_at("a", 1, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        // Another key has its own bucket.
        limiter.take_at("b", 1, t0).unwrap();
        // 100 ms later one token is back.
        limiter
            .take_at("a", 1, t0 + Duration::from_millis(100))
            .unwrap();
        assert!(
            limiter
                .take_at("a", 1, t0 + Duration::from_millis(100))
                .is_err()
        );
    }

    #[test]
    fn zero_rate_means_no_limiter() {
        assert!(RateLimiter::<u8>::new(0, 10).is_none());
    }

    #[test]
    fn idle_buckets_are_swept() {
        let limiter = RateLimiter::new(1_000, 1).unwrap();
        let t0 = Instant::now();
        for key in 0..FIRST_SWEEP {
            limiter.take_at(key, 1, t0).unwrap();
        }
        limiter
            .take_at(usize::MAX, 1, t0 + Duration::from_secs(1))
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().map.len(), 1);
    }
}
