//! `spawn_app()`: a real Tollgate on `127.0.0.1:0` over a fresh database, plus helpers to
//! verify what it issues. Everything the tests share lives below this module and is
//! re-exported here: `use crate::helpers::{…}` reaches all of it.

pub mod authenticator;
pub mod binary;
pub mod browser;
pub mod chromium;
pub mod clients;
pub mod device;
pub mod documents;
pub mod ha_cluster;
pub mod keys;
pub mod oauth;
pub mod oidc;
pub mod proxy;
pub mod smtp;

pub use authenticator::base32_decode;
pub use browser::{Browser, Visit, hidden, html_csp, location, page_with, query_param};
pub use clients::{PASSWORD, REDIRECT, VERIFIER, bootstrap_app, password_user};
pub use device::DEVICE_GRANT;
pub use keys::{ClientKey, ath, key_app, key_app_with};
pub use oauth::{
    assert_refresh_refused, authorize_url, basic_json, code_flow, code_flow_with,
    code_refresh_token, error_of, get_code, introspect_at, json, jwt_claims, post_basic, read_code,
    redeem, redeem_to, refresh, refresh_token_in, retry_later, rotated, successors,
};

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tempfile::TempDir;
use tollgate::config::Config;
use tollgate::server::{self, RunningServer};
use tollgate_core::ids::ClientId;
use tollgate_core::model::Account;

pub use tollgate_testkit::{Backend, fresh_database};

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub server: RunningServer,
    pub database_url: String,
    pub dir: TempDir,
    pub account: Account,
    pub auth_token: String,
    /// The server's clock: tests move it past an expiry instead of sleeping.
    pub clock: tollgate_core::OffsetClock,
    /// The server's random generator, which a test can make fail.
    pub rng: std::sync::Arc<SwitchableRng>,
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = fresh_database(backend, &dir).await?;
    Some(spawn_on(database_url, dir, tweak).await)
}

/// Starts a server on an existing database (a second node shares the first one's `dir` key).
pub async fn spawn_on(
    database_url: String,
    dir: TempDir,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: Some(database_url.clone()),
        data_dir: dir.path().to_path_buf(),
        sync_interval_ms: 200,
        // Test servers serve client JWKS from loopback listeners; tests of the outbound
        // policy turn this back off.
        outbound_allow_loopback_http: true,
        ..Config::default()
    };
    tweak(&mut config);
    let clock = tollgate_core::OffsetClock::new();
    let rng = std::sync::Arc::new(SwitchableRng::default());
    let deps = server::Deps {
        clock: std::sync::Arc::new(clock.clone()),
        rng: rng.clone(),
    };
    let server = server::start_with(config, deps)
        .await
        .expect("server starts");
    let (account, token) = match server.admin().bootstrap().await.expect("bootstrap") {
        Some((a, t)) => (a, t.expose().to_owned()),
        None => {
            let (a, t) = server
                .admin()
                .create_account(None, None)
                .await
                .expect("account");
            (a, t.expose().to_owned())
        }
    };
    server.engine.sync().await.expect("sync");
    TestApp {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        server,
        database_url,
        dir,
        account,
        auth_token: token,
        clock,
        rng,
    }
}

impl TestApp {
    /// Another node on this app's database, as behind one load balancer: the same
    /// key-encryption key and public issuer URL, then whatever `tweak` sets.
    pub async fn second_node(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let kek = std::fs::read_to_string(self.dir.path().join("key-encryption.key"));
        let kek = kek.expect("kek");
        let dir = tempfile::tempdir().expect("dir");
        spawn_on(self.database_url.clone(), dir, |c| {
            c.key_encryption_key = Some(kek);
            c.engine.issuer = self.base.clone();
            tweak(c);
        })
        .await
    }
}

/// The system generator, until a test makes it fail.
#[derive(Default)]
pub struct SwitchableRng {
    inner: tollgate_core::SystemRng,
    failing: std::sync::atomic::AtomicBool,
}

impl SwitchableRng {
    pub fn fail(&self, yes: bool) {
        self.failing.store(yes, std::sync::atomic::Ordering::SeqCst);
    }
}

impl tollgate_core::Rng for SwitchableRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), tollgate_core::clock::RngError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(tollgate_core::clock::RngError);
        }
        self.inner.fill(dest)
    }
}

pub struct TestClient {
    pub id: ClientId,
    pub secret: String,
}

impl TestApp {
    /// Moves the server's clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn jwks(&self) -> JwkSet {
        self.http
            .get(self.url("/oauth/jwks"))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json")
    }

    /// Verifies an access token's signature against the served JWKS and returns its claims.
    pub async fn verify_access_token(&self, token: &str) -> Value {
        let header = jsonwebtoken::decode_header(token).expect("jwt header");
        assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 typ");
        let kid = header.kid.expect("kid");
        let jwks = self.jwks().await;
        let jwk = jwks.find(&kid).expect("signing key is published");
        assert_eq!(
            jwk.common.key_algorithm.map(|a| a.to_string()),
            Some(format!("{:?}", header.alg)),
            "JWK alg matches"
        );
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[self.base.as_str()]);
        v.validate_aud = false;
        v.set_required_spec_claims(&["exp", "iss", "sub", "aud", "iat"]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
            .expect("token verifies against the JWKS")
            .claims
    }

    /// The access token of a token response, verified: its claims.
    pub async fn verify_token_of(&self, body: &Value) -> Value {
        let token = body["access_token"].as_str().expect("token");
        self.verify_access_token(token).await
    }

    /// A request to the account admin API (`/v1/Account/*`) as the test account.
    pub fn as_account(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        req.basic_auth(self.account.sid.as_str(), Some(&self.auth_token))
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.http.get(self.url(path)).send().await.expect("request");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON body")
    }

    pub async fn get_json_with_bearer(&self, path: &str, token: &str) -> Value {
        let resp = self.get_with_bearer(path, token).await;
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("JSON body")
    }
}

/// Polls `check` until it holds or `limit` passes; returns how long it took.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
