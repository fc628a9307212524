//! What the penetration tests found, each attack reproduced against a real server and shown
//! closed: handler panics on multi-byte bodies, concurrent sign-ins, unsafe redirect URIs,
//! device-code guessing, slow and idle connections, planted CSRF pairs, answers in the route's
//! format, and the pages' CSP.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use reqwest::header::{CONTENT_TYPE, COOKIE};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::post_basic;
use crate::helpers::{Backend, spawn_app, spawn_app_with};
use crate::helpers::{Browser, PASSWORD, Visit, hidden, html_csp};
use tollgate_testkit::on_both_backends;

/// A hang guard, not a timing assertion: a closed connection must be seen well within it.
const GUARD: Duration = Duration::from_secs(20);

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// `req` carrying `body` as `content_type`: an answer, never a closed connection.
async fn send_body(
    req: reqwest::RequestBuilder,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let req = req.header(CONTENT_TYPE, content_type).body(body);
    req.send()
        .await
        .expect("an answer, not a closed connection")
}

/// An answer's status and JSON body.
async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

async fn multibyte_bodies_get_400_not_a_panic(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Byte 200 of serde's message falls inside the 'é'.
    let body = format!("{{\"{}\u{e9}b\":\"x\"}}", "a".repeat(184));
    let token = app.http.post(app.url("/oauth/token"));
    let (status, b) = status_json(send_body(token, JSON, body.clone()).await).await;
    assert_eq!(status, 400);
    assert_eq!(b["error"], "invalid_request");
    let apps = app.as_account(reqwest::Method::POST, "/v1/Account/OAuthApps");
    let (status, b) = status_json(send_body(apps, JSON, body).await).await;
    assert_eq!(status, 400);
    assert_eq!(b["code"], 20001);
}

/// Any body, any content type, on every POST route: never a 5xx, never a dropped connection.
async fn no_body_makes_a_handler_fail(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let routes = [
        "/oauth/token",
        "/v1/token",
        "/v2/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/device_authorization",
        "/v1/device/code",
        "/oauth/userinfo",
        "/v1/Account/OAuthApps",
        "/login",
        "/consent",
        "/device",
    ];
    let types = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
    ];
    let strategy = (
        0..routes.len(),
        0..types.len(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            "\\PC{0,200}".prop_map(String::into_bytes),
            "[a-z_]{1,12}=[^&]{0,40}(&[a-z_]{1,12}=[^&]{0,40}){0,6}".prop_map(String::into_bytes),
            "\\{(\"[a-z\u{e9}\u{1F600}]{1,210}\":\"[^\"]{0,20}\",?){0,4}\\}"
                .prop_map(String::into_bytes),
        ],
    );
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(PropConfig {
        cases: 192,
        failure_persistence: None,
        ..PropConfig::default()
    });
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(r, t, body)| {
            let status = handle.block_on(async {
                app.http
                    .post(app.url(routes[r]))
                    .header(CONTENT_TYPE, types[t])
                    .basic_auth(app.account.sid.as_str(), Some(&app.auth_token))
                    .body(body.clone())
                    .send()
                    .await
                    .map(|resp| resp.status().as_u16())
            });
            let Ok(status) = status else {
                return Err(TestCaseError::fail(format!("{}: no answer", routes[r])));
            };
            prop_assert!(status < 500, "{} answered {status}", routes[r]);
            Ok(())
        })
    });
    assert!(result.is_ok(), "{result:?}");
}

async fn concurrent_sign_ins_are_counted_first(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.auth_failures_per_minute = 20).await else {
        return;
    };
    app.user("target@example.com").await;
    let browser = Browser::new(&app);
    let Visit::Page { html, .. } = browser.visit("/login").await else {
        panic!("login page")
    };
    let csrf = hidden(&html, "csrf").expect("csrf");
    let mut tasks = Vec::new();
    for i in 0..60 {
        let http = browser.http.clone();
        let url = app.url("/login");
        let csrf = csrf.clone();
        let password = if i == 59 {
            PASSWORD.to_owned()
        } else {
            format!("guess {i}")
        };
        tasks.push(tokio::spawn(async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("continue", ""),
                ("email", "target@example.com"),
                ("password", password.as_str()),
            ];
            http.post(url)
                .form(&form)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.expect("task").expect("answer") {
            401 | 303 => checked += 1,
            429 | 503 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        checked <= 20,
        "{checked} passwords were checked with a budget of 20"
    );
}

async fn unsafe_redirect_uris_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (uri, ok) in [
        ("javascript:alert(1)", false),
        ("data:text/html,hi", false),
        ("http://evil.example/cb", false),
        ("file:///etc/passwd", false),
        ("https://app.example/cb", true),
        ("http://127.0.0.1:8000/cb", true),
        ("http://[::1]/cb", true),
        ("http://localhost/cb", true),
        ("com.example.app:/oauth2redirect", true),
    ] {
        let resp = app
            .as_account(reqwest::Method::POST, "/v1/Account/OAuthApps")
            .json(&json!({
                "friendly_name": "r",
                "grant_types": ["authorization_code"],
                "redirect_uris": [uri],
            }))
            .send()
            .await
            .expect("create");
        assert_eq!(resp.status().as_u16(), if ok { 201 } else { 400 }, "{uri}");
    }
}

