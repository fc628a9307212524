//! The client's policy as it is now, applied again on every continued grant.

use tollgate_core::ErrorKind;
use tollgate_core::admin::{Caller, ClientPatch};
use tollgate_core::engine::TokenRequest;
use tollgate_testkit::{Backend, on_both_backends};

use crate::harness::{harness, kind};

/// The client's current policy narrows every continued grant: a scope the administrator
/// removed is not minted again by a refresh or a device poll, and cannot be asked for.
async fn continued_grants_follow_the_clients_current_scopes(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let first = h.redeem(&h.code().await).await.expect("tokens");
    assert_eq!(first.scope, "read");
    let d = h.start_device().await;
    assert!(h.approve(&d.user_code).await);

    let id = tollgate_core::ids::ClientId::parse(&h.client.client_id).expect("id");
    h.admin
        .update_client(
            &Caller::Operator,
            &id,
            ClientPatch {
                scopes: Some(vec!["write".into()]),
                ..ClientPatch::default()
            },
        )
        .await
        .expect("scope removed");
    h.engine.sync().await.expect("sync");

    let refresh = first.refresh_token.expect("refresh token");
    let narrowed = h.refresh(&refresh).await.expect("refresh");
    assert_eq!(narrowed.scope, "", "the removed scope is not minted again");
    let asked = h
        .engine
        .token(TokenRequest {
            grant_type: Some("refresh_token".into()),
            client: Some(h.client.clone()),
            refresh_token: narrowed.refresh_token.clone(),
            scope: Some("read".into()),
            ..TokenRequest::default()
        })
        .await;
    assert_eq!(kind(asked), ErrorKind::InvalidScope);

    h.clock.advance(10);
    let polled = h.poll(&d.device_code).await.expect("device tokens");
    assert_eq!(
        polled.scope, "",
        "a device poll gets the current policy too"
    );
}

on_both_backends!(continued_grants_follow_the_clients_current_scopes);
