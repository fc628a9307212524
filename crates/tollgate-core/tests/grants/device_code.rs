//! RFC 8628: polling, slow_down, approval, denial and expiry on the injected clock.

use tollgate_core::ErrorKind;
use tollgate_testkit::{Backend, on_both_backends};

use crate::harness::{harness, kind};

async fn device_polling(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let d = h.start_device().await;
    assert_eq!(
        kind(h.poll(&d.device_code).await),
        ErrorKind::AuthorizationPending
    );
    // Polling faster than the interval slows the device down by 5 s.
    h.clock.advance(1);
    assert_eq!(kind(h.poll(&d.device_code).await), ErrorKind::SlowDown);
    h.clock.advance(10);
    assert_eq!(
        kind(h.poll(&d.device_code).await),
        ErrorKind::AuthorizationPending
    );
    assert!(h.approve(&d.user_code).await);
    h.clock.advance(10);
    let issued = h.poll(&d.device_code).await.expect("approved");
    assert!(issued.refresh_token.is_some());
    // The device code is spent.
    h.clock.advance(10);
    assert_eq!(kind(h.poll(&d.device_code).await), ErrorKind::InvalidGrant);

    // Unanswered device codes expire on the injected clock.
    let late = h.start_device().await;
    h.clock.advance(601);
    assert_eq!(
        kind(h.poll(&late.device_code).await),
        ErrorKind::ExpiredToken
    );
}

/// A device the user turned down gets `access_denied`, once; the code is then spent.
async fn a_denied_device_is_refused(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let d = h.start_device().await;
    let decided = h.engine.decide_device(&d.user_code, false, &h.who).await;
    assert!(decided.expect("decide"));
    h.clock.advance(10);
    assert_eq!(kind(h.poll(&d.device_code).await), ErrorKind::AccessDenied);
    h.clock.advance(10);
    assert_ne!(
        kind(h.poll(&d.device_code).await),
        ErrorKind::AuthorizationPending
    );
}

on_both_backends!(device_polling, a_denied_device_is_refused);
