//! RFC 6749 section 4.1 with RFC 7636: a code is redeemed once, within its lifetime, by the
//! client it was issued to, with its verifier and its redirect URI.

use tollgate_core::ErrorKind;
use tollgate_core::engine::TokenRequest;
use tollgate_testkit::{Backend, REDIRECT, VERIFIER, on_both_backends};

use crate::harness::{harness, kind};

async fn codes_are_single_use_and_expire(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let code = h.code().await;
    let issued = h.redeem(&code).await.expect("first redemption");
    let refresh = issued.refresh_token.expect("refresh token");
    // A replay is refused and revokes what the code issued.
    assert_eq!(kind(h.redeem(&code).await), ErrorKind::InvalidGrant);
    assert_eq!(kind(h.refresh(&refresh).await), ErrorKind::InvalidGrant);

    // A code lives 60 s on the injected clock.
    let late = h.code().await;
    h.clock.advance(61);
    assert_eq!(kind(h.redeem(&late).await), ErrorKind::InvalidGrant);
    let fresh = h.code().await;
    h.clock.advance(59);
    assert!(h.redeem(&fresh).await.is_ok());
}

/// A code comes back only with the verifier of its challenge and the redirect URI it was
/// issued for; neither check can be skipped by leaving the parameter out.
async fn a_code_needs_its_verifier_and_redirect_uri(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let attempts = [
        (Some("x".repeat(43)), Some(REDIRECT.to_owned())),
        (None, Some(REDIRECT.to_owned())),
        (
            Some(VERIFIER.to_owned()),
            Some("http://127.0.0.1/other".to_owned()),
        ),
        (Some(VERIFIER.to_owned()), None),
    ];
    for (code_verifier, redirect_uri) in attempts {
        let req = TokenRequest {
            code: Some(h.code().await),
            code_verifier,
            redirect_uri,
            ..TokenRequest::default()
        };
        let refused = h.grant("authorization_code", req).await;
        assert!(
            matches!(
                kind(refused),
                ErrorKind::InvalidGrant | ErrorKind::InvalidRequest
            ),
            "a code without its verifier or redirect URI is refused"
        );
    }
    let issued = h.redeem(&h.code().await).await.expect("the right pair");
    assert_eq!(issued.scope, "read");
    let seen = h.introspect(&issued.access_token).await;
    assert!(seen.active);
    assert_eq!(seen.sub.as_deref(), Some(h.who.user.sid.as_str()));
}

on_both_backends!(
    codes_are_single_use_and_expire,
    a_code_needs_its_verifier_and_redirect_uri
);
