//! `email_verified` (OIDC Core section 5.1): an address nobody has vouched for is released
//! with `email_verified: false`, so a relying party does not take an unverified claim for
//! proof; an operator can mark it verified.

use serde_json::Value;
use tollgate_core::admin::Caller;

use crate::helpers::oauth::{get_code, json, redeem};
use crate::helpers::{Backend, Browser, TestApp, TestClient, VERIFIER, spawn_app};
use tollgate_testkit::on_both_backends;

/// A code flow with `openid email`: the id token's claims and userinfo's answer.
pub(crate) async fn claims(app: &TestApp, c: &TestClient, email: &str) -> (Value, Value) {
    let browser = Browser::new(app);
    let code = get_code(&browser, "/oauth/authorize", c, "openid email", email).await;
    let tokens = json(redeem(app, c, &code, Some(VERIFIER)).await, 200).await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let id = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(id_token).expect("claims");
    let access = tokens["access_token"].as_str().expect("access token");
    let info = app
        .http
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    (id, json(info, 200).await)
}

async fn email_verified_is_released_and_false_until_vouched_for(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.code_client(false).await;
    let user = app.user("claims@example.com").await;
    let (id, info) = claims(&app, &c, "claims@example.com").await;
    assert_eq!(id["email"], "claims@example.com");
    assert_eq!(id["email_verified"], false, "{id}");
    assert_eq!(info["email_verified"], false, "{info}");

    let marked = app
        .server
        .admin()
        .set_email_verified(&Caller::Operator, &user.sid, true)
        .await
        .expect("verified");
    assert!(marked.email_verified);
    let (id, info) = claims(&app, &c, "claims@example.com").await;
    assert_eq!(id["email_verified"], true, "{id}");
    assert_eq!(info["email_verified"], true, "{info}");

    // Another account's administrator cannot vouch for this user.
    let other =
        tollgate_core::ids::AccountSid::parse("AC00000000000000000000000000000000").expect("sid");
    let refused = app
        .server
        .admin()
        .set_email_verified(&Caller::Account(other), &user.sid, false)
        .await;
    assert!(refused.is_err());
}

on_both_backends!(email_verified_is_released_and_false_until_vouched_for);
