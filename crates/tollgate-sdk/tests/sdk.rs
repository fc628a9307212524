//! The SDK against real Tollgate servers over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/messages_api.rs"]
#[allow(dead_code)]
mod messages_api;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tempfile::TempDir;
use tollgate::config::Config;
use tollgate::server::{self, Deps, RunningServer};
use tollgate_core::admin::ClientSpec;
use tollgate_core::model::{GrantType, TokenFormat};
use tollgate_core::{OffsetClock, SystemRng};
use tollgate_sdk::{
    Authenticated, Dialect, RequireToken, TokenProvider, ValidationError, Validator,
};

struct Tollgate {
    server: RunningServer,
    base: String,
    account: String,
    _dir: TempDir,
}

struct App {
    id: String,
    secret: String,
}

async fn tollgate() -> Tollgate {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: Some(format!("sqlite://{}", dir.path().join("t.db").display())),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let deps = Deps {
        clock: Arc::new(OffsetClock::new()),
        rng: Arc::new(SystemRng::default()),
    };
    let server = server::start_with(config, deps).await.unwrap();
    let (account, _) = server.admin().bootstrap().await.unwrap().unwrap();
    let base = format!("http://{}", server.addr);
    Tollgate {
        server,
        base,
        account: account.sid.to_string(),
        _dir: dir,
    }
}

impl Tollgate {
    /// Another node on this server's database and key, under another issuer name.
    async fn impostor(&self, issuer: &str) -> (RunningServer, String) {
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: Some(format!(
                "sqlite://{}",
                self._dir.path().join("t.db").display()
            )),
            data_dir: self._dir.path().to_path_buf(),
            ..Config::default()
        };
        config.engine.issuer = issuer.to_owned();
        let deps = Deps {
            clock: Arc::new(OffsetClock::new()),
            rng: Arc::new(SystemRng::default()),
        };
        let server = server::start_with(config, deps).await.unwrap();
        let base = format!("http://{}", server.addr);
        (server, base)
    }

    async fn app(&self, tweak: impl FnOnce(&mut ClientSpec)) -> App {
        let mut spec = ClientSpec {
            friendly_name: "sdk".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["read".into(), "write".into()],
            ..ClientSpec::default()
        };
        tweak(&mut spec);
        let (c, s) = self.server.admin().create_client(spec).await.unwrap();
        self.server.engine.sync().await.unwrap();
        App {
            id: c.id.to_string(),
            secret: s.unwrap().expose().to_owned(),
        }
    }

    fn provider(&self, app: &App, dialect: Dialect) -> TokenProvider {
        TokenProvider::builder(&self.base)
            .client_credentials(&app.id, &app.secret)
            .dialect(dialect)
            .build()
            .unwrap()
    }

    async fn validator(&self) -> Validator {
        Validator::discover(&self.base)
            .audience(&self.base)
            .jwks_refetch_interval(Duration::ZERO)
            .build()
            .await
            .unwrap()
    }
}

