//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends, each client it signed
//! in to that has a `backchannel_logout_uri` gets a signed `logout_token` POSTed through the
//! outbound fetcher (DESIGN section 14).
//!
//! The queue is in memory, on the node where the logout happened: a delivery is a notification
//! about a session that is already ended in the store, so losing the pending retries of a node
//! that stops costs a relying party a stale local session, never access (its refresh families
//! are revoked in the store). Deliveries never hold up the browser's response: the logout only
//! queues them and wakes the node's maintenance loop, which sends them on its own task. A
//! failed delivery is retried on the engine's clock after 10 s, 30 s, 2 min, 10 min and 30 min,
//! each time with a freshly signed token; then it is given up and logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::engine::Engine;
use crate::fetch::OutboundRequest;
use crate::ids::ClientId;

/// The event a logout token carries (Back-Channel Logout 1.0 section 2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Seconds to wait after the n-th failed attempt; a delivery is given up after the last.
pub const RETRY_AFTER: [i64; 5] = [10, 30, 120, 600, 1800];
/// How long a logout token is good for.
const TOKEN_TTL: i64 = 120;
/// The most deliveries one node keeps waiting (a flood of logouts cannot grow it unbounded).
const MAX_PENDING: usize = 10_000;

/// One client to tell about one ended session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingLogout {
    pub client_id: ClientId,
    pub uri: String,
    pub sub: String,
    pub sid: String,
    /// Failed attempts so far.
    pub failures: usize,
    /// When to try next (engine clock).
    pub due: i64,
}

#[derive(Default)]
pub(crate) struct LogoutQueue {
    pending: std::sync::Mutex<Vec<PendingLogout>>,
    /// Set while a round of deliveries runs, so rounds never overlap.
    running: AtomicBool,
    /// Wakes the maintenance loop when a logout queued something.
    pub(crate) wake: tokio::sync::Notify,
}

impl LogoutQueue {
    pub(crate) fn push(&self, item: PendingLogout) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.len() >= MAX_PENDING {
            tracing::warn!(client_id = %item.client_id, "back-channel logout queue full; dropped");
            return;
        }
        pending.push(item);
        drop(pending);
        self.wake.notify_one();
    }

    /// Removes and returns every delivery due at `now`.
    fn take_due(&self, now: i64) -> Vec<PendingLogout> {
        let Ok(mut pending) = self.pending.lock() else {
            return Vec::new();
        };
        let (due, later) = pending.drain(..).partition(|p| p.due <= now);
        *pending = later;
        due
    }

    /// How many deliveries wait (for tests and metrics).
    pub(crate) fn len(&self) -> usize {
        self.pending.lock().map_or(0, |p| p.len())
    }
}

#[derive(Serialize)]
struct LogoutTokenClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: &'a str,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

impl Engine {
    /// A signed `logout_token` for one client and session (never a `nonce`).
    pub(crate) fn logout_token(&self, p: &PendingLogout) -> Result<String, crate::OAuthError> {
        let now = self.clock.now();
        let jti = self.random_id::<16>()?;
        let claims = LogoutTokenClaims {
            iss: &self.config.issuer,
            aud: p.client_id.as_str(),
            iat: now,
            exp: now + TOKEN_TTL,
            jti: &jti,
            sub: &p.sub,
            sid: &p.sid,
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
        };
        self.sign_logout_token(&claims)
    }

    /// Wakes when a logout queued back-channel deliveries (the maintenance loop waits on it).
    pub fn logout_wake(&self) -> &tokio::sync::Notify {
        &self.logouts.wake
    }

    /// Back-channel deliveries waiting for their first attempt or a retry.
    pub fn pending_logouts(&self) -> usize {
        self.logouts.len()
    }

    /// Starts a round of due deliveries on its own task, unless one is running.
    pub fn deliver_due_logouts(self: &Arc<Self>) {
        if self.logouts.len() == 0 || self.logouts.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let mut sends = tokio::task::JoinSet::new();
            for p in engine.logouts.take_due(engine.clock.now()) {
                let engine = engine.clone();
                sends.spawn(async move { engine.deliver(p).await });
            }
            while sends.join_next().await.is_some() {}
            engine.logouts.running.store(false, Ordering::Release);
        });
    }

    async fn deliver(&self, mut p: PendingLogout) {
        let Some(fetcher) = self.outbound.get() else {
            return;
        };
        let outcome = match self.logout_token(&p) {
            Ok(token) => {
                let request = OutboundRequest {
                    url: p.uri.clone(),
                    accept: "*/*",
                    form: Some(vec![("logout_token".to_owned(), token)]),
                };
                fetcher
                    .fetch(request)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Err(_) => Err("could not sign the logout token".to_owned()),
        };
        match outcome {
            Ok(()) => {
                metrics::counter!("tollgate_backchannel_logouts_total", "outcome" => "delivered")
                    .increment(1);
                tracing::info!(client_id = %p.client_id, attempt = p.failures + 1, "back-channel logout delivered");
            }
            Err(why) => match RETRY_AFTER.get(p.failures) {
                Some(wait) => {
                    tracing::info!(client_id = %p.client_id, error = %why, retry_in = wait, "back-channel logout failed; will retry");
                    p.failures += 1;
                    p.due = self.clock.now() + wait;
                    self.logouts.push(p);
                }
                None => {
                    metrics::counter!("tollgate_backchannel_logouts_total", "outcome" => "given_up")
                        .increment(1);
                    tracing::warn!(client_id = %p.client_id, error = %why, "back-channel logout given up");
                }
            },
        }
    }
}
