//! What an authorization request may demand of the sign-in behind it (OIDC Core section
//! 3.1.2.1), for plain and pushed (RFC 9126) requests alike.

use tollgate_core::authorize::s256;

use crate::helpers::{Backend, TestApp, TestClient, code_flow, spawn_app};
use crate::helpers::{Browser, Visit, query_param};
use crate::helpers::{VERIFIER, authorize_url};
use tollgate_testkit::on_both_backends;

/// A server and an app, a browser signed in that approved the app once (so later requests
/// need neither), and an authorization request with `prompt=login`.
async fn signed_in_with_consent(
    backend: Backend,
) -> Option<(TestApp, TestClient, Browser, String)> {
    let (app, c, browser) = code_flow(backend, "login@example.com").await?;
    let url = authorize_url("/oauth/authorize", &c, &[("scope", "read")]);
    let back = browser.authorize(&url, "login@example.com").await;
    assert!(query_param(&back, "code").is_some(), "{back}");
    let url = authorize_url(
        "/oauth/authorize",
        &c,
        &[("scope", "read"), ("prompt", "login")],
    );
    Some((app, c, browser, url))
}

/// Whether `url` leads to the login page.
async fn asks_to_sign_in(browser: &Browser, url: &str) -> bool {
    matches!(browser.visit(url).await, Visit::Page { ref url, .. } if url.contains("/login"))
}

/// `prompt=login` sends a signed-in person to sign in again, and the sign-in made for the
/// request satisfies it: the browser comes back with a code instead of looping.
async fn prompt_login_is_satisfied_once_per_request(backend: Backend) {
    let Some((app, c, browser, url)) = signed_in_with_consent(backend).await else {
        return;
    };
    assert!(
        asks_to_sign_in(&browser, &url).await,
        "a fresh sign-in is asked for"
    );
    let back = browser.authorize(&url, "login@example.com").await;
    assert!(query_param(&back, "code").is_some(), "{back}");

    // The pushed request keeps `prompt=login` in what was pushed.
    let form = [
        ("response_type", "code"),
        ("client_id", c.id.as_str()),
        ("client_secret", c.secret.as_str()),
        ("redirect_uri", crate::helpers::REDIRECT),
        ("scope", "read"),
        ("prompt", "login"),
        ("code_challenge", &s256(VERIFIER)),
        ("code_challenge_method", "S256"),
    ];
    let resp = app.post_form("/oauth/par", &form).await;
    assert_eq!(resp.status(), 201);
    let pushed: serde_json::Value = resp.json().await.expect("json");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let url = format!(
        "/oauth/authorize?client_id={}&request_uri={}",
        c.id,
        form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
    );
    assert!(
        asks_to_sign_in(&browser, &url).await,
        "a fresh sign-in is asked for a pushed request too"
    );
    let back = browser.authorize(&url, "login@example.com").await;
    assert!(
        query_param(&back, "code").is_some(),
        "no sign-in loop: {back}"
    );
}

/// A marker copied from one request, or forged, does not stand in for a fresh sign-in.
async fn a_forged_login_marker_is_not_believed(backend: Backend) {
    let Some((_app, _, browser, url)) = signed_in_with_consent(backend).await else {
        return;
    };
    for forged in ["0.AAAA", "0", "99999999999.x"] {
        let marked = format!("{url}&tg_login_after={forged}");
        assert!(asks_to_sign_in(&browser, &marked).await, "{forged}");
    }
}

/// The session cookie a sign-in response sets.
fn session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tollgate_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned()
}

async fn sign_in(browser: &Browser, email: &str) -> String {
    session_cookie(&browser.sign_in("/login", email).await)
}

/// Signing in again gives a new session id and ends the one the browser held.
async fn every_sign_in_starts_a_new_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("again@example.com").await;
    let browser = Browser::new(&app);
    let first = sign_in(&browser, "again@example.com").await;
    let second = sign_in(&browser, "again@example.com").await;
    assert_ne!(first, second);
    let home = |cookie: String| {
        let http = reqwest::Client::new();
        let url = app.url("/");
        async move {
            let resp = http
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("get");
            resp.text().await.expect("text")
        }
    };
    assert!(
        home(second)
            .await
            .contains("You are signed in as again@example.com")
    );
    assert!(home(first).await.contains("You are not signed in"));
}

on_both_backends!(
    every_sign_in_starts_a_new_session,
    prompt_login_is_satisfied_once_per_request,
    a_forged_login_marker_is_not_believed
);
