//! Operating Tollgate: health and readiness, metrics, request ids, rate limits in each
//! dialect's format, JSON logs with no secrets, graceful shutdown, and `config check`.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::binary::{
    assert_succeeded, client_create_args, serve_command, start_serving, tollgate_command,
    user_create_args,
};
use crate::helpers::retry_later;
use crate::helpers::{Backend, eventually, spawn_app, spawn_app_with};
use crate::helpers::{Browser, PASSWORD, REDIRECT, html_csp, query_param};
use crate::helpers::{basic_json, post_basic};
use tollgate_testkit::on_both_backends;

const GUARD: Duration = Duration::from_secs(30);

async fn health_metrics_and_request_ids(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let c = app.client().await;
    let resp = app.client_credentials(c.id.as_str(), &c.secret).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert!(id.len() >= 16, "{id}");
    let echoed = app
        .get_with_header("/healthz", "x-request-id", "trace-abc-123")
        .await;
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");
    let forged = app
        .get_with_header("/healthz", "x-request-id", "bad id\" injected")
        .await;
    assert_ne!(forged.headers()["x-request-id"], "bad id\" injected");
    // A failed authentication and a device grant (a store write) to count.
    assert_eq!(
        app.client_credentials(c.id.as_str(), "wrong")
            .await
            .status(),
        401
    );
    let metrics = || async {
        let resp = app.get("/metrics").await;
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/plain"))
        );
        resp.text().await.expect("text")
    };
    let text = metrics().await;
    for name in [
        "tollgate_http_requests_total",
        "tollgate_http_request_duration_seconds",
        "tollgate_tokens_issued_total",
        "tollgate_client_auth_failures_total",
        "tollgate_store_operation_duration_seconds",
    ] {
        assert!(text.contains(name), "{name} in /metrics");
    }
    assert!(text.contains("route=\"/oauth/token\""), "per-route labels");
    assert!(
        text.contains("grant_type=\"client_credentials\""),
        "per-grant labels"
    );
    // Gauges the maintenance loop sets.
    let gauges = eventually(GUARD, || async {
        let text = metrics().await;
        [
            "tollgate_cache_entries",
            "tollgate_signing_key_age_seconds",
            "tollgate_sync_lag_seconds",
        ]
        .iter()
        .all(|n| text.contains(n))
    })
    .await;
    assert!(gauges.is_some(), "maintenance gauges in /metrics");

    // The description and the page that renders it, with nothing fetched from elsewhere.
    let doc = app.get_json("/openapi.json").await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/oauth/token",
        "/v2/token",
        "/v1/token",
        "/v1/device/code",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let page = app.get("/docs").await;
    assert_eq!(page.status(), 200);
    let csp = html_csp(&page);
    assert!(!csp.contains("http"), "no remote sources allowed: {csp}");
    // No inline script, and the page cannot be framed.
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"));
    assert_eq!(script_src, Some("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("<script>"),
        "the script is served from /docs.js"
    );
    let js = app.get("/docs.js").await;
    assert_eq!(js.status(), 200);
    assert!(js.text().await.expect("js").contains("openapi.json"));
    assert!(
        html.contains("/openapi.json"),
        "the page reads the local description"
    );
    for remote in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
    ] {
        assert!(!html.contains(remote), "no remote asset ({remote})");
    }
}

