use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tollgate_core::engine::TokenRequest;
use tollgate_core::token::Issued;
use tollgate_core::{Engine, ErrorKind, OAuthError};

use crate::limiter::AuthFailureLimiter;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub auth_limiter: Arc<AuthFailureLimiter>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, auth_failures_per_minute: u32) -> Self {
        Self {
            engine,
            auth_limiter: Arc::new(AuthFailureLimiter::per_minute(auth_failures_per_minute)),
        }
    }

    /// Runs a token request through the failure rate limiter and the engine.
    pub async fn token(&self, peer: SocketAddr, req: TokenRequest) -> Result<Issued, OAuthError> {
        let ip: IpAddr = peer.ip();
        let now = self.engine.clock().now();
        if let Err(until) = self.auth_limiter.check(ip, now) {
            return Err(too_many(until));
        }
        let result = self.engine.token(req).await;
        if let Err(e) = &result
            && e.kind == ErrorKind::InvalidClient
            && let Some(until) = self.auth_limiter.failed(ip, now)
        {
            return Err(too_many(until));
        }
        result
    }
}

fn too_many(until: i64) -> OAuthError {
    OAuthError::new(
        ErrorKind::TooManyRequests { until },
        "too many failed authentication attempts from this address; try again later",
    )
}
