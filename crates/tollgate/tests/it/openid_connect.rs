//! OpenID Connect: the `openidconnect` crate completes the flow against Tollgate, and the
//! userinfo endpoint refuses what is not a user's bearer token.

use openidconnect::core::CoreUserInfoClaims;
use openidconnect::{OAuth2TokenResponse, TokenResponse};

use crate::helpers::oidc::{code_url, exchange, oidc_http, relying_party};
use crate::helpers::{Backend, Browser, json, now, query_param, spawn_app};
use tollgate_testkit::on_both_backends;

async fn openidconnect_crate_completes_the_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("ada@example.com").await;
    let http = oidc_http();
    let oidc = relying_party(&app, &client).await;
    let (url, csrf, nonce, verifier) = code_url(&oidc, &["email", "profile"]);

    let browser = Browser::new(&app);
    let location = browser.authorize(&url, "ada@example.com").await;
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.base.as_str())
    );
    let code = query_param(&location, "code").expect("code");

    let token = exchange(&oidc, code, verifier).await;
    assert!(token.refresh_token().is_some());
    let id_token = token.id_token().expect("id_token");
    let claims = id_token
        .claims(&oidc.id_token_verifier(), &nonce)
        .expect("id_token verifies with nonce");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(
        claims
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Ada")
    );
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    assert!((now() - 30..=now()).contains(&auth_time));

    let info: CoreUserInfoClaims = oidc
        .user_info(token.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), claims.subject().as_str());
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // The access token is an RFC 9068 JWT for the user.
    let at = app.verify_access_token(token.access_token().secret()).await;
    assert_eq!(at["sub"], claims.subject().as_str());
    assert_eq!(at["client_id"], client.id.as_str());
    assert_eq!(at["scope"], "openid email profile");
    assert_eq!(at["account_sid"], app.account.sid.as_str());
}

async fn userinfo_requires_a_good_bearer_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cc = app.client().await;
    let machine_token = app.access_token(&cc).await;
    for (auth, status, error) in [
        (None, 401, "invalid_token"),
        (Some("Bearer not-a-jwt".to_owned()), 401, "invalid_token"),
        (
            Some(format!("Bearer {machine_token}")),
            403,
            "insufficient_scope",
        ),
        (
            Some("Basic Zm9vOmJhcg==".to_owned()),
            400,
            "invalid_request",
        ),
    ] {
        let mut req = app.http.get(app.url("/oauth/userinfo"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("userinfo");
        assert_eq!(resp.status().as_u16(), status);
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .is_ok_and(|h| h.starts_with("Bearer"))
        );
        assert_eq!(json(resp, status).await["error"], error);
    }
}

on_both_backends!(
    openidconnect_crate_completes_the_flow,
    userinfo_requires_a_good_bearer_token,
);
