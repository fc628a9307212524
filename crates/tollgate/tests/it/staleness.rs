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
use crate::helpers::{
    Backend, Browser, TestApp, TestClient, VERIFIER, eventually, fresh_database, get_code, json,
    redeem, retry_later, spawn_on,
};

/// The default bound, which these tests rely on.
const MAX_STALENESS: i64 = 5;

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

/// Two nodes on one PostgreSQL database, the second reaching it through a proxy that can cut
/// the link. The directory holds what the database's life depends on.
async fn partitioned_pair() -> Option<(tempfile::TempDir, TestApp, TcpProxy, TestApp)> {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Postgres, &dir).await?;
    let a = node(url.clone(), 200).await;
    let proxy = TcpProxy::start(upstream_of(&url).await).await;
    let b = node(proxy.route(&url), 200).await;
    Some((dir, a, proxy, b))
}

/// Two nodes on one SQLite file (in the returned directory); the second polls the change log
/// only every ten minutes.
async fn stale_pair() -> Option<(tempfile::TempDir, TestApp, TestApp)> {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(Backend::Sqlite, &dir).await?;
    let a = node(url.clone(), 200).await;
    let b = node(url, 600_000).await;
    Some((dir, a, b))
}

/// The introspection answer's body, whatever its status.
async fn introspection(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    app.introspect(caller, token)
        .await
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_node_never_calls_a_revoked_token_active_past_the_bound() {
    let Some((_dir, a, proxy, b)) = partitioned_pair().await else {
        return;
    };
    let app_client = a.client().await;
    let resource_server = a.client().await;
    b.server.engine.sync().await.expect("sync");

    let token = a.access_token(&app_client).await;
    let before = introspection(&b, &resource_server, &token).await;
    assert_eq!(before["active"], true);
    assert!(b.readyz_is(200).await);

    proxy.cut();
    a.revoke(&app_client, &token).await;
    assert_eq!(
        introspection(&a, &resource_server, &token).await,
        json!({"active": false})
    );

    // Within the bound the cut-off node may still answer from its view; past it, never.
    b.advance(MAX_STALENESS + 1);
    let mut refused = 0;
    for _ in 0..5 {
        let resp = b.introspect(&resource_server, &token).await;
        match resp.status().as_u16() {
            200 => {
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body, json!({"active": false}), "a stale node said active");
            }
            503 => {
                let body = retry_later(resp, 503, "introspection").await;
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
        let resp = b.introspect(&resource_server, &token).await;
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
    let body = introspection(&b, &resource_server, &fresh).await;
    assert_eq!(body["active"], true);
}

/// Two nodes on one SQLite file; the second polls the change log only every ten minutes, so
/// its view goes stale. Past the bound it asks the store, which knows of the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_node_reads_revocations_from_the_store() {
    let Some((_dir, a, b)) = stale_pair().await else {
        return;
    };
    let app_client = a.client().await;
    let resource_server = a.client().await;
    b.server.engine.sync().await.expect("sync");
    let token = a.access_token(&app_client).await;
    assert!(active_on(&b, &resource_server, &token).await);
    a.revoke(&app_client, &token).await;
    b.advance(MAX_STALENESS + 1);
    assert!(
        !active_on(&b, &resource_server, &token).await,
        "a stale node asked the store"
    );
    // Readiness brings the view up to date when the store answers.
    assert!(b.readyz_is(200).await);
}

/// An `openid` access token for a user of `app`'s account, from a code flow on `app`.
/// A code client and the user `email` on `a`, known to `b` too: the client and an access
/// token for userinfo.
async fn signed_in_on(a: &TestApp, b: &TestApp, email: &str) -> (TestClient, String) {
    let code = a.code_client(false).await;
    a.user(email).await;
    b.server.engine.sync().await.expect("sync");
    let token = userinfo_token(a, &code, email).await;
    (code, token)
}

async fn userinfo_token(app: &TestApp, code: &TestClient, email: &str) -> String {
    let browser = Browser::new(app);
    let c = get_code(&browser, "/oauth/authorize", code, "openid read", email).await;
    json(redeem(app, code, &c, Some(VERIFIER)).await, 200).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A userinfo answer is 401 `invalid_token` with its challenge.
async fn refused_as_invalid(resp: reqwest::Response) -> bool {
    resp.status() == 401
        && resp
            .headers()
            .get("www-authenticate")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.contains("error=\"invalid_token\""))
}

/// Userinfo follows the same bound as introspection: a partitioned node never answers 200 for
/// a token revoked elsewhere, in either dialect; it answers 503 in the dialect's format, and
/// once the link returns it refuses the token and serves fresh ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_node_never_serves_userinfo_for_a_revoked_token() {
    let Some((_dir, a, proxy, b)) = partitioned_pair().await else {
        return;
    };
    let email = "partition@example.com";
    let (code, token) = signed_in_on(&a, &b, email).await;
    assert_eq!(
        json(b.get_with_bearer("/oauth/userinfo", &token).await, 200).await["email"],
        Value::Null
    );

    proxy.cut();
    a.revoke(&code, &token).await;
    // Registered elsewhere after the cut: a client the cut-off node has never held.
    let newcomer = a.client().await;
    assert!(refused_as_invalid(a.get_with_bearer("/oauth/userinfo", &token).await).await);

    b.advance(MAX_STALENESS + 1);
    for _ in 0..3 {
        let resp = b.get_with_bearer("/oauth/userinfo", &token).await;
        let body = retry_later(resp, 503, "a stale, cut-off node answered userinfo").await;
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        let resp = b.get_with_bearer("/v1/userinfo", &token).await;
        let body = retry_later(resp, 503, "a stale, cut-off node answered v1 userinfo").await;
        assert_eq!(body["code"], 20503, "{body}");
        assert_eq!(body["status"], 503, "{body}");
    }
    assert!(b.readyz_is(503).await);
    // A client lookup that misses the cache cannot reach the store: 503, not `invalid_client`.
    let resp = b
        .client_credentials(newcomer.id.as_str(), &newcomer.secret)
        .await;
    let body = retry_later(resp, 503, "an unknown client on a cut-off node").await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    proxy.restore();
    let healed = eventually(Duration::from_secs(20), || async {
        refused_as_invalid(b.get_with_bearer("/oauth/userinfo", &token).await).await
    })
    .await;
    assert!(
        healed.is_some(),
        "the node refuses the revoked token once the link returns"
    );
    let resp = b.get_with_bearer("/v1/userinfo", &token).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.expect("json")["code"], 20003);
    let ready = eventually(Duration::from_secs(20), || async { b.readyz_is(200).await }).await;
    assert!(ready.is_some(), "readyz is 200 again with no restart");
    // A connection the partition broke may still fail one request in format (a 503); then
    // the node serves fresh tokens again.
    let fresh = userinfo_token(&a, &code, email).await;
    let served = eventually(Duration::from_secs(5), || async {
        let resp = b.get_with_bearer("/oauth/userinfo", &fresh).await;
        match resp.status().as_u16() {
            200 => true,
            503 => {
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                false
            }
            other => panic!("userinfo after the link returned: {other}"),
        }
    })
    .await;
    assert!(served.is_some(), "userinfo answers again");
    let info = json(b.get_with_bearer("/oauth/userinfo", &fresh).await, 200).await;
    assert_eq!(
        b.token_status(&newcomer).await,
        200,
        "the newcomer is found once the store answers"
    );
    assert!(info["sub"].as_str().is_some_and(|s| s.starts_with("US")));
}

/// A stale node (it polls the change log every ten minutes) past the bound asks the store
/// whether a userinfo token was revoked, and refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_node_reads_userinfo_revocations_from_the_store() {
    let Some((_dir, a, b)) = stale_pair().await else {
        return;
    };
    let email = "stale@example.com";
    let (code, token) = signed_in_on(&a, &b, email).await;
    json(b.get_with_bearer("/oauth/userinfo", &token).await, 200).await;
    a.revoke(&code, &token).await;
    // Within the bound the node answers from its view, which has not seen the revocation.
    assert_eq!(
        b.get_with_bearer("/oauth/userinfo", &token).await.status(),
        200
    );
    b.advance(MAX_STALENESS + 1);
    assert!(
        refused_as_invalid(b.get_with_bearer("/oauth/userinfo", &token).await).await,
        "a stale node asked the store"
    );
}

async fn active_on(app: &TestApp, caller: &TestClient, token: &str) -> bool {
    let resp = app.introspect(caller, token).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["active"].as_bool().expect("active")
}