async fn device_code_guesses_share_one_limit(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.auth_failures_per_minute = 10).await else {
        return;
    };
    let dev = app.device_client().await;
    app.user("guesser@example.com").await;
    let browser = Browser::new(&app);
    let Visit::Page { html, .. } = browser.sign_in_at("/device", "guesser@example.com").await
    else {
        panic!("device page")
    };
    let csrf = hidden(&html, "csrf").expect("csrf");
    // A real device waits; its code must not be decidable by guessing.
    let d = app.start_device(&dev, "read").await;
    let real = d["user_code"].as_str().expect("user_code").to_owned();
    let unconfirmed = browser
        .post(
            "/device/decision",
            &[("csrf", &csrf), ("user_code", &real), ("decision", "deny")],
        )
        .await;
    assert_eq!(
        unconfirmed.status(),
        400,
        "a decision needs this session's confirmation"
    );
    // Guesses over the three routes draw on one budget of 10.
    let mut limited = false;
    for i in 0..40 {
        let guess = format!("BBBB-BB{}{}", ["B", "C", "D"][i % 3], ["F", "G"][i % 2]);
        let status = match i % 3 {
            0 => browser
                .get(&format!("/device?user_code={guess}"))
                .await
                .status(),
            1 => browser
                .post("/device", &[("csrf", &csrf), ("user_code", &guess)])
                .await
                .status(),
            _ => {
                let form = [
                    ("csrf", csrf.as_str()),
                    ("user_code", &guess),
                    ("decision", "approve"),
                ];
                browser.post("/device/decision", &form).await.status()
            }
        };
        if status == 429 {
            assert!(i >= 9, "limited only after the budget ({i})");
            limited = true;
            break;
        }
    }
    assert!(limited, "guessing hit the limit");
    let (_, b) = app.poll_started(&dev, &d).await;
    assert_eq!(
        b["error"], "authorization_pending",
        "the real device was not decided"
    );
}

/// Reads until the server closes the connection; what it sent on the way.
async fn until_closed(mut s: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(GUARD, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    out
}

/// A second for the request head, two for the whole request.
fn short_timeouts(c: &mut tollgate::config::Config) {
    c.header_timeout_secs = 1;
    c.request_timeout_secs = 2;
}

async fn slow_and_idle_connections_are_closed(backend: Backend) {
    let Some(app) = spawn_app_with(backend, short_timeouts).await else {
        return;
    };
    let addr = app.server.addr;
    let c = app.client().await;
    // An idle socket.
    let idle = TcpStream::connect(addr).await.expect("connect");
    // Headers at a trickle.
    let mut slow_headers = TcpStream::connect(addr).await.expect("connect");
    let trickle = tokio::spawn(async move {
        for b in b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n" {
            if slow_headers.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        until_closed(slow_headers).await
    });
    // A body that never finishes.
    let mut slow_body = TcpStream::connect(addr).await.expect("connect");
    slow_body
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
        )
        .await
        .expect("write");
    // Others are served meanwhile.
    assert_eq!(app.token_status(&c).await, 200);
    assert!(until_closed(idle).await.is_empty());
    trickle.await.expect("trickle");
    let answer = String::from_utf8_lossy(&until_closed(slow_body).await).to_string();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert_eq!(app.token_status(&c).await, 200);
}

async fn connections_beyond_the_cap_are_closed(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.max_connections = 3).await else {
        return;
    };
    let addr = app.server.addr;
    let held: Vec<TcpStream> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(TcpStream::connect(addr).await.expect("connect"));
        }
        v
    };
    // Give the accept loop a moment to take the three (a request on each proves it).
    let mut held = held;
    for s in &mut held {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.expect("answer");
    }
    let extra = TcpStream::connect(addr).await.expect("connect");
    assert!(
        until_closed(extra).await.is_empty(),
        "the fourth connection is closed"
    );
    drop(held);
    let c = app.client().await;
    let ok =
        crate::helpers::eventually(GUARD, || async { app.token_status(&c).await == 200 }).await;
    assert!(ok.is_some(), "served again once connections closed");
}

async fn planted_csrf_pairs_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("victim@example.com").await;
    let planted = "A".repeat(43);
    let resp = app
        .http
        .post(app.url("/login"))
        .header(COOKIE, format!("tollgate_csrf={planted}"))
        .form(&[
            ("csrf", planted.as_str()),
            ("email", "victim@example.com"),
            ("password", PASSWORD),
            ("continue", ""),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 403, "double-submit alone is not enough");
}

