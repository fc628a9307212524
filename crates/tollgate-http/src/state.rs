use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tollgate_core::client_auth::AuthenticatedClient;
use tollgate_core::engine::TokenRequest;
use tollgate_core::token::Issued;
use tollgate_core::{Engine, ErrorKind, OAuthError};

use crate::dialect::Registry;
use crate::limiter::AttemptLimiter;
use crate::ops::LoggedClient;
use crate::throttle::Throttle;

/// The demo app's credentials, set by `serve --demo` and shown on its callback page.
#[derive(Debug, Clone)]
pub struct DemoApp {
    pub client_id: String,
    pub client_secret: String,
}

/// Open registrations an address may make per minute unless configured otherwise.
pub const DEFAULT_OPEN_REGISTRATIONS_PER_MINUTE: u32 = 10;

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
    /// Request-rate limits on the token, device, revocation and introspection routes.
    pub throttle: Arc<Throttle>,
    /// Reverse proxies that may name the client, and the one header they name it in.
    pub proxies: crate::client_ip::ProxyPolicy,
    /// The OpenAPI document, rendered once.
    pub openapi: Arc<str>,
    /// When set, `/metrics` answers only this bearer token.
    pub metrics_token: Option<Arc<str>>,
    /// The demo app of `serve --demo`, for its callback page.
    pub demo: Arc<std::sync::RwLock<Option<DemoApp>>>,
    /// RFC 7591: where open registrations land, and whether they may be confidential.
    pub registration: Arc<tollgate_core::admin::RegistrationSettings>,
    /// Open registrations per minute per address.
    pub registration_limiter: Arc<AttemptLimiter>,
    /// Password reset requests, per address (`ip:…`) and per email (`email:…`).
    pub reset_limiter: Arc<AttemptLimiter<String>>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, auth_failures_per_minute: u32) -> Self {
        Self {
            engine,
            auth_limiter: Arc::new(AttemptLimiter::per_minute(auth_failures_per_minute)),
            device_code_limiter: Arc::new(AttemptLimiter::per_minute(auth_failures_per_minute)),
            dialects: Arc::new(Registry::default()),
            throttle: Arc::new(Throttle::new(None, None)),
            proxies: crate::client_ip::ProxyPolicy::default(),
            openapi: Arc::from("{}"),
            metrics_token: None,
            demo: Arc::default(),
            registration: Arc::default(),
            registration_limiter: Arc::new(AttemptLimiter::per_minute(
                DEFAULT_OPEN_REGISTRATIONS_PER_MINUTE,
            )),
            reset_limiter: Arc::new(AttemptLimiter::per_minute(5)),
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

    /// Runs a token request through the rate limits, the failure limiter and the engine. The
    /// per-client limit and the access log's client id key on the client that authenticated.
    pub async fn token(
        &self,
        peer: SocketAddr,
        req: TokenRequest,
        logged: &LoggedClient,
    ) -> Result<Issued, OAuthError> {
        let now = self.now();
        self.throttle.admit_ip(peer.ip(), now)?;
        let admit = |client: &AuthenticatedClient| {
            logged.set(client.id().as_str());
            self.throttle.admit_client(client.id(), now)
        };
        // Boxed at the source: the grants' future is large, and every future that held it
        // inline would copy it each time it moved.
        let grant = Box::pin(self.engine.token_admitted(req, admit));
        self.limited(peer, grant).await
    }

    /// Authenticates the client of a device, revocation, introspection or PAR request: the
    /// address limit first, the failure limiter around the check, then the client's limit.
    pub async fn authenticated(
        &self,
        peer: SocketAddr,
        auth: impl std::future::Future<Output = Result<AuthenticatedClient, OAuthError>>,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let now = self.now();
        self.throttle.admit_ip(peer.ip(), now)?;
        let client = self.limited(peer, auth).await?;
        self.throttle.admit_client(client.id(), now)?;
        Ok(client)
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
            metrics::counter!("tollgate_rate_limited_total", "limit" => "auth_failures")
                .increment(1);
            return Err(too_many(until, now));
        }
        let result = call.await;
        if matches!(&result, Err(e) if e.kind == ErrorKind::InvalidClient) {
            metrics::counter!("tollgate_client_auth_failures_total").increment(1);
        } else {
            self.auth_limiter.refund(&ip);
        }
        result
    }

    /// The public URL of a path of ours: what a DPoP proof's `htu` and an assertion's `aud`
    /// name.
    pub fn endpoint_url(&self, path: &str) -> String {
        // Not `format!`: this runs for every authenticated request.
        let issuer = self.engine.issuer();
        let mut url = String::with_capacity(issuer.len() + path.len());
        url.push_str(issuer);
        url.push_str(path);
        url
    }

    /// Tells the engine which endpoint a client authenticates at (an assertion's `aud`).
    pub fn bind_request(
        &self,
        client: &mut Option<tollgate_core::engine::ClientAuth>,
        input: &crate::extract::Input,
    ) {
        if let Some(c) = client {
            c.endpoint = Some(self.endpoint_url(&input.path));
        }
    }

    /// The request's DPoP proof, with the method and URL it must name.
    pub fn dpop_proof(
        &self,
        method: &str,
        input: &crate::extract::Input,
    ) -> Option<tollgate_core::dpop::DpopProof> {
        input
            .dpop
            .clone()
            .map(|jwt| tollgate_core::dpop::DpopProof {
                jwt,
                method: method.to_owned(),
                url: self.endpoint_url(&input.path),
            })
    }

    /// Adds a fresh `DPoP-Nonce` (RFC 9449 section 8) when server nonces are on.
    pub fn with_dpop_nonce(
        &self,
        mut resp: axum::response::Response,
        wanted: bool,
    ) -> axum::response::Response {
        if wanted
            && let Some(nonce) = self.engine.dpop_nonce()
            && let Ok(v) = axum::http::HeaderValue::from_str(&nonce)
        {
            resp.headers_mut().insert("dpop-nonce", v);
        }
        resp
    }

    /// Forgets idle limiter entries; called by the maintenance loop.
    pub fn prune_limiters(&self, now: i64) {
        self.throttle.prune();
        self.auth_limiter.prune(now);
        self.device_code_limiter.prune(now);
        self.registration_limiter.prune(now);
        self.reset_limiter.prune(now);
        metrics::gauge!("tollgate_cache_entries", "cache" => "auth_limiter")
            .set(self.auth_limiter.len() as f64);
        metrics::gauge!("tollgate_cache_entries", "cache" => "device_code_limiter")
            .set(self.device_code_limiter.len() as f64);
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
