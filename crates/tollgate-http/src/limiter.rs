//! Rate limiting of failed client authentication, per client IP address.
//!
//! An address that exceeds its budget of failures is refused outright until the budget
//! refills, so a correct guess made while blocked is not confirmed either.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use dashmap::DashMap;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct AuthFailureLimiter<K = IpAddr>
where
    K: Clone + Eq + Hash,
{
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    /// Blocked key → Unix time it may try again.
    blocked: DashMap<K, i64>,
}

impl<K: Clone + Eq + Hash> AuthFailureLimiter<K> {
    pub fn per_minute(failures: u32) -> Self {
        let n = NonZeroU32::new(failures.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
            blocked: DashMap::new(),
        }
    }

    /// `Err(until)` while the address is blocked.
    pub fn check(&self, ip: K, now: i64) -> Result<(), i64> {
        match self.blocked.get(&ip).map(|u| *u) {
            Some(until) if until > now => Err(until),
            Some(_) => {
                self.blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a failure; `Some(until)` when it used up the address's budget.
    pub fn failed(&self, ip: K, now: i64) -> Option<i64> {
        match self.limiter.check_key(&ip) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(self.clock.now())
                    .as_secs_f64()
                    .ceil() as i64;
                let until = now + wait.max(1);
                self.blocked.insert(ip, until);
                Some(until)
            }
        }
    }

    /// Forgets idle addresses; called periodically.
    pub fn prune(&self, now: i64) {
        self.limiter.retain_recent();
        self.blocked.retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_budget_and_only_that_address() {
        let l = AuthFailureLimiter::per_minute(2);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        assert_eq!(l.failed(a, 100), None);
        assert_eq!(l.failed(a, 100), None);
        let until = l.failed(a, 100);
        assert!(until.is_some_and(|u| u > 100));
        assert!(l.check(a, 100).is_err());
        assert!(l.check(b, 100).is_ok());
        assert!(l.check(a, 100 + 120).is_ok());
    }
}
