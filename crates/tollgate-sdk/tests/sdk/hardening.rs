//! Penetration-test findings: a hostile or misconfigured issuer, redirects, and tenants.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};
use tollgate_sdk::{Dialect, SdkError, TokenProvider, ValidationError, Validator};

use crate::*;

/// A stand-in issuer: discovery naming `issuer` (its own address unless given), an empty JWKS,
/// and introspection answering, for each token, the body `answers` (given the fake's address)
/// holds for it.
async fn fake_issuer(
    issuer: Option<&str>,
    answers: impl FnOnce(&str) -> HashMap<String, Value>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers = answers(&base);
    let doc = json!({
        "issuer": issuer.unwrap_or(&base),
        "jwks_uri": format!("{base}/jwks"),
        "introspection_endpoint": format!("{base}/introspect"),
    });
    async fn introspect(
        State(answers): State<Arc<HashMap<String, Value>>>,
        Form(form): Form<HashMap<String, String>>,
    ) -> Json<Value> {
        let token = form.get("token").cloned().unwrap_or_default();
        Json(
            answers
                .get(&token)
                .cloned()
                .unwrap_or(json!({"active": false})),
        )
    }
    let router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(doc) }),
        )
        .route("/jwks", get(|| async { Json(json!({"keys": []})) }))
        .route("/introspect", post(introspect))
        .with_state(Arc::new(answers));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_naming_another_issuer_is_refused() {
    let base = fake_issuer(Some("https://auth.example"), |_| HashMap::new()).await;
    let refused = Validator::discover(&base).audience("api").build().await;
    assert!(
        matches!(&refused, Err(SdkError::IssuerMismatch { discovered, .. }) if discovered == "https://auth.example"),
        "{:?}",
        refused.err()
    );
    // A real node calling itself something else than the address it was found at.
    let t = tollgate().await;
    let impostor = t.impostor("http://impostor.example").await;
    assert!(matches!(
        Validator::discover(&impostor.1)
            .audience(&t.base)
            .build()
            .await,
        Err(SdkError::IssuerMismatch { .. })
    ));
    // The same issuer, typed with a trailing slash, is still itself.
    Validator::discover(format!("{}/", t.base))
        .audience(&t.base)
        .build()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_answers_must_name_this_issuer_and_audience() {
    let aud = "https://api.example";
    let base = fake_issuer(None, |iss| {
        let active = |extra: Value| {
            let mut body = json!({"active": true, "sub": "OQ1", "exp": 4_000_000_000_i64});
            let extra = extra.as_object().unwrap().clone();
            body.as_object_mut().unwrap().extend(extra);
            body
        };
        let other = "https://other.example";
        [
            ("bare", active(json!({}))),
            ("no-aud", active(json!({"iss": iss}))),
            ("no-iss", active(json!({"aud": aud}))),
            ("other-iss", active(json!({"iss": other, "aud": aud}))),
            ("other-aud", active(json!({"iss": iss, "aud": [other]}))),
            ("inactive", json!({"active": false, "iss": iss, "aud": aud})),
            ("string-aud", active(json!({"iss": iss, "aud": aud}))),
            (
                "array-aud",
                active(json!({"iss": iss, "aud": [other, aud]})),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    })
    .await;
    let validator = Validator::discover(&base)
        .audience(aud)
        .introspection("OQapi", "secret")
        .build()
        .await
        .unwrap();
    for refused in [
        "bare",
        "no-aud",
        "no-iss",
        "other-iss",
        "other-aud",
        "inactive",
    ] {
        assert!(
            matches!(
                validator.validate(refused, &[]).await,
                Err(ValidationError::InvalidToken(_))
            ),
            "{refused}"
        );
    }
    for accepted in ["string-aud", "array-aud"] {
        let claims = validator.validate(accepted, &[]).await.unwrap();
        assert_eq!(claims.sub, "OQ1", "{accepted}");
    }
}

/// A listener that counts the connections it is offered (and serves none).
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (format!("http://{addr}"), count)
}

/// Answers with a 307 to `to` (the same path), as a compromised or misconfigured proxy in
/// front of the issuer might; discovery and JWKS too unless `discovery` (then served
/// normally, naming this address).
async fn redirecting_issuer(to: &str, discovery: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": base,
        "jwks_uri": format!("{base}/jwks"),
        "introspection_endpoint": format!("{base}/introspect"),
    });
    let to = to.to_owned();
    let redirect = move |uri: axum::http::Uri| {
        let location = format!("{to}{}", uri.path());
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [("location", location)],
            )
                .into_response()
        }
    };
    let mut router = Router::new();
    if discovery {
        router = router
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(doc) }),
            )
            .route("/jwks", get(|| async { Json(json!({"keys": []})) }));
    }
    let router = router.fallback(redirect);
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_never_followed() {
    let (elsewhere, connections) = trap().await;
    let base = redirecting_issuer(&elsewhere, true).await;
    for dialect in [Dialect::Standard, Dialect::TwilioV2, Dialect::TwilioV1] {
        let got = TokenProvider::builder(&base)
            .client_credentials("OQclient", "the-secret")
            .dialect(dialect)
            .max_attempts(1)
            .build()
            .unwrap()
            .token()
            .await;
        assert!(
            matches!(got, Err(SdkError::Redirected { status: 307, .. })),
            "{dialect:?}: {got:?}"
        );
    }
    let validator = Validator::discover(&base)
        .audience("https://api.example")
        .introspection("OQapi", "the-secret")
        .build()
        .await
        .unwrap();
    assert!(matches!(
        validator.validate("opaque", &[]).await,
        Err(ValidationError::Unavailable(_))
    ));
    let moved = redirecting_issuer(&elsewhere, false).await;
    assert!(matches!(
        Validator::discover(&moved)
            .audience("https://api.example")
            .build()
            .await,
        Err(SdkError::Redirected { status: 307, .. })
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

/// Every account on a server shares its issuer and may ask for the same audience: only the
/// `account(…)` binding tells one tenant's tokens from another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_bound_to_an_account_refuses_the_others() {
    let t = tollgate().await;
    // Made while there is one account, so it is that one's.
    let a_app = t.app(|_| {}).await;
    let (b, _) = t
        .server
        .admin()
        .create_account(Some("Tenant B".into()), None)
        .await
        .unwrap();
    let b_sid = b.sid.to_string();
    let b_app = t.app(|s| s.account_sid = Some(b.sid.clone())).await;
    let bound_to = |account: &str| {
        Validator::discover(&t.base)
            .audience(&t.base)
            .account(account.to_owned())
            .build()
    };
    let a_only = bound_to(&t.account).await.unwrap();
    let b_only = bound_to(&b_sid).await.unwrap();
    for dialect in [Dialect::Standard, Dialect::TwilioV2, Dialect::TwilioV1] {
        let b_token = t.provider(&b_app, dialect).token().await.unwrap();
        // Same issuer, same audience: an unbound validator cannot tell the tenants apart.
        t.validator()
            .await
            .validate(b_token.secret(), &[])
            .await
            .unwrap();
        assert!(
            matches!(
                a_only.validate(b_token.secret(), &[]).await,
                Err(ValidationError::InvalidToken(m)) if m.contains("another account")
            ),
            "{dialect:?}"
        );
        let claims = b_only.validate(b_token.secret(), &[]).await.unwrap();
        assert_eq!(claims.account_sid.as_deref(), Some(b_sid.as_str()));
    }
    let a_token = t.provider(&a_app, Dialect::TwilioV2).token().await.unwrap();
    a_only.validate(a_token.secret(), &[]).await.unwrap();
    assert!(b_only.validate(a_token.secret(), &[]).await.is_err());
    // Both, for an API serving two tenants.
    let both = Validator::discover(&t.base)
        .audience(&t.base)
        .account(&t.account)
        .account(&b_sid)
        .build()
        .await
        .unwrap();
    both.validate(a_token.secret(), &[]).await.unwrap();
}
