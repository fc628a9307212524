//! RFC 6749 section 6 with rotation: a retired token works inside the grace window, reuse
//! after it revokes the family, and revocation reaches the whole family.

use tollgate_core::ErrorKind;
use tollgate_testkit::{Backend, on_both_backends};

use crate::harness::{harness, kind};

async fn refresh_grace_and_reuse(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let first = h.redeem(&h.code().await).await.expect("tokens");
    let a = first.refresh_token.expect("a");
    let b = h
        .refresh(&a)
        .await
        .expect("rotation")
        .refresh_token
        .expect("b");
    assert_ne!(a, b);
    // Inside the grace window a repeat of `a` still succeeds.
    h.clock.advance(10);
    let c = h.refresh(&a).await.expect("inside grace");
    assert!(c.refresh_token.is_some());
    // After it, a use of `a` is reuse: refused, and the whole family is revoked.
    h.clock.advance(1);
    assert_eq!(kind(h.refresh(&a).await), ErrorKind::InvalidGrant);
    assert_eq!(kind(h.refresh(&b).await), ErrorKind::InvalidGrant);
    let c = c.refresh_token.expect("c");
    assert_eq!(kind(h.refresh(&c).await), ErrorKind::InvalidGrant);
    let _ = &h.admin;
}

/// RFC 7009 section 2.1: the hint only orders the search; a refresh token sent as
/// `token_type_hint=access_token` is still revoked.
async fn a_mismatched_revocation_hint_still_revokes(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let issued = h.redeem(&h.code().await).await.expect("tokens");
    let refresh = issued.refresh_token.expect("refresh token");
    let id = tollgate_core::ids::ClientId::parse(&h.client.client_id).expect("id");
    let client = h.engine.client(&id).expect("client");
    h.engine
        .revoke(&client, &refresh, Some("access_token"))
        .await
        .expect("revoke");
    assert_eq!(kind(h.refresh(&refresh).await), ErrorKind::InvalidGrant);
}

on_both_backends!(
    refresh_grace_and_reuse,
    a_mismatched_revocation_hint_still_revokes
);
