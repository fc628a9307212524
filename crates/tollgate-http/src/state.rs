use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tollgate_core::engine::TokenRequest;
use tollgate_core::token::Issued;
use tollgate_core::{Engine, ErrorKind, OAuthError};

use crate::dialect::Registry;
use crate::limiter::AttemptLimiter;
use crate::pages::demo::DemoApp;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// Client secrets and passwords, per IP address.
    pub auth_limiter: Arc<AttemptLimiter>,
    /// Device user codes, per IP address and per browser session, on every route taking one.
    pub device_code_limiter: Arc<AttemptLimiter<String>>,
    /// The registered dialects, for the pages and fallbacks they share.
    pub dialects: Arc<Registry>,
    /// Peers whose `X-Forwarded-For` / `Forwarded` name the client (reverse proxies).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// The demo app of `serve --demo`, for its callback page.
    pub demo: Arc<std::sync::RwLock<Option<DemoApp>>>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, auth_failures_per_minute: u32) -> Self {
        Self {
            engine,
            auth_limiter: Arc::new(AttemptLimiter::per_minute(auth_failures_per_minute)),
            device_code_limiter: Arc::new(AttemptLimiter::per_minute(auth_failures_per_minute)),
            dialects: Arc::new(Registry::default()),
            trusted_proxies: Arc::from(Vec::new()),
            demo: Arc::default(),
        }
    }

    pub fn demo_app(&self) -> Option<DemoApp> {
        self.demo.read().ok().and_then(|d| d.clone())
    }

    /// Shows the demo app's credentials on `/demo/callback`.
    pub fn set_demo_app(&self, app: DemoApp) {
        if let Ok(mut d) = self.demo.write() {
            *d = Some(app);
        }
    }

    pub fn now(&self) -> i64 {
        self.engine.clock().now()
    }

    /// Runs a token request through the failure rate limiter and the engine.
    pub async fn token(&self, peer: SocketAddr, req: TokenRequest) -> Result<Issued, OAuthError> {
        self.limited(peer, self.engine.token(req)).await
    }

    /// Runs any client-authenticating engine call through the failure rate limiter.
    pub async fn limited<T>(
        &self,
        peer: SocketAddr,
        call: impl std::future::Future<Output = Result<T, OAuthError>>,
    ) -> Result<T, OAuthError> {
        let ip: IpAddr = peer.ip();
        let now = self.now();
        // Counted before the secret is checked; refunded unless authentication failed.
        if let Err(until) = self.auth_limiter.acquire(ip, now) {
            return Err(too_many(until, now));
        }
        let result = call.await;
        if !matches!(&result, Err(e) if e.kind == ErrorKind::InvalidClient) {
            self.auth_limiter.refund(&ip);
        }
        result
    }

    /// Forgets idle limiter entries; called by the maintenance loop.
    pub fn prune_limiters(&self, now: i64) {
        self.auth_limiter.prune(now);
        self.device_code_limiter.prune(now);
    }
}

fn too_many(until: i64, now: i64) -> OAuthError {
    OAuthError::new(
        ErrorKind::TooManyRequests {
            until,
            retry_after: (until - now).max(1),
        },
        "too many failed authentication attempts from this address; try again later",
    )
}
