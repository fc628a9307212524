//! Refresh token rotation: the grace window, reuse detection, scope narrowing and concurrent
//! use.

use crate::helpers::{
    Backend, assert_refresh_refused, code_flow, code_flow_with, code_refresh_token, json, refresh,
    refresh_token_in,
};
use tollgate_testkit::on_both_backends;

async fn refresh_rotation_grace_and_reuse(backend: Backend) {
    let Some((app, client, browser)) = code_flow_with(backend, "rt@example.com", |c| {
        c.engine.refresh_grace_secs = 1
    })
    .await
    else {
        return;
    };
    let a = code_refresh_token(&app, &client, &browser, "rt@example.com").await;

    // Two uses of A within the grace window both succeed; the second retires the first's
    // successor, so one branch lives on.
    let b = refresh_token_in(refresh(&app, &client, &a).await).await;
    let c = refresh_token_in(refresh(&app, &client, &a).await).await;
    assert_ne!(b, c);
    let c2 = refresh_token_in(refresh(&app, &client, &c).await).await;
    // A use of the retired branch is theft: refused, and the whole family is revoked.
    assert_refresh_refused(&app, &client, &b).await;
    assert_refresh_refused(&app, &client, &c2).await;

    // A use after the window is theft too.
    let a = code_refresh_token(&app, &client, &browser, "rt@example.com").await;
    let b = refresh_token_in(refresh(&app, &client, &a).await).await;
    app.advance(2);
    assert_refresh_refused(&app, &client, &a).await;
    assert_refresh_refused(&app, &client, &b).await;

    // Scope may narrow on refresh but never widen; another client's token is refused.
    let t = code_refresh_token(&app, &client, &browser, "rt@example.com").await;
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "read write"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
            ],
        )
        .await;
    assert_eq!(json(resp, 400).await["error"], "invalid_scope");
    let other = app.code_client(false).await;
    assert_refresh_refused(&app, &other, &t).await;
    // Refused requests do not spend the token, even long after the grace window.
    app.advance(1);
    assert_eq!(
        refresh(&app, &client, &t).await.status(),
        200,
        "the token survived the refused requests"
    );
}

async fn concurrent_refreshes_both_succeed(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "cc@example.com").await else {
        return;
    };
    let a = code_refresh_token(&app, &client, &browser, "cc@example.com").await;
    let (r1, r2) = tokio::join!(refresh(&app, &client, &a), refresh(&app, &client, &a));
    let (t1, t2) = (json(r1, 200).await, json(r2, 200).await);
    // Both concurrent uses succeed, but only one branch may live on past them.
    let mut live = 0;
    for t in [&t1, &t2] {
        let next = t["refresh_token"].as_str().expect("successor");
        if refresh(&app, &client, next).await.status() == 200 {
            live += 1;
        }
    }
    assert!(live <= 1, "two refresh branches both lived");
}

on_both_backends!(
    refresh_rotation_grace_and_reuse,
    concurrent_refreshes_both_succeed,
);
