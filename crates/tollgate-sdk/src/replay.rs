//! Where DPoP proof `jti`s are remembered, so a captured proof cannot be replayed.

use std::collections::HashMap;
use std::sync::Mutex;

/// Remembers DPoP proofs a validator has accepted (RFC 9449 section 11.1).
///
/// The default, [`MemoryReplayCache`], lives in one process: behind a load balancer with
/// several replicas a proof captured at one could be replayed once at each other replica
/// within its minute of validity. Give every replica's validator the same store (an
/// implementation over Redis `SET key 1 NX EXAT exp`, say) with
/// [`ValidatorBuilder::replay_cache`](crate::ValidatorBuilder::replay_cache).
///
/// It is called on the request path for every DPoP request, synchronously: keep it quick.
pub trait ReplayCache: Send + Sync {
    /// Records `jti` (a proof's identity: the key thumbprint and the proof's `jti`) until
    /// `exp` (Unix seconds), and answers whether it was new. `false` refuses the proof, so an
    /// implementation that cannot tell should answer `false`.
    fn check_and_remember(&self, jti: &str, exp: i64) -> bool;
}

/// The in-process default: a map of recent proofs, expired entries dropped as it goes.
#[derive(Debug, Default)]
pub struct MemoryReplayCache {
    seen: Mutex<HashMap<String, i64>>,
}

impl MemoryReplayCache {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_remember(&self, jti: &str, exp: i64) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // A poisoned lock means another check panicked: refuse rather than guess.
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        seen.retain(|_, until| *until > now);
        seen.insert(jti.to_owned(), exp).is_none()
    }
}