async fn answers_stay_in_the_route_format(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let big = "a".repeat(20_000);
    let userinfo = app.http.post(app.url("/oauth/userinfo"));
    let resp = send_body(userinfo, FORM, format!("access_token={big}")).await;
    assert!(resp.headers().contains_key("www-authenticate"));
    let (status, b) = status_json(resp).await;
    assert_eq!(status, 413);
    assert_eq!(b["error"], "invalid_request");
    let unknown = app.as_account(reqwest::Method::GET, "/v1/Account/OAuthApps/%FF%FE");
    let (status, b) = status_json(unknown.send().await.expect("get")).await;
    assert_eq!(status, 404);
    assert_eq!(b["code"], 20404);
    let login = app.http.post(app.url("/login"));
    let page = send_body(login, FORM, format!("email={big}")).await;
    assert_eq!(page.status(), 413);
    // The pages forbid posting forms anywhere else.
    let csp = html_csp(&page);
    assert!(csp.contains("form-action 'self'"), "{csp}");
}

async fn other_accounts_apps_look_unknown_on_v1_device_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dev = app.device_client().await;
    let (other, token) = app.stranger_account().await;
    let ask = |client: String| {
        let http = app.http.clone();
        let url = app.url("/v1/device/code");
        let (sid, token) = (other.sid.to_string(), token.expose().to_owned());
        async move {
            let resp = post_basic(
                &http,
                url,
                (&sid, &token),
                &[("ClientSid", client.as_str()), ("Scopes", "read")],
            )
            .await;
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.expect("json")["message"].clone(),
            )
        }
    };
    let foreign = ask(dev.id.to_string()).await;
    let unknown = ask("OQ00000000000000000000000000000000".into()).await;
    assert_eq!(
        foreign, unknown,
        "another account's app answers as an unknown one"
    );
}

/// `req` as a client_credentials request by an unknown client: a failed authentication.
async fn failed_sign_in(req: reqwest::RequestBuilder) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "OQ00000000000000000000000000000000"),
        ("client_secret", "wrong"),
    ];
    req.form(&form).send().await.expect("post")
}

async fn failures(app: &crate::helpers::TestApp, forwarded_for: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        let req = app.http.post(app.url("/oauth/token"));
        let resp = failed_sign_in(req.header("x-forwarded-for", forwarded_for)).await;
        out.push(resp.status().as_u16());
    }
    out
}

/// `failures_per_minute` failed sign-ins per client, with loopback as the trusted proxy.
fn behind_loopback_proxy(failures_per_minute: u32) -> impl FnOnce(&mut tollgate::config::Config) {
    move |c| {
        c.auth_failures_per_minute = failures_per_minute;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().expect("net")];
    }
}

async fn limits_key_on_the_client_behind_a_trusted_proxy(backend: Backend) {
    let Some(app) = spawn_app_with(backend, behind_loopback_proxy(2)).await else {
        return;
    };
    assert_eq!(failures(&app, "203.0.113.1", 3).await, [401, 401, 429]);
    assert_eq!(
        failures(&app, "203.0.113.2", 1).await,
        [401],
        "another client is not blocked"
    );
    // Without the setting the header is a client's word and is ignored.
    let Some(plain) = spawn_app_with(backend, |c| c.auth_failures_per_minute = 2).await else {
        return;
    };
    assert_eq!(failures(&plain, "203.0.113.1", 2).await, [401, 401]);
    assert_eq!(failures(&plain, "203.0.113.2", 1).await, [429]);
}

/// The penetration test's bypass: the trusted proxy appends the real client to
/// `X-Forwarded-For`, and the client adds `Forwarded: for=<anything>` to pick a fresh address
/// on every try. Only the configured header counts, so the budget holds.
async fn a_client_supplied_forwarded_header_picks_no_address(backend: Backend) {
    let Some(app) = spawn_app_with(backend, behind_loopback_proxy(5)).await else {
        return;
    };
    let mut statuses = Vec::new();
    for n in 0..8 {
        let req = app.http.post(app.url("/oauth/token"));
        let req = req.header("x-forwarded-for", "203.0.113.50");
        let resp = failed_sign_in(req.header("forwarded", format!("for=198.51.100.{n}"))).await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
}

/// A failing random generator refuses the request instead of minting from a zeroed buffer.
async fn a_failing_generator_refuses(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    assert_eq!(app.token_status(&c).await, 200);
    app.rng.fail(true);
    let refused = app.client_credentials(c.id.as_str(), &c.secret).await;
    assert_eq!(refused.status(), 500);
    let b: Value = refused.json().await.expect("json");
    assert_eq!(b["error"], "server_error");
    app.rng.fail(false);
    assert_eq!(app.token_status(&c).await, 200);
}

on_both_backends!(
    a_failing_generator_refuses,
    limits_key_on_the_client_behind_a_trusted_proxy,
    a_client_supplied_forwarded_header_picks_no_address,
    multibyte_bodies_get_400_not_a_panic,
    no_body_makes_a_handler_fail,
    concurrent_sign_ins_are_counted_first,
    unsafe_redirect_uris_are_refused,
    device_code_guesses_share_one_limit,
    slow_and_idle_connections_are_closed,
    connections_beyond_the_cap_are_closed,
    planted_csrf_pairs_are_refused,
    answers_stay_in_the_route_format,
    other_accounts_apps_look_unknown_on_v1_device_code,
);
