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

pub trait Rng: Send + Sync + 'static {
    fn fill(&self, dest: &mut [u8]);
}

#[derive(Debug, Default)]
pub struct SystemRng(SystemRandom);

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        // The OS generator only fails when the kernel cannot supply entropy at all; aws-lc
        // aborts in that case itself, so a failure here cannot be observed in practice.
        if self.0.fill(dest).is_err() {
            tracing::error!("system random generator failed");
        }
    }
}

/// Random bytes as an array, for ids and secrets.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut buf = [0u8; N];
    rng.fill(&mut buf);
    buf
}
