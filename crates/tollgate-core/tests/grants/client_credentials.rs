//! RFC 6749 section 4.4: a confidential client's own token, narrowed to what its policy allows.

use tollgate_core::ErrorKind;
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_testkit::{Backend, on_both_backends};

use crate::harness::{Harness, harness, kind};

async fn service_token(
    h: &Harness,
    client: &ClientAuth,
    req: TokenRequest,
) -> Result<tollgate_core::token::Issued, tollgate_core::OAuthError> {
    let req = TokenRequest {
        grant_type: Some("client_credentials".into()),
        client: Some(client.clone()),
        ..req
    };
    h.engine.token(req).await
}

/// The token carries the scopes asked for (all of the client's when none are), names the
/// client as subject and its account, and nothing a user grant adds.
async fn a_token_for_what_was_asked(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let app = h.service_app(&["read", "write"]).await;
    let asked = TokenRequest {
        scope: Some("read".into()),
        ..TokenRequest::default()
    };
    let issued = service_token(&h, &app, asked).await.expect("token");
    assert_eq!(issued.scope, "read");
    assert!(issued.refresh_token.is_none() && issued.id_token.is_none());
    assert_eq!(issued.token_type(), "Bearer");
    let seen = h.introspect(&issued.access_token).await;
    assert!(seen.active);
    assert_eq!(seen.sub.as_deref(), Some(app.client_id.as_str()));
    assert_eq!(seen.client_id.as_deref(), Some(app.client_id.as_str()));
    assert_eq!(seen.scope.as_deref(), Some("read"));
    assert_eq!(seen.account_sid.as_deref(), Some(h.account.as_str()));
    assert_eq!(seen.exp, Some(issued.issued_at + issued.expires_in));

    let all = service_token(&h, &app, TokenRequest::default()).await;
    let mut granted: Vec<_> = all
        .expect("token")
        .scope
        .split(' ')
        .map(str::to_owned)
        .collect();
    granted.sort();
    assert_eq!(granted, ["read", "write"]);
}

/// Each refusal names its cause: a wrong secret, a grant the app was not given, a scope or an
/// audience outside its policy, an account of another organization's form.
async fn refusals_name_their_cause(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let app = h.service_app(&["read"]).await;
    let wrong = ClientAuth::with_secret(app.client_id.clone(), Some("not-the-secret".into()));
    let refused = service_token(&h, &wrong, TokenRequest::default()).await;
    assert_eq!(kind(refused), ErrorKind::InvalidClient);

    let no_grant = service_token(&h, &h.client, TokenRequest::default()).await;
    assert_eq!(kind(no_grant), ErrorKind::UnauthorizedClient);

    let cases = [
        (
            TokenRequest {
                scope: Some("admin".into()),
                ..TokenRequest::default()
            },
            ErrorKind::InvalidScope,
        ),
        (
            TokenRequest {
                audience: vec!["https://elsewhere.example".into()],
                ..TokenRequest::default()
            },
            ErrorKind::InvalidTarget,
        ),
        (
            TokenRequest {
                account_sid: Some("not-a-sid".into()),
                ..TokenRequest::default()
            },
            ErrorKind::InvalidRequest,
        ),
    ];
    for (req, expected) in cases {
        assert_eq!(kind(service_token(&h, &app, req).await), expected);
    }
    let allowed = TokenRequest {
        audience: vec!["https://api.example".into()],
        ..TokenRequest::default()
    };
    assert!(service_token(&h, &app, allowed).await.is_ok());
}

/// The token stops being active once its lifetime has passed on the engine's clock.
async fn the_token_expires_on_the_engines_clock(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let app = h.service_app(&["read"]).await;
    let issued = service_token(&h, &app, TokenRequest::default()).await;
    let issued = issued.expect("token");
    h.clock.advance(issued.expires_in - 1);
    assert!(h.introspect(&issued.access_token).await.active);
    h.clock.advance(2);
    assert!(!h.introspect(&issued.access_token).await.active);
}

on_both_backends!(
    a_token_for_what_was_asked,
    refusals_name_their_cause,
    the_token_expires_on_the_engines_clock
);
