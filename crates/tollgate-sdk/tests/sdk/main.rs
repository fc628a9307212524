//! The SDK against real Tollgate servers over HTTP (and small local servers playing a hostile
//! issuer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../examples/mcp_server.rs"]
#[allow(dead_code)]
mod mcp_server;
#[path = "../../examples/messages_api.rs"]
#[allow(dead_code)]
mod messages_api;

mod documents;
mod dpop;
mod hardening;
mod mcp;
mod mcp_clients;
mod provider;
mod validator;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tempfile::TempDir;
use tollgate::config::Config;
use tollgate::server::{self, Deps, RunningServer};
use tollgate_core::admin::ClientSpec;
use tollgate_core::model::GrantType;
use tollgate_core::{OffsetClock, SystemRng};
use tollgate_sdk::{Dialect, TokenProvider, Validator};

pub struct Tollgate {
    server: RunningServer,
    base: String,
    account: String,
    _dir: TempDir,
}

pub struct App {
    id: String,
    secret: String,
}

pub async fn tollgate() -> Tollgate {
    tollgate_with(|_| {}).await
}

pub async fn tollgate_with(tweak: impl FnOnce(&mut Config)) -> Tollgate {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: Some(format!("sqlite://{}", dir.path().join("t.db").display())),
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    tweak(&mut config);
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

    /// A validator for this server's audience that introspects as `app` on every call, so a
    /// revoked token stops at once.
    async fn checking_validator(&self, app: &App) -> Validator {
        Validator::discover(&self.base)
            .audience(&self.base)
            .introspection(&app.id, &app.secret)
            .check_revocation(true)
            .build()
            .await
            .unwrap()
    }
}

/// Counts token requests on their way to Tollgate; answers 429 to the first `throttle` of them.
pub async fn counting_proxy(target: String, throttle: usize) -> (String, Arc<AtomicUsize>) {
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

/// The `WWW-Authenticate` challenge of an answer, which must come with `status`.
pub fn challenge_of(resp: &reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status(), status);
    let header = resp.headers()[reqwest::header::WWW_AUTHENTICATE].to_str();
    header.unwrap().to_owned()
}

pub fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}
