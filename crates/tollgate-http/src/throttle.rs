//! Request-rate limits per client and per source address on the token, device, revocation and
//! introspection routes (GCRA via governor). The address limit is checked before the engine
//! runs; the client limit as soon as the client has authenticated (never on a `client_id` the
//! request merely names, which an assertion-only request may leave out), so a burst above
//! either limit never reaches the signer or the store.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tollgate_core::ids::ClientId;
use tollgate_core::{ErrorKind, OAuthError};

/// Sustained requests per second and the burst allowed above it, per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

pub struct Throttle {
    by_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_client: Option<DefaultKeyedRateLimiter<ClientId>>,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    limit: Option<RateLimit>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let limit = limit?;
    let rate = NonZeroU32::new(limit.per_second)?;
    let burst = NonZeroU32::new(limit.burst.max(limit.per_second)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl Throttle {
    /// `None` turns a limit off.
    pub fn new(per_ip: Option<RateLimit>, per_client: Option<RateLimit>) -> Self {
        Self {
            by_ip: limiter(per_ip),
            by_client: limiter(per_client),
            clock: DefaultClock::default(),
        }
    }

    /// Admits one request from `ip`, or says when to come back.
    pub fn admit_ip(&self, ip: IpAddr, now: i64) -> Result<(), OAuthError> {
        match &self.by_ip {
            Some(l) => l.check_key(&ip).map_err(|n| self.refused(n, "ip", now)),
            None => Ok(()),
        }
    }

    /// Admits one request of an authenticated client (so only real clients get a bucket).
    pub fn admit_client(&self, client: &ClientId, now: i64) -> Result<(), OAuthError> {
        match &self.by_client {
            Some(l) => l
                .check_key(client)
                .map_err(|n| self.refused(n, "client", now)),
            None => Ok(()),
        }
    }

    fn refused(
        &self,
        not_until: governor::NotUntil<governor::clock::QuantaInstant>,
        which: &'static str,
        now: i64,
    ) -> OAuthError {
        let wait = not_until
            .wait_time_from(self.clock.now())
            .as_secs_f64()
            .ceil() as i64;
        let wait = wait.max(1);
        metrics::counter!("tollgate_rate_limited_total", "limit" => which).increment(1);
        OAuthError::new(
            ErrorKind::TooManyRequests {
                until: now + wait,
                retry_after: wait,
            },
            "too many requests; slow down and retry after the indicated time",
        )
    }

    pub fn prune(&self) {
        if let Some(l) = &self.by_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.by_client {
            l.retain_recent();
        }
    }
}
