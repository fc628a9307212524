//! Time and randomness enter the engine through these traits so tests can control them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;

    fn now_datetime(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.now()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    pub fn new(at: i64) -> Self {
        Self(Arc::new(AtomicI64::new(at)))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The system clock moved by a settable offset: tests advance it past an expiry instead of
/// sleeping, while everything that expects time to pass still sees it pass.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock(Arc<AtomicI64>);

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.0.load(Ordering::SeqCst)
    }
}

/// The random generator could not supply bytes: whatever needed them is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RngError;

pub trait Rng: Send + Sync + 'static {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RngError>;
}

#[derive(Debug, Default)]
pub struct SystemRng(SystemRandom);

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RngError> {
        // Fail closed: no secret, id or nonce is ever made from a buffer the kernel did not fill.
        self.0.fill(dest).map_err(|_| {
            tracing::error!("system random generator failed");
            RngError
        })
    }
}

/// Random bytes as an array, for ids and secrets.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> Result<[u8; N], RngError> {
    let mut buf = [0u8; N];
    rng.fill(&mut buf)?;
    Ok(buf)
}
