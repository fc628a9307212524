//! The outbound fetch policy (DESIGN section 14) against the hostile `jwks_uri`s of the
//! penetration test: refused at registration, never fetched, one uniform error whatever
//! happened, and no connection reaching a loopback listener.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tollgate_core::client_assertion::JWKS_URI_FAILED;
use tollgate_core::ids::ClientId;
use tollgate_core::model::TokenEndpointAuthMethod;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use crate::helpers::{ClientKey, error_of};
use tollgate_testkit::on_both_backends;

/// A listener on `ip` answering every connection with `response` (holding it open when
/// `None`); counts the connections it gets.
fn listener(ip: &str, response: Option<String>) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind((ip, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.read(&mut [0u8; 4096]);
            match &response {
                Some(r) => {
                    let _ = stream.write_all(r.as_bytes());
                }
                None => std::thread::sleep(Duration::from_secs(10)),
            }
        }
    });
    (port, count)
}

fn http_ok(content_type: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn hostile_uris(port: u16) -> Vec<String> {
    let mut uris: Vec<String> = [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/jwks",
        "https://[fd00::1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://100.100.100.200/",
        "https://localhost/jwks",
        "http://keys.example/jwks",
    ]
    .iter()
    .map(|u| (*u).to_owned())
    .collect();
    for host in [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "127.0.0.2",
        "localhost",
        "[::1]",
        "svc:s3cret@127.0.0.1",
    ] {
        uris.push(format!("http://{host}:{port}/jwks"));
    }
    uris.push(format!("https://svc:s3cret@keys.example:{port}/jwks"));
    uris
}

async fn strict_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| c.outbound_allow_loopback_http = false).await
}

async fn register_refuses_hostile_jwks_uris(backend: Backend) {
    let Some(app) = strict_app(backend).await else {
        return;
    };
    let me = (app.account.sid.as_str(), app.auth_token.as_str());
    let post = |path: String, uri: &str| {
        app.http
            .request(Method::POST, app.url(&path))
            .basic_auth(me.0, Some(me.1))
            .json(&json!({
                "friendly_name": "keys by URL",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": uri,
            }))
            .send()
    };
    let (port, hits) = listener("127.0.0.1", http_ok("application/json", "{}"));
    for uri in hostile_uris(port) {
        let resp = post("/v1/Account/OAuthApps".into(), &uri)
            .await
            .expect("post");
        let status = resp.status().as_u16();
        let body = resp.text().await.expect("body");
        assert_eq!(status, 400, "{uri}: {body}");
        assert!(body.contains("jwks_uri"), "{uri}: {body}");
        assert!(!body.contains("s3cret"), "{body}");
    }
    // A public https URL is taken; changing it to a hostile one is refused too.
    let resp = post("/v1/Account/OAuthApps".into(), "https://keys.example/jwks").await;
    let created: serde_json::Value = resp.expect("post").json().await.expect("json");
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let resp = post(format!("/v1/Account/OAuthApps/{sid}"), "https://10.0.0.1/").await;
    assert_eq!(resp.expect("post").status(), 400);
    // The CLI's administrator applies the same policy.
    let admin = app.server.context.admin();
    let cli = admin.create_client(tollgate_core::admin::ClientSpec {
        friendly_name: "cli".into(),
        account_sid: Some(app.account.sid.clone()),
        grant_types: vec![tollgate_core::model::GrantType::ClientCredentials],
        auth_method: Some(TokenEndpointAuthMethod::PrivateKeyJwt),
        jwks_uri: Some(format!("http://127.0.0.1:{port}/jwks")),
        ..Default::default()
    });
    assert!(cli.await.is_err());
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "registration fetches nothing"
    );
}

/// A private_key_jwt client of `app` whose stored `jwks_uri` is `uri`, written past the
/// registration check as an older server (or a direct database edit) could have left it.
async fn client_at(app: &TestApp, uri: &str) -> ClientId {
    let c = app
        .client_with(|s| {
            s.auth_method = Some(TokenEndpointAuthMethod::PrivateKeyJwt);
            s.jwks_uri = Some("https://keys.example/jwks".into());
        })
        .await;
    let mut client = app.server.admin().client(&c.id).await.expect("client");
    client.jwks_uri = Some(uri.to_owned());
    let store = &app.server.context.store;
    assert!(store.update_client(&client).await.expect("update"));
    app.server.engine.sync().await.expect("sync");
    c.id
}

/// The token endpoint's answer to an assertion from `id`, and how long it took.
async fn token_error(app: &TestApp, key: &ClientKey, id: &ClientId) -> (String, Duration) {
    let start = Instant::now();
    let assertion = key.assertion(app, id.as_str(), &app.base, 60);
    let (status, error, why) = error_of(app.assertion_token(&assertion, None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"), "{why}");
    (why, start.elapsed())
}

async fn hostile_jwks_uris_are_never_fetched(backend: Backend) {
    let Some(app) = strict_app(backend).await else {
        return;
    };
    let key = ClientKey::es256();
    // The listeners serve the client's real keys: a fetch would let the client in.
    let jwks = http_ok("application/json", &key.jwks());
    let (port, hits) = listener("127.0.0.1", jwks.clone());
    let (port2, hits2) = listener("127.0.0.2", jwks);
    let mut uris = hostile_uris(port);
    uris.push(format!("http://127.0.0.2:{port2}/jwks"));
    for uri in uris {
        let id = client_at(&app, &uri).await;
        let (why, took) = token_error(&app, &key, &id).await;
        assert_eq!(why, JWKS_URI_FAILED, "{uri}");
        // Refused before connecting: no timeout was waited out.
        assert!(took < Duration::from_secs(2), "{uri} took {took:?}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no connection reached 127.0.0.1"
    );
    assert_eq!(
        hits2.load(Ordering::SeqCst),
        0,
        "no connection reached 127.0.0.2"
    );
}

async fn every_fetch_failure_reads_the_same(backend: Backend) {
    // With loopback allowed for development, the fetch really happens.
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = ClientKey::es256();
    let (good, good_hits) = listener("127.0.0.1", http_ok("application/json", &key.jwks()));
    let (html, _) = listener("127.0.0.1", http_ok("text/html", "<html>router</html>"));
    let not_found = Some("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned());
    let (missing, _) = listener("127.0.0.1", not_found);
    let (hanging, _) = listener("127.0.0.1", None);
    let id = client_at(&app, &format!("http://127.0.0.1:{good}/jwks")).await;
    let assertion = key.assertion(&app, id.as_str(), &app.base, 60);
    assert_eq!(app.assertion_token(&assertion, None).await.status(), 200);
    assert_eq!(good_hits.load(Ordering::SeqCst), 1);

    let mut answers = Vec::new();
    for port in [closed_port(), html, missing, hanging] {
        let id = client_at(&app, &format!("http://127.0.0.1:{port}/jwks")).await;
        let (why, took) = token_error(&app, &key, &id).await;
        assert!(took < Duration::from_secs(5), "port {port} took {took:?}");
        answers.push(why);
    }
    let id = client_at(&app, "https://169.254.169.254/latest/meta-data/").await;
    answers.push(token_error(&app, &key, &id).await.0);
    assert!(answers.iter().all(|a| a == JWKS_URI_FAILED), "{answers:?}");
}

on_both_backends!(
    register_refuses_hostile_jwks_uris,
    hostile_jwks_uris_are_never_fetched,
    every_fetch_failure_reads_the_same,
);
