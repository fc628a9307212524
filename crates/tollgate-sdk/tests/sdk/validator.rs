use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tollgate_core::model::TokenFormat;
use tollgate_sdk::{
    Authenticated, Dialect, RequireToken, TokenProvider, ValidationError, Validator,
};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_and_the_validator_matrix() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let validator = t.validator().await;
    let read = vec!["read".to_owned()];
    for dialect in [Dialect::Standard, Dialect::TwilioV2, Dialect::TwilioV1] {
        let token = t.provider(&app, dialect).token().await.unwrap();
        let claims = validator.validate(token.secret(), &read).await.unwrap();
        assert_eq!(
            claims.account_sid.as_deref(),
            Some(t.account.as_str()),
            "{dialect:?}"
        );
    }
    let token = t.provider(&app, Dialect::Standard).token().await.unwrap();
    // Missing scope.
    let admin = vec!["admin".to_owned()];
    assert!(matches!(
        validator.validate(token.secret(), &admin).await,
        Err(ValidationError::InsufficientScope(_))
    ));
    // Wrong audience.
    let elsewhere = Validator::discover(&t.base)
        .audience("https://other.example")
        .build()
        .await
        .unwrap();
    assert!(matches!(
        elsewhere.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
    // Another issuer's token.
    let other = tollgate().await;
    let foreign_app = other.app(|_| {}).await;
    let foreign = other
        .provider(&foreign_app, Dialect::Standard)
        .token()
        .await
        .unwrap();
    assert!(validator.validate(foreign.secret(), &[]).await.is_err());
    // A token signed by a key the validator trusts but naming another issuer: a second node on
    // the same database (so the same signing keys) that calls itself something else.
    let impostor = t.impostor("http://impostor.example").await;
    let impostors = TokenProvider::builder(&impostor.1)
        .client_credentials(&app.id, &app.secret)
        .build()
        .unwrap()
        .token()
        .await
        .unwrap();
    assert!(matches!(
        validator.validate(impostors.secret(), &[]).await,
        Err(ValidationError::InvalidToken(m)) if m.contains("another issuer")
    ));
    drop(impostor);
    // Expired: the API's clock two hours on (the token lives one).
    let later = Validator::discover(&t.base)
        .audience(&t.base)
        .clock(Arc::new(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.unwrap().as_secs() as i64 + 7200
        }))
        .build()
        .await
        .unwrap();
    assert!(matches!(
        later.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(m)) if m.contains("expired")
    ));
    // Key rotation is invisible: a token signed by a key the validator has not seen yet.
    t.server.engine.rotate_signing_key(0).await.unwrap();
    let rotated = t.provider(&app, Dialect::Standard).token().await.unwrap();
    assert_ne!(kid(rotated.secret()), kid(token.secret()));
    validator.validate(rotated.secret(), &read).await.unwrap();
    validator.validate(token.secret(), &read).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_and_revoked_tokens_through_introspection() {
    let t = tollgate().await;
    let api = t.app(|_| {}).await;
    let opaque_app = t.app(|s| s.token_format = TokenFormat::Opaque).await;
    let validator = t.checking_validator(&api).await;
    let opaque = t
        .provider(&opaque_app, Dialect::Standard)
        .token()
        .await
        .unwrap();
    assert!(!opaque.secret().contains('.'));
    validator.validate(opaque.secret(), &[]).await.unwrap();
    let app = t.app(|_| {}).await;
    let jwt = t.provider(&app, Dialect::Standard).token().await.unwrap();
    validator.validate(jwt.secret(), &[]).await.unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", t.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form(&[("token", jwt.secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(matches!(
        validator.validate(jwt.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
}

/// An API answering the token's `sub` at `path` to tokens with `scope`: its base URL.
async fn serve_sub(t: &Tollgate, path: &str, scope: &'static str) -> String {
    let validator = t.validator().await;
    serve(
        Router::new()
            .route(
                path,
                get(|Authenticated(c): Authenticated| async move { c.sub }),
            )
            .layer(RequireToken::new(validator).scopes([scope])),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_and_extractor_answer_rfc_6750() {
    let t = tollgate().await;
    let app = t.app(|s| s.scopes = vec!["read".into()]).await;
    let api = serve_sub(&t, "/me", "read").await;
    let strict = serve_sub(&t, "/admin", "admin").await;
    let http = reqwest::Client::new();
    let none = http.get(format!("{api}/me")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    // No error code without credentials (RFC 6750 section 3.1), and the scope to ask for.
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"api\", scope=\"read\""
    );
    let fetch = |url: String, token: &str| http.get(url).bearer_auth(token).send();
    let bad = fetch(format!("{api}/me"), "x.y.z").await.unwrap();
    assert!(challenge_of(&bad, 401).contains("invalid_token"));
    let token = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let ok = fetch(format!("{api}/me"), token.secret()).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), app.id);
    let weak = fetch(format!("{strict}/admin"), token.secret())
        .await
        .unwrap();
    assert!(challenge_of(&weak, 403).contains("insufficient_scope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_api_allows_only_its_own_account() {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let api = serve(messages_api::router(t.validator().await)).await;
    let http = reqwest::Client::new();
    let token = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let path = format!("{api}/2010-04-01/Accounts/{}/Messages.json", t.account);
    let created = http
        .post(&path)
        .bearer_auth(token.secret())
        .form(&[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "Hi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let list: serde_json::Value = http
        .get(&path)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["messages"][0]["body"], "Hi");
    let other =
        format!("{api}/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json");
    let denied = http
        .get(&other)
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(http.get(&path).send().await.unwrap().status(), 401);
    let expired = http
        .get(&path)
        .bearer_auth("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);

    // With introspection on (the example's --introspect-as), a revoked token stops at once.
    let checking = t.checking_validator(&app).await;
    let api = serve(messages_api::router(checking)).await;
    let path = format!("{api}/2010-04-01/Accounts/{}/Messages.json", t.account);
    let fresh = t.provider(&app, Dialect::TwilioV2).token().await.unwrap();
    let ok = http
        .get(&path)
        .bearer_auth(fresh.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let revoked = http
        .post(format!("{}/oauth/revoke", t.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form(&[("token", fresh.secret())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let refused = http
        .get(&path)
        .bearer_auth(fresh.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