/// Ready flips to 503 while PostgreSQL refuses connections, and back when it accepts them.
async fn readiness_follows_the_database(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let db = url::Url::parse(&app.database_url)
        .expect("url")
        .path()
        .trim_start_matches('/')
        .to_owned();
    let admin_url = std::env::var("TOLLGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("admin");
    let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    run(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .expect("deny");
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .execute(&mut admin)
    .await
    .expect("terminate");
    let down = eventually(GUARD, || async { app.readyz_is(503).await }).await;
    run(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("allow");
    assert!(
        down.is_some(),
        "readyz said 503 while the database was unreachable"
    );
    let up = eventually(GUARD, || async { app.readyz_is(200).await }).await;
    assert!(up.is_some(), "ready again once the database is back");
}

/// One request a second for each client, `burst` at once.
fn per_client_limit(burst: u32) -> impl FnOnce(&mut tollgate::config::Config) {
    move |c| {
        c.rate_limit_per_client = 1;
        c.rate_limit_per_client_burst = burst;
    }
}

/// One request a second, and no more at once, from each address.
fn per_address_limit(c: &mut tollgate::config::Config) {
    c.rate_limit_per_ip = 1;
    c.rate_limit_per_ip_burst = 1;
}

async fn rate_limits_speak_each_dialect(backend: Backend) {
    let Some(app) = spawn_app_with(backend, per_client_limit(1)).await else {
        return;
    };
    let c = app.client().await;
    assert_eq!(app.token_status(&c).await, 200);
    let std = app.client_credentials(c.id.as_str(), &c.secret).await;
    let b = retry_later(std, 429, "std").await;
    assert_eq!(b["error"], "too_many_requests");
    let v2 = app
        .client_credentials_at("/v2/token", c.id.as_str(), &c.secret)
        .await;
    let b = retry_later(v2, 429, "v2").await;
    assert_eq!(b["code"], 20429);
    assert!(b["throttled_until"].is_string(), "{b}");
}

/// The per-client limit keys on the client that authenticated: a private_key_jwt app that
/// sends only `client_assertion` (RFC 7521 section 4.2 makes `client_id` optional) is limited
/// like any other.
async fn client_limit_keys_on_the_authenticated_client(backend: Backend) {
    let Some(app) = spawn_app_with(backend, per_client_limit(2)).await else {
        return;
    };
    let key = crate::helpers::ClientKey::es256();
    let c = app.key_client(&key).await;
    let aud = app.url("/oauth/token");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let assertion = key.assertion(&app, c.id.as_str(), &aud, 60);
        statuses.push(
            app.assertion_token(&assertion, None)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses[2..].iter().all(|s| *s == 429), "{statuses:?}");
}

/// The per-address limit covers every route a client calls, each answering in its own format.
async fn per_address_limits_cover_every_client_route(backend: Backend) {
    let Some(app) = spawn_app_with(backend, per_address_limit).await else {
        return;
    };
    let c = app
        .client_with(|s| {
            s.grant_types = vec![
                tollgate_core::model::GrantType::ClientCredentials,
                tollgate_core::model::GrantType::DeviceCode,
            ];
        })
        .await;
    let (id, secret) = (c.id.as_str(), c.secret.as_str());
    let routes: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "/oauth/introspect",
            vec![("token", "x"), ("client_id", id), ("client_secret", secret)],
        ),
        (
            "/oauth/revoke",
            vec![("token", "x"), ("client_id", id), ("client_secret", secret)],
        ),
        (
            "/oauth/device_authorization",
            vec![("client_id", id), ("client_secret", secret)],
        ),
        (
            "/v1/token",
            vec![
                ("GrantType", "client_credentials"),
                ("ClientSid", id),
                ("ClientSecret", secret),
            ],
        ),
        (
            "/v1/device/code",
            vec![
                ("ClientSid", id),
                ("ClientSecret", secret),
                ("Scopes", "read"),
            ],
        ),
    ];
    for (path, form) in &routes {
        // One request a second refills the bucket; a few in a row must meet the limit.
        let mut refused = None;
        for _ in 0..4 {
            let resp = app.post_form(path, form).await;
            let status = resp.status().as_u16();
            assert!(status < 500, "{path}: {status}");
            if status == 429 {
                refused = Some(resp);
                break;
            }
        }
        let resp = refused.unwrap_or_else(|| panic!("{path} never answered 429"));
        assert!(resp.headers().contains_key("retry-after"), "{path}");
        let b: Value = resp.json().await.expect("json");
        if path.starts_with("/v1/") {
            assert_eq!(b["code"], 20429, "{path}: {b}");
        } else {
            assert_eq!(b["error"], "too_many_requests", "{path}: {b}");
        }
    }
}

/// Starts the binary on a fresh SQLite directory; returns the child and its base URL.
async fn start_binary(
    dir: &std::path::Path,
    log: &std::path::Path,
) -> (tokio::process::Child, String) {
    let mut cmd = serve_command(dir);
    cmd.env_remove("TOLLGATE_DATABASE_URL")
        .env("TOLLGATE_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug");
    let log = std::fs::File::create(log).expect("log file");
    let (child, banner) = start_serving(&mut cmd, log).await;
    let base = banner["listening"].as_str().expect("listening").to_owned();
    (child, base)
}

async fn cli(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = tollgate_command()
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env_remove("TOLLGATE_DATABASE_URL")
        .output()
        .await
        .expect("cli");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A full flow against the binary with JSON logs: no secret it used appears in the log, every
/// request line carries its id, nothing is coloured; SIGTERM drains requests in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_keep_secrets_and_shutdown_drains() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("server.log");
    let (mut child, base) = start_binary(dir.path(), &log).await;
    let grants = ["client_credentials", "authorization_code", "refresh_token"];
    let app_json = cli(dir.path(), &client_create_args("logs", &grants)).await;
    let client_id = app_json["client_id"].as_str().expect("id").to_owned();
    let secret = app_json["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    cli(dir.path(), &user_create_args("logs@example.com", PASSWORD)).await;
    let http = reqwest::Client::new();
    let mut secrets = vec![secret.clone(), PASSWORD.to_owned()];
    // Changes reach the server through the change log.
    let token = eventually(GUARD, || async {
        http.post(format!("{base}/oauth/token"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(token.is_some(), "the CLI's client works on the server");
    let form = [("grant_type", "client_credentials")];
    let t = basic_json(&http, &base, "/oauth/token", (&client_id, &secret), &form).await;
    secrets.push(t["access_token"].as_str().expect("at").to_owned());
    // The authorization code flow: a password, a code, a refresh token.
    let browser = Browser::for_base(&base);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=read&state=s"
    );
    let back = browser.authorize(&url, "logs@example.com").await;
    let code = query_param(&back, "code").expect("code");
    secrets.push(code.clone());
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let tokens = basic_json(&http, &base, "/oauth/token", (&client_id, &secret), &form).await;
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    secrets.push(refresh.clone());
    let _ = post_basic(
        &http,
        format!("{base}/oauth/introspect"),
        (&client_id, &secret),
        &[("token", refresh.as_str())],
    )
    .await;

    // Requests in flight at SIGTERM: their bodies are still arriving when the signal lands.
    let addr = base.trim_start_matches("http://").to_owned();
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let mut in_flight = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        let head = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.expect("head");
        s.write_all(&body.as_bytes()[..10]).await.expect("part");
        in_flight.push(s);
    }
    let pid = child.id().expect("pid");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(kill.is_ok_and(|s| s.success()));
    let refused = eventually(GUARD, || async { TcpStream::connect(&addr).await.is_err() }).await;
    assert!(refused.is_some(), "no new connections after SIGTERM");
    for mut s in in_flight {
        s.write_all(&body.as_bytes()[10..])
            .await
            .expect("rest of the body");
        let mut answer = String::new();
        tokio::time::timeout(GUARD, s.read_to_string(&mut answer))
            .await
            .expect("answered")
            .expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let status = tokio::time::timeout(GUARD, child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(status.success(), "exit status 0 after draining");

    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains('\u{1b}'), "no ANSI codes in a log file");
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret reached the log");
    }
    let mut access = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("JSON line: {line}"));
        if v["target"] == "tollgate::access" {
            access += 1;
            assert!(
                v["span"]["id"].is_string(),
                "request id on the access line: {line}"
            );
            assert!(v["fields"]["status"].is_number() && v["fields"]["route"].is_string());
        }
    }
    assert!(access >= 5, "one access line per request");
    assert!(text.contains(&client_id), "the access log names the client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_names_every_problem() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tollgate.toml");
    std::fs::write(
        &file,
        "issuer = \"ftp://example.com\"\nlisten = \"nowhere\"\nacess_token_ttl = 5\nkey_encryption_key = \"short\"\n",
    )
    .expect("write");
    let out = tollgate_command()
        .arg("--config")
        .arg(&file)
        .args([
            "--database-url",
            "mysql://admin:S3cret@db.example/tollgate",
            "--json",
            "config",
            "check",
        ])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("S3cret") && !stdout.contains("short\""),
        "{stdout}"
    );
    let v: Value = serde_json::from_str(&stdout).expect("json");
    let problems = v["problems"].to_string();
    for needle in [
        "issuer",
        "listen",
        "acess_token_ttl",
        "key_encryption_key",
        "database_url",
    ] {
        assert!(problems.contains(needle), "{needle} in {problems}");
    }
    let good = tollgate_command()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["config", "check"])
        .env_remove("TOLLGATE_DATABASE_URL")
        .current_dir(dir.path().join(".."))
        .output()
        .await
        .expect("run");
    assert_succeeded(&good);
    // A bad database URL never shows its password, even when serving fails.
    let serve = tollgate_command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://admin:S3cret@db/x",
        ])
        .output()
        .await
        .expect("run");
    assert!(!serve.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&serve.stdout),
        String::from_utf8_lossy(&serve.stderr)
    );
    assert!(!all.contains("S3cret"), "{all}");
}