/// Counts token requests on their way to Tollgate; answers 429 to the first `throttle` of them.
async fn counting_proxy(target: String, throttle: usize) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    #[derive(Clone)]
    struct Proxy {
        target: String,
        count: Arc<AtomicUsize>,
        throttle: usize,
        http: reqwest::Client,
    }
    async fn forward(
        State(p): State<Proxy>,
        headers: axum::http::HeaderMap,
        body: String,
    ) -> Response {
        let n = p.count.fetch_add(1, Ordering::SeqCst);
        if n < p.throttle {
            return (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "{\"error\":\"too_many_requests\"}",
            )
                .into_response();
        }
        let mut req = p
            .http
            .post(format!("{}/oauth/token", p.target))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(a) = headers.get("authorization") {
            req = req.header("authorization", a.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (axum::http::StatusCode::from_u16(status).unwrap(), text).into_response()
    }
    let proxy = Proxy {
        target,
        count: count.clone(),
        throttle,
        http: reqwest::Client::new(),
    };
    let app = Router::new()
        .route("/oauth/token", post(forward))
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_caches_and_flies_once() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let (proxy, count) = counting_proxy(t.base.clone(), 0).await;
    let provider = TokenProvider::builder(&proxy)
        .client_credentials(&app.id, &app.secret)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let p = provider.clone();
        tasks.push(tokio::spawn(async move {
            p.token().await.unwrap().secret().to_owned()
        }));
    }
    let mut tokens = std::collections::HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap());
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one request for 1,000 callers"
    );
    assert_eq!(tokens.len(), 1);
    provider.token().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1, "cached");
    // A margin longer than the lifetime means every call renews.
    let eager = TokenProvider::builder(&proxy)
        .client_credentials(&app.id, &app.secret)
        .renew_before_expiry(Duration::from_secs(7200))
        .build()
        .unwrap();
    eager.token().await.unwrap();
    eager.token().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 3, "renewed inside the margin");
    assert!(
        !format!("{provider:?}").contains(&app.secret),
        "Debug redacts the secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_retries_429_honouring_retry_after() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let (proxy, count) = counting_proxy(t.base.clone(), 1).await;
    let provider = TokenProvider::builder(&proxy)
        .client_credentials(&app.id, &app.secret)
        .build()
        .unwrap();
    provider.token().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2, "one 429, then the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_and_the_validator_matrix() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let validator = t.validator().await;
    let read = vec!["read".to_owned()];
    for dialect in [Dialect::Standard, Dialect::TwilioV2, Dialect::TwilioV1] {
        let token = t.provider(&app, dialect).token().await.unwrap();
        let claims = validator.validate(token.secret(), &read).await.unwrap();
        assert_eq!(
            claims.account_sid.as_deref(),
            Some(t.account.as_str()),
            "{dialect:?}"
        );
    }
    let token = t.provider(&app, Dialect::Standard).token().await.unwrap();
    // Missing scope.
    let admin = vec!["admin".to_owned()];
    assert!(matches!(
        validator.validate(token.secret(), &admin).await,
        Err(ValidationError::InsufficientScope(_))
    ));
    // Wrong audience.
    let elsewhere = Validator::discover(&t.base)
        .audience("https://other.example")
        .build()
        .await
        .unwrap();
    assert!(matches!(
        elsewhere.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
    // Another issuer's token.
    let other = tollgate().await;
    let foreign_app = other.app(|_| {}).await;
    let foreign = other
        .provider(&foreign_app, Dialect::Standard)
        .token()
        .await
        .unwrap();
    assert!(validator.validate(foreign.secret(), &[]).await.is_err());
    // A token signed by a key the validator trusts but naming another issuer: a second node on
    // the same database (so the same signing keys) that calls itself something else.
    let impostor = t.impostor("http://impostor.example").await;
    let impostors = TokenProvider::builder(&impostor.1)
        .client_credentials(&app.id, &app.secret)
        .build()
        .unwrap()
        .token()
        .await
        .unwrap();
    assert!(matches!(
        validator.validate(impostors.secret(), &[]).await,
        Err(ValidationError::InvalidToken(m)) if m.contains("another issuer")
    ));
    drop(impostor);
    // Expired: the API's clock two hours on (the token lives one).
    let later = Validator::discover(&t.base)
        .audience(&t.base)
        .clock(Arc::new(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.unwrap().as_secs() as i64 + 7200
        }))
        .build()
        .await
        .unwrap();
    assert!(matches!(
        later.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(m)) if m.contains("expired")
    ));
    // Key rotation is invisible: a token signed by a key the validator has not seen yet.
    t.server.engine.rotate_signing_key(0).await.unwrap();
    let rotated = t.provider(&app, Dialect::Standard).token().await.unwrap();
    assert_ne!(kid(rotated.secret()), kid(token.secret()));
    validator.validate(rotated.secret(), &read).await.unwrap();
    validator.validate(token.secret(), &read).await.unwrap();
}

fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_and_revoked_tokens_through_introspection() {
    let t = tollgate().await;
    let api = t.app(|_| {}).await;
    let opaque_app = t.app(|s| s.token_format = TokenFormat::Opaque).await;
    let validator = Validator::discover(&t.base)
        .audience(&t.base)
        .introspection(&api.id, &api.secret)
        .check_revocation(true)
        .build()
        .await
        .unwrap();
    let opaque = t
        .provider(&opaque_app, Dialect::Standard)
        .token()
        .await
        .unwrap();
    assert!(!opaque.secret().contains('.'));
    validator.validate(opaque.secret(), &[]).await.unwrap();
    let app = t.app(|_| {}).await;
    let jwt = t.provider(&app, Dialect::Standard).token().await.unwrap();
    validator.validate(jwt.secret(), &[]).await.unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", t.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form(&[("token", jwt.secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(matches!(
        validator.validate(jwt.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_and_extractor_answer_rfc_6750() {
    let t = tollgate().await;
    let app = t.app(|s| s.scopes = vec!["read".into()]).await;
    let api = serve(
        Router::new()
            .route(
                "/me",
                get(|Authenticated(c): Authenticated| async move { c.sub }),
            )
            .layer(RequireToken::new(t.validator().await).scopes(["read"])),
    )
    .await;
    let strict = serve(
        Router::new()
            .route(
                "/admin",
                get(|Authenticated(c): Authenticated| async move { c.sub }),
            )
            .layer(RequireToken::new(t.validator().await).scopes(["admin"])),
    )
    .await;
    let http = reqwest::Client::new();
    let none = http.get(format!("{api}/me")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer realm=\"api\"");
    let bad = http
        .get(format!("{api}/me"))
        .bearer_auth("x.y.z")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let token = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let ok = http
        .get(format!("{api}/me"))
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), app.id);
    let weak = http
        .get(format!("{strict}/admin"))
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 403);
    assert!(
        weak.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_api_allows_only_its_own_account() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let api = serve(messages_api::router(t.validator().await)).await;
    let http = reqwest::Client::new();
    let token = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let path = format!("{api}/2010-04-01/Accounts/{}/Messages.json", t.account);
    let created = http
        .post(&path)
        .bearer_auth(token.secret())
        .form(&[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "Hi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let list: serde_json::Value = http
        .get(&path)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["messages"][0]["body"], "Hi");
    let other =
        format!("{api}/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json");
    let denied = http
        .get(&other)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(http.get(&path).send().await.unwrap().status(), 401);
    let expired = http
        .get(&path)
        .bearer_auth("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);

    // With introspection on (the example's --introspect-as), a revoked token stops at once.
    let checking = Validator::discover(&t.base)
        .audience(&t.base)
        .introspection(&app.id, &app.secret)
        .check_revocation(true)
        .build()
        .await
        .unwrap();
    let api = serve(messages_api::router(checking)).await;
    let path = format!("{api}/2010-04-01/Accounts/{}/Messages.json", t.account);
    let fresh = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let ok = http
        .get(&path)
        .bearer_auth(fresh.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let revoked = http
        .post(format!("{}/oauth/revoke", t.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form(&[("token", fresh.secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let refused = http
        .get(&path)
        .bearer_auth(fresh.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

/// RFC 9449 end to end: the provider obtains a DPoP-bound token (answering a nonce challenge),
/// the validator accepts it only as DPoP with a fresh proof of the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_bound_tokens_from_provider_to_validator() {
    let t = tollgate().await;
    let app = t.app(|s| s.require_dpop = true).await;
    let provider = TokenProvider::builder(&t.base)
        .client_credentials(&app.id, &app.secret)
        .dpop(tollgate_sdk::DpopKey::generate().unwrap())
        .build()
        .unwrap();
    let token = provider.token().await.unwrap();
    assert_eq!(token.token_type, "DPoP");
    let validator = t.validator().await;
    let url = "https://api.example/messages";
    assert!(matches!(
        validator.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
    let proof = provider.dpop_proof("GET", url, &token).unwrap().unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&proof),
        method: "GET",
        url,
    };
    validator
        .validate_dpop(token.secret(), &[], &req)
        .await
        .unwrap();
    // A replayed proof, a proof for another URL, and another key's proof are refused.
    assert!(matches!(
        validator.validate_dpop(token.secret(), &[], &req).await,
        Err(ValidationError::InvalidDpopProof(_))
    ));
    let other = provider
        .dpop_proof("GET", "https://api.example/other", &token)
        .unwrap()
        .unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&other),
        method: "GET",
        url,
    };
    assert!(matches!(
        validator.validate_dpop(token.secret(), &[], &req).await,
        Err(ValidationError::InvalidDpopProof(_))
    ));
    let stranger = tollgate_sdk::DpopKey::generate().unwrap();
    let forged = stranger
        .proof("GET", url, Some(token.secret()), None)
        .unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&forged),
        method: "GET",
        url,
    };
    assert!(matches!(
        validator.validate_dpop(token.secret(), &[], &req).await,
        Err(ValidationError::InvalidDpopProof(_))
    ));
}
