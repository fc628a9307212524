//! Bounded staleness (DESIGN section 13): a node whose view of the change log is older than
//! `max_staleness_secs` does not answer introspection from it. It asks the store, and when a
//! partition keeps it from the store it answers 503 in its dialect's format and leaves the
//! load balancer's rotation (`/readyz` 503), while client_credentials for the clients it holds
//! keeps working. Time past the bound is the node's injected clock moved forward.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::proxy::TcpProxy;
use crate::helpers::{Backend, TestApp, TestClient, eventually, fresh_database, spawn_on};

/// The default bound, which these tests rely on.
const MAX_STALENESS: i64 = 5;

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> reqwest::Response {
    app.post_basic(
        "/oauth/introspect",
        (caller.id.as_str(), &caller.secret),
        &[("token", token)],
    )
    .await
}

async fn revoke(app: &TestApp, caller: &TestClient, token: &str) {
    let resp = app
        .post_form(
            "/oauth/revoke",
            &[
                ("token", token),
                ("client_id", caller.id.as_str()),
                ("client_secret", caller.secret.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
}

fn shared_kek() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([9u8; 32])
}

/// A node on `url` with the shared key-encryption key and public name.
async fn node(url: String, sync_interval_ms: u64) -> TestApp {
    spawn_on(url, tempfile::tempdir().expect("dir"), |c| {
        c.key_encryption_key = Some(shared_kek());
        c.engine.issuer = "http://tollgate.test".into();
        c.sync_interval_ms = sync_interval_ms;
    })
    .await
}

async fn upstream_of(url: &str) -> SocketAddr {
    let u = url::Url::parse(url).expect("url");
    let host = format!(
        "{}:{}",
        u.host_str().expect("host"),
        u.port().unwrap_or(5432)
    );
    tokio::net::lookup_host(host)
        .await
        .expect("resolve")
        .next()
        .expect("an address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_node_never_calls_a_revoked_token_active_past_the_bound() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = fresh_database(Backend::Postgres, &dir).await else {
        return;
    };
    let a = node(url.clone(), 200).await;
    let proxy = TcpProxy::start(upstream_of(&url).await).await;
    let b = node(proxy.route(&url), 200).await;
    let app_client = a.client().await;
    let resource_server = a.client().await;
    b.server.engine.sync().await.expect("sync");

    let token = a.access_token(&app_client).await;
    let before: Value = introspect(&b, &resource_server, &token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(before["active"], true);
    assert!(b.readyz_is(200).await);

    proxy.cut();
    revoke(&a, &app_client, &token).await;
    assert_eq!(
        introspect(&a, &resource_server, &token)
            .await
            .json::<Value>()
            .await
            .expect("json"),
        json!({"active": false})
    );

    // Within the bound the cut-off node may still answer from its view; past it, never.
    b.advance(MAX_STALENESS + 1);
    let mut refused = 0;
    for _ in 0..5 {
        let resp = introspect(&b, &resource_server, &token).await;
        match resp.status().as_u16() {
            200 => {
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body, json!({"active": false}), "a stale node said active");
            }
            503 => {
                assert!(resp.headers().contains_key("retry-after"));
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                refused += 1;
            }
            other => panic!("introspection on a partitioned node answered {other}"),
        }
    }
    assert_eq!(
        refused, 5,
        "the store is unreachable: every answer is a 503"
    );
    let ready = b.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["change_log"], "stale", "{ready}");
    // Clients this node holds still get tokens from memory.
    let cc = b
        .client_credentials(app_client.id.as_str(), &app_client.secret)
        .await;
    assert_eq!(cc.status(), 200);

    proxy.restore();
    let healed = eventually(Duration::from_secs(20), || async {
        let resp = introspect(&b, &resource_server, &token).await;
        resp.status() == 200 && resp.json::<Value>().await.ok() == Some(json!({"active": false}))
    })
    .await;
    assert!(
        healed.is_some(),
        "the node sees the revocation once the link returns"
    );
    let ready = eventually(Duration::from_secs(20), || async { b.readyz_is(200).await }).await;
    assert!(ready.is_some(), "readyz is 200 again with no restart");
    let fresh = b.access_token(&app_client).await;
    let body: Value = introspect(&b, &resource_server, &fresh)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["active"], true);
}

/// Two nodes on one SQLite file; the second polls the change log only every ten minutes, so
/// its view goes stale. Past the bound it asks the store, which knows of the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_node_reads_revocations_from_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = fresh_database(Backend::Sqlite, &dir).await else {
        return;
    };
    let a = node(url.clone(), 200).await;
    let b = node(url, 600_000).await;
    let app_client = a.client().await;
    let resource_server = a.client().await;
    b.server.engine.sync().await.expect("sync");
    let token = a.access_token(&app_client).await;
    assert!(active_on(&b, &resource_server, &token).await);
    revoke(&a, &app_client, &token).await;
    b.advance(MAX_STALENESS + 1);
    assert!(
        !active_on(&b, &resource_server, &token).await,
        "a stale node asked the store"
    );
    // Readiness brings the view up to date when the store answers.
    assert!(b.readyz_is(200).await);
}

async fn active_on(app: &TestApp, caller: &TestClient, token: &str) -> bool {
    let resp = introspect(app, caller, token).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["active"].as_bool().expect("active")
}
