//! Tokens issued per account over the last day, counted in memory by minute for the console's
//! overview. Each node counts what it issued itself; nothing is stored.

use std::collections::VecDeque;

use dashmap::DashMap;

use crate::ids::AccountSid;

const MINUTES_PER_DAY: i64 = 24 * 60;

/// `(minute, tokens issued in it)`, oldest first, per account.
#[derive(Default)]
pub struct IssueCounts {
    by_account: DashMap<AccountSid, VecDeque<(i64, u64)>>,
}

/// Tokens an account's apps were issued recently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Issued {
    pub last_hour: u64,
    pub last_day: u64,
}

impl IssueCounts {
    pub fn record(&self, account: &AccountSid, now: i64) {
        let minute = now.div_euclid(60);
        // The account is cloned only the first time it issues (the hot path allocates nothing).
        let mut entry = match self.by_account.get_mut(account) {
            Some(e) => e,
            None => self.by_account.entry(account.clone()).or_default(),
        };
        match entry.back_mut() {
            // A clock that stepped back counts into the newest minute instead of reordering.
            Some((m, n)) if *m >= minute => *n += 1,
            _ => entry.push_back((minute, 1)),
        }
        while entry
            .front()
            .is_some_and(|(m, _)| *m <= minute - MINUTES_PER_DAY)
        {
            entry.pop_front();
        }
    }

    pub fn counts(&self, account: &AccountSid, now: i64) -> Issued {
        let minute = now.div_euclid(60);
        let Some(entry) = self.by_account.get(account) else {
            return Issued::default();
        };
        let sum = |window: i64| -> u64 {
            entry
                .iter()
                .filter(|(m, _)| *m > minute - window && *m <= minute)
                .map(|(_, n)| n)
                .sum()
        };
        Issued {
            last_hour: sum(60),
            last_day: sum(MINUTES_PER_DAY),
        }
    }

    /// Forgets accounts that issued nothing in the last day.
    pub fn prune(&self, now: i64) {
        let minute = now.div_euclid(60);
        self.by_account
            .retain(|_, e| e.back().is_some_and(|(m, _)| *m > minute - MINUTES_PER_DAY));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_hour_and_day() {
        let rng = crate::SystemRng::default();
        let a = AccountSid::generate(&rng).unwrap();
        let b = AccountSid::generate(&rng).unwrap();
        let c = IssueCounts::default();
        let t0 = 1_000_000_020;
        c.record(&a, t0);
        c.record(&a, t0 + 30);
        c.record(&b, t0);
        let two_hours = t0 + 2 * 3600;
        c.record(&a, two_hours);
        assert_eq!(
            c.counts(&a, two_hours),
            Issued {
                last_hour: 1,
                last_day: 3
            }
        );
        assert_eq!(c.counts(&b, two_hours).last_day, 1);
        let next_day = two_hours + 23 * 3600;
        assert_eq!(
            c.counts(&a, next_day),
            Issued {
                last_hour: 0,
                last_day: 1
            }
        );
        c.prune(next_day);
        assert_eq!(c.counts(&b, next_day), Issued::default());
        assert_eq!(c.by_account.len(), 1);
    }
}
