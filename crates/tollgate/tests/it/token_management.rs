//! Revocation (RFC 7009) and introspection (RFC 7662) of JWT, opaque and refresh tokens, and
//! their agreement with the token endpoint, across two server processes on one database.

use serde_json::Value;
use tollgate_core::model::TokenFormat;

use crate::helpers::{Backend, TestApp, TestClient, spawn_app, spawn_app_with};
use crate::helpers::{Browser, REDIRECT, query_param, redeem};
use tollgate_testkit::on_both_backends;

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    let resp = app.introspect(caller, token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.expect("json")
}

async fn revoke(app: &TestApp, caller: &TestClient, token: &str, hint: Option<&str>) -> u16 {
    app.revocation_status(caller, token, hint).await
}

async fn jwt_access_tokens(backend: Backend) {
    let Some(a) = spawn_app(backend).await else {
        return;
    };
    let app_client = a.client().await;
    let resource_server = a.client().await;
    let (stranger_account, _) = a.stranger_account().await;
    let stranger = a
        .client_with(|s| s.account_sid = Some(stranger_account.sid.clone()))
        .await;

    let token = a.access_token(&app_client).await;
    let i = introspect(&a, &resource_server, &token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], app_client.id.as_str());
    assert_eq!(i["scope"], "read write");
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["iss"], a.base.as_str());
    assert_eq!(i["account_sid"], a.account.sid.as_str());
    assert!(i["exp"].as_i64().is_some() && i["jti"].as_str().is_some());
    // Another account's client learns nothing.
    assert_eq!(
        introspect(&a, &stranger, &token).await,
        serde_json::json!({"active": false})
    );
    // Another client cannot revoke it (200 all the same, nothing happens).
    assert_eq!(revoke(&a, &resource_server, &token, None).await, 200);
    assert_eq!(
        introspect(&a, &resource_server, &token).await["active"],
        true
    );

    // A second node on the same database sees the revocation at once.
    let b = a.second_node(|_| {}).await;
    b.server.engine.sync().await.expect("sync");
    assert_eq!(
        introspect(&b, &resource_server, &token).await["active"],
        true
    );
    assert_eq!(
        revoke(&a, &app_client, &token, Some("access_token")).await,
        200
    );
    // Other nodes within a second (DESIGN section 5): the in-memory set, fed by the log.
    let seen = crate::helpers::eventually(std::time::Duration::from_secs(1), || async {
        introspect(&b, &resource_server, &token).await == serde_json::json!({"active": false})
    })
    .await;
    assert!(
        seen.is_some(),
        "the second node saw the revocation within a second"
    );
    assert_eq!(
        introspect(&a, &resource_server, &token).await["active"],
        false
    );
    // Revoking one token does not stop the client getting new ones, on either node.
    let fresh = b.access_token(&app_client).await;
    assert_eq!(
        introspect(&a, &resource_server, &fresh).await["active"],
        true
    );

    // Garbage, tampered and unknown tokens are simply inactive; revoking them is a no-op.
    let mut tampered = fresh.clone();
    tampered.push('x');
    for t in ["garbage", tampered.as_str(), "a.b.c"] {
        assert_eq!(
            introspect(&a, &resource_server, t).await,
            serde_json::json!({"active": false})
        );
        assert_eq!(revoke(&a, &app_client, t, None).await, 200);
    }
}

async fn opaque_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let opaque = app
        .client_with(|s| s.token_format = TokenFormat::Opaque)
        .await;
    let rs = app.client().await;
    let resp = app
        .client_credentials(opaque.id.as_str(), &opaque.secret)
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token");
    assert!(!token.contains('.'), "opaque, not a JWT");
    assert_eq!(body["expires_in"], 3600);
    let i = introspect(&app, &rs, token).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], opaque.id.as_str());
    assert_eq!(i["sub"], opaque.id.as_str());
    assert_eq!(i["scope"], "read write");
    // v1 and v2 issue opaque tokens for this client too.
    let v2: Value = app
        .client_credentials_at("/v2/token", opaque.id.as_str(), &opaque.secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        introspect(&app, &rs, v2["access_token"].as_str().expect("v2")).await["active"],
        true
    );
    assert_eq!(revoke(&app, &opaque, token, None).await, 200);
    assert_eq!(
        introspect(&app, &rs, token).await,
        serde_json::json!({"active": false})
    );
}

async fn refresh_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    let rs = app.client().await;
    app.user("rv@example.com").await;
    let browser = Browser::new(&app);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=read&code_challenge={}&code_challenge_method=S256",
        client.id,
        tollgate_core::authorize::s256("v".repeat(43).as_str())
    );
    let code = query_param(&browser.authorize(&url, "rv@example.com").await, "code").expect("code");
    let body: Value = redeem(&app, &client, &code, Some(&"v".repeat(43)))
        .await
        .json()
        .await
        .expect("json");
    let rt = body["refresh_token"].as_str().expect("refresh");
    let i = introspect(&app, &rs, rt).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    assert!(i["sub"].as_str().is_some_and(|s| s.starts_with("US")));
    // Revoking the refresh token revokes its family; the token endpoint agrees.
    assert_eq!(revoke(&app, &client, rt, Some("refresh_token")).await, 200);
    assert_eq!(
        introspect(&app, &rs, rt).await,
        serde_json::json!({"active": false})
    );
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
}

async fn expired_tokens_and_bad_callers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.engine.access_token_ttl = 1).await else {
        return;
    };
    let c = app.client().await;
    let token = app.access_token(&c).await;
    assert_eq!(introspect(&app, &c, &token).await["active"], true);
    app.advance(2);
    assert_eq!(
        introspect(&app, &c, &token).await,
        serde_json::json!({"active": false})
    );

    let public = app.code_client(true).await;
    let resp = app
        .post_form(
            "/oauth/introspect",
            &[("token", &token), ("client_id", public.id.as_str())],
        )
        .await;
    assert_eq!(resp.status(), 401, "public clients may not introspect");
    let resp = app
        .post_basic(
            "/oauth/introspect",
            (c.id.as_str(), "wrong"),
            &[("token", &token)],
        )
        .await;
    assert_eq!(resp.status(), 401);
    let resp = app
        .post_basic(
            "/oauth/revoke",
            (c.id.as_str(), &c.secret),
            &[("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(resp.status(), 400, "token is required");
    let resp = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(c.id.as_str(), Some(&c.secret))
        .json(&serde_json::json!({"token": token}))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 415);
}

on_both_backends!(
    jwt_access_tokens,
    opaque_tokens,
    refresh_tokens,
    expired_tokens_and_bad_callers
);