/// `--tls-cert`/`--tls-key`: HTTPS with HTTP/2 (and HTTP/1.1), and an https issuer by default.
async fn serves_https_directly(backend: Backend) {
    let pki = tempfile::tempdir().expect("dir");
    let (certified, cert, key) = crate::helpers::documents::self_signed(pki.path());
    let Some(app) = spawn_app_with(backend, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await
    else {
        return;
    };
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("root");
    let https = |h2: bool| {
        let b = reqwest::Client::builder().add_root_certificate(root.clone());
        let b = if h2 { b } else { b.http1_only() };
        b.build().expect("client")
    };
    let base = format!("https://{}", app.server.addr);
    let doc = https(true)
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("https request");
    assert_eq!(doc.version(), reqwest::Version::HTTP_2, "ALPN agreed on h2");
    // RFC 6797: terminating TLS, Tollgate tells browsers to come back over HTTPS only.
    assert_eq!(
        doc.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let doc: Value = doc.json().await.expect("json");
    assert_eq!(
        doc["issuer"],
        base.as_str(),
        "the default issuer follows the scheme"
    );
    let c = app.client().await;
    let token = https(false)
        .post(format!("{base}/oauth/token"))
        .basic_auth(c.id.as_str(), Some(&c.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token over HTTP/1.1 and TLS");
    assert_eq!(token.version(), reqwest::Version::HTTP_11);
    assert_eq!(token.status(), 200);
    // Plain HTTP on a TLS port gets nothing useful.
    assert!(
        app.http
            .get(format!("http://{}/healthz", app.server.addr))
            .send()
            .await
            .is_err()
    );
}

on_both_backends!(
    serves_https_directly,
    health_metrics_and_request_ids,
    readiness_follows_the_database,
    rate_limits_speak_each_dialect,
    client_limit_keys_on_the_authenticated_client,
    per_address_limits_cover_every_client_route,
);
