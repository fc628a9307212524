//! Which audiences a client assertion may name (draft-ietf-oauth-rfc7523bis, the 2025
//! audience-injection fix): the issuer alone for FAPI 2.0 clients; the issuer or the endpoint,
//! and nothing else, for the others. And DPoP's `htm` is compared case-sensitively.

use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use tollgate_core::Clock;

use crate::helpers::oauth::error_of;
use crate::helpers::{Backend, ClientKey, TestApp, key_app, spawn_app};
use tollgate_testkit::on_both_backends;

/// An assertion for `client` with any `aud` value.
fn assertion(app: &TestApp, key: &ClientKey, client: &str, aud: Value) -> String {
    let now = app.clock.now();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(key.kid.clone());
    let jti = format!("jti-{}-{}", now, rand_suffix());
    key.sign(
        h,
        &json!({"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 60,
                "jti": jti}),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Client authentication at the introspection endpoint: 200 when the assertion is accepted.
async fn introspect_with(app: &TestApp, assertion: &str) -> (u16, String) {
    let resp = app
        .post_form(
            "/oauth/introspect",
            &[
                ("token", "not-a-token"),
                (
                    "client_assertion_type",
                    tollgate_core::client_assertion::JWT_BEARER,
                ),
                ("client_assertion", assertion),
            ],
        )
        .await;
    if resp.status() == 200 {
        return (200, String::new());
    }
    let (status, _, why) = error_of(resp).await;
    (status, why)
}

/// Every `aud` in `refused` is refused with a 401 (whose description names `why_refused`,
/// when given); every one in `accepted` is accepted.
async fn check_audiences(
    app: &TestApp,
    key: &ClientKey,
    id: &str,
    refused: &[Value],
    why_refused: Option<&str>,
    accepted: &[Value],
) {
    for aud in refused {
        let (status, why) = introspect_with(app, &assertion(app, key, id, aud.clone())).await;
        assert_eq!(status, 401, "{aud}: {why}");
        if let Some(needle) = why_refused {
            assert!(why.contains(needle), "{why}");
        }
    }
    for aud in accepted {
        let (status, why) = introspect_with(app, &assertion(app, key, id, aud.clone())).await;
        assert_eq!(status, 200, "{aud}: {why}");
    }
}

async fn fapi_assertions_name_the_issuer_alone(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = ClientKey::es256();
    let c = app.fapi_client(&key).await;
    let id = c.id.as_str();
    let issuer = app.base.clone();
    let endpoint = app.url("/oauth/introspect");
    let refused = [
        json!(endpoint),
        json!(["https://attacker.example/token", issuer]),
        json!([issuer, endpoint]),
        json!([]),
    ];
    let accepted = [json!(issuer), json!([issuer])];
    check_audiences(&app, &key, id, &refused, Some("issuer alone"), &accepted).await;
}

async fn other_assertions_name_nothing_but_issuer_or_endpoint(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    let issuer = app.base.clone();
    let endpoint = app.url("/oauth/introspect");
    let refused = [
        json!(["https://attacker.example/token", issuer]),
        json!([endpoint, "https://attacker.example/token"]),
        json!("https://attacker.example/token"),
        json!(42),
    ];
    let accepted = [json!(issuer), json!(endpoint), json!([issuer, endpoint])];
    check_audiences(&app, &key, id, &refused, None, &accepted).await;
}

/// RFC 9449 section 4.3: `htm: "post"` does not match a POST.
async fn dpop_method_is_case_sensitive(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    let url = app.url("/oauth/token");
    let lower = key.proof(&app, "post", &url, json!({}));
    let (status, error, why) = error_of(app.key_token(&key, id, Some(&lower)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_dpop_proof"),
        "{why}"
    );
    let exact = key.proof(&app, "POST", &url, json!({}));
    let resp = app.key_token(&key, id, Some(&exact)).await;
    assert_eq!(resp.status(), 200);
}

on_both_backends!(
    fapi_assertions_name_the_issuer_alone,
    other_assertions_name_nothing_but_issuer_or_endpoint,
    dpop_method_is_case_sensitive
);
