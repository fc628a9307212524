//! Grants that nothing but their own client can spend, and refresh families with one live
//! branch: a foreign client's replay changes nothing; forks made inside the grace window do not
//! outlive it.

use serde_json::Value;

use crate::helpers::{
    Backend, Browser, TestApp, TestClient, VERIFIER, code_flow, json, read_code, redeem, refresh,
    refresh_token_in, rotated, spawn_app, successors,
};
use tollgate_testkit::on_both_backends;

async fn tokens(app: &TestApp, client: &TestClient, email: &str) -> Value {
    let browser = Browser::new(app);
    let code = read_code(&browser, client, email).await;
    json(redeem(app, client, &code, Some(VERIFIER)).await, 200).await
}

async fn foreign_clients_cannot_burn_a_code(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "victim@example.com").await else {
        return;
    };
    let foreign = app.code_client(false).await;
    let code = read_code(&browser, &client, "victim@example.com").await;
    // Presented first by another client: refused, and the code is still good.
    let err = json(redeem(&app, &foreign, &code, None).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    // A wrong verifier from the right client does not spend it either.
    let bad = json(
        redeem(&app, &client, &code, Some(&"x".repeat(43))).await,
        400,
    )
    .await;
    assert_eq!(bad["error"], "invalid_grant");
    let rt = refresh_token_in(redeem(&app, &client, &code, Some(VERIFIER)).await).await;
    // A foreign replay after redemption revokes nothing.
    let err = json(redeem(&app, &foreign, &code, None).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    let next = refresh_token_in(refresh(&app, &client, &rt).await).await;
    // The code's own client replaying it is a replay: the grant it made is revoked.
    let err = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    let after = json(refresh(&app, &client, &next).await, 400).await;
    assert_eq!(
        after["error"], "invalid_grant",
        "the replay revoked the family"
    );
}

async fn refresh_forks_do_not_outlive_the_grace_window(backend: Backend) {
    let Some((app, client, _)) = code_flow(backend, "fork@example.com").await else {
        return;
    };
    // A legitimate use at t=0 and a thief's at t=3 s: both answered, neither branch lives on.
    let a = tokens(&app, &client, "fork@example.com").await["refresh_token"]
        .as_str()
        .expect("a")
        .to_owned();
    let legit = refresh_token_in(refresh(&app, &client, &a).await).await;
    app.advance(3);
    let thief = refresh_token_in(refresh(&app, &client, &a).await).await;
    app.advance(20);
    assert_eq!(
        refresh(&app, &client, &legit).await.status(),
        400,
        "the retired branch"
    );
    assert_eq!(
        refresh(&app, &client, &thief).await.status(),
        400,
        "the family is revoked once a retired branch is used"
    );

    // Twenty concurrent uses: all answered inside the window, one branch at most lives.
    let a = tokens(&app, &client, "fork@example.com").await["refresh_token"]
        .as_str()
        .expect("a")
        .to_owned();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let http = app.http.clone();
        let url = app.url("/oauth/token");
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", a.clone()),
            ("client_id", client.id.to_string()),
            ("client_secret", client.secret.clone()),
        ];
        tasks.push(tokio::spawn(async move {
            rotated(http.post(url).form(&form).send().await.expect("post")).await
        }));
    }
    let what = "inside the grace window every use is answered";
    let successors = successors(tasks, what).await;
    app.advance(20);
    let mut live = 0;
    for s in &successors {
        if refresh(&app, &client, s).await.status() == 200 {
            live += 1;
        }
    }
    assert!(live <= 1, "{live} branches lived past the grace window");
}

async fn clients_can_require_pkce(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let strict = app
        .client_with(|s| {
            s.grant_types = vec![tollgate_core::model::GrantType::AuthorizationCode];
            s.redirect_uris = vec![crate::helpers::REDIRECT.into()];
            s.scopes = vec!["read".into()];
            s.require_pkce = true;
        })
        .await;
    app.user("pkce@example.com").await;
    let browser = Browser::new(&app);
    let url = crate::helpers::authorize_url("/oauth/authorize", &strict, &[("scope", "read")]);
    let crate::helpers::Visit::Left(back) = browser.visit(&url).await else {
        panic!("redirected back with an error")
    };
    assert_eq!(
        crate::helpers::query_param(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    // With PKCE the same client signs in as usual.
    read_code(&browser, &strict, "pkce@example.com").await;
}

on_both_backends!(
    clients_can_require_pkce,
    foreign_clients_cannot_burn_a_code,
    refresh_forks_do_not_outlive_the_grace_window
);
