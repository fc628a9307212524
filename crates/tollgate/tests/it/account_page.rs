//! The account page over HTTP: the person's sessions (one or all others signed out), the apps
//! they granted (revoking withdraws consent and kills the app's refresh tokens), a password
//! change (the current password is checked; every other session ends), CSRF and headers.

use reqwest::StatusCode;

use crate::helpers::{
    Backend, Browser, PASSWORD, Visit, code_flow, code_refresh_token, error_of, hidden, page_with,
    refresh,
};
use tollgate_testkit::on_both_backends;

const EMAIL: &str = "acct@example.com";

async fn account_html(browser: &Browser) -> String {
    match browser.visit("/account").await {
        Visit::Page { url, html, status } if url.ends_with("/account") => {
            assert_eq!(status, 200);
            html
        }
        other => panic!("the account page expected: {other:?}"),
    }
}

async fn post_account(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = hidden(&account_html(browser).await, "csrf").expect("csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post(path, &form).await
}

async fn account_page_sessions_apps_password(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, EMAIL).await else {
        return;
    };
    // Signed out: the account page asks for a sign-in first.
    let Visit::Page { url, .. } = browser.visit("/account").await else {
        panic!("login page")
    };
    assert!(url.contains("/login?continue=%2Faccount"), "{url}");

    let refresh_token = code_refresh_token(&app, &client, &browser, EMAIL).await;
    let other = Browser::new(&app);
    let Visit::Page { .. } = other.visit_as("/account", EMAIL).await else {
        panic!("account page")
    };

    let resp = browser.get("/account").await;
    let h = resp.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let html = resp.text().await.expect("html");
    assert_eq!(
        html.matches("name=\"session\"").count(),
        2,
        "one row per other session plus 'others'"
    );
    assert!(html.contains("This browser"));
    assert!(
        html.contains("See your email address") || html.contains("read"),
        "{html}"
    );

    // A forged form (no CSRF token of this session) changes nothing.
    let forged = browser
        .post(
            "/account/sessions/end",
            &[("csrf", "x"), ("session", "others")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        matches!(other.visit("/account").await, Visit::Page { url, .. } if url.ends_with("/account"))
    );

    // Sign out everywhere else: the other browser is signed out, this one is not.
    let ended = post_account(&browser, "/account/sessions/end", &[("session", "others")]).await;
    assert_eq!(ended.status(), 200);
    assert!(
        matches!(other.visit("/account").await, Visit::Page { url, .. } if url.contains("/login"))
    );
    account_html(&browser).await;
    // Someone else's or a made-up session id is refused.
    let bogus = post_account(
        &browser,
        "/account/sessions/end",
        &[("session", &"ab".repeat(32))],
    )
    .await;
    assert_eq!(bogus.status(), StatusCode::BAD_REQUEST);

    // Revoke the app: its refresh token is refused and consent is asked again.
    let html = account_html(&browser).await;
    let client_id = client.id.to_string();
    assert!(html.contains(&client_id), "the app is listed");
    let revoked = post_account(
        &browser,
        "/account/apps/revoke",
        &[("client_id", &client_id)],
    )
    .await;
    page_with(revoked, 200, "id=\"no-apps\"").await;
    let (status, error, _) = error_of(refresh(&app, &client, &refresh_token).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    let again = post_account(
        &browser,
        "/account/apps/revoke",
        &[("client_id", &client_id)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // Password change: the current password is checked; then every other session ends.
    let Visit::Page { .. } = other.visit_as("/account", EMAIL).await else {
        panic!("account page")
    };
    let wrong = post_account(
        &browser,
        "/account/password",
        &[
            ("current_password", "not it"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    page_with(wrong, 401, "id=\"password-error\"").await;
    let changed = post_account(
        &browser,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    page_with(changed, 200, "id=\"notice\"").await;
    account_html(&browser).await;
    assert!(
        matches!(other.visit("/account").await, Visit::Page { url, .. } if url.contains("/login"))
    );
    let Visit::Page { url, html, .. } = other.visit("/account").await else {
        panic!("login page")
    };
    let old = other.login(&url, &html, EMAIL, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = other
        .login(&url, &html, EMAIL, "a brand new passphrase")
        .await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

on_both_backends!(account_page_sessions_apps_password);
