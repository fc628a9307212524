//! Rate limiting of authentication attempts (client secrets, passwords, device user codes),
//! per key (an address, a session).
//!
//! An attempt is counted *before* the credential is checked and refunded when it succeeds, so
//! concurrent guesses cannot all slip in before the first failure is counted. A key that used
//! up its budget is refused outright until one attempt has refilled, so a correct guess made
//! while blocked is not confirmed either. Time comes from the engine's injected clock.

use std::hash::Hash;
use std::net::IpAddr;

use dashmap::DashMap;

pub struct AttemptLimiter<K = IpAddr>
where
    K: Clone + Eq + Hash,
{
    capacity: f64,
    /// Attempts regained per second.
    refill: f64,
    buckets: DashMap<K, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
    blocked_until: i64,
}

impl<K: Clone + Eq + Hash> AttemptLimiter<K> {
    /// `attempts` failures a minute per key.
    pub fn per_minute(attempts: u32) -> Self {
        let capacity = f64::from(attempts.max(1));
        Self {
            capacity,
            refill: capacity / 60.0,
            buckets: DashMap::new(),
        }
    }

    /// Takes one attempt from `key`'s budget; `Err(until)` while it is blocked.
    pub fn acquire(&self, key: K, now: i64) -> Result<(), i64> {
        let mut b = self.buckets.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
            blocked_until: i64::MIN,
        });
        if b.blocked_until > now {
            return Err(b.blocked_until);
        }
        b.tokens = self.refilled(&b, now);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / self.refill).ceil() as i64;
        b.blocked_until = now + wait.max(1);
        Err(b.blocked_until)
    }

    /// Gives back an attempt that succeeded.
    pub fn refund(&self, key: &K) {
        if let Some(mut b) = self.buckets.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.capacity);
        }
    }

    fn refilled(&self, b: &Bucket, now: i64) -> f64 {
        let elapsed = now.saturating_sub(b.at).max(0) as f64;
        (b.tokens + elapsed * self.refill).min(self.capacity)
    }

    /// Forgets keys that are not blocked and have their whole budget back.
    pub fn prune(&self, now: i64) {
        self.buckets
            .retain(|_, b| b.blocked_until > now || self.refilled(b, now) < self.capacity);
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_budget_and_only_that_key() {
        let l = AttemptLimiter::per_minute(2);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        assert_eq!(l.acquire(a, 100), Ok(()));
        assert_eq!(l.acquire(a, 100), Ok(()));
        let until = l.acquire(a, 100).expect_err("blocked");
        assert!(until > 100);
        assert!(l.acquire(a, until - 1).is_err(), "still blocked");
        assert!(l.acquire(b, 100).is_ok());
        assert!(l.acquire(a, 100 + 120).is_ok());
    }

    #[test]
    fn successes_are_refunded() {
        let l = AttemptLimiter::per_minute(1);
        let a: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..10 {
            assert_eq!(l.acquire(a, 100), Ok(()));
            l.refund(&a);
        }
        l.prune(100);
        assert!(l.is_empty(), "a full bucket is forgotten");
    }
}
