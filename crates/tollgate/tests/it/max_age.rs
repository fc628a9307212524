//! OIDC Core 3.1.2.1 `max_age`: the `openidconnect` crate asks for it, the server makes the
//! user sign in again once the sign-in is older (always for `max_age=0`), `prompt=none` answers
//! `login_required` instead, and the id token's `auth_time` tells the relying party when the
//! sign-in was. Time passes on the server's injected clock.

use std::time::Duration;

use openidconnect::core::CoreResponseType;
use openidconnect::{AuthenticationFlow, CsrfToken, Nonce, PkceCodeChallenge, TokenResponse};
use tollgate_core::Clock;

use crate::helpers::oidc::{Oidc, exchange, relying_party};
use crate::helpers::{
    Backend, Browser, PASSWORD, REDIRECT, TestApp, Visit, code_flow, location, query_param,
};
use tollgate_testkit::on_both_backends;

/// An authorization URL with `max_age` (and `prompt=none` when asked), its PKCE verifier
/// and nonce.
fn url_with_max_age(
    rp: &Oidc,
    max_age: u64,
    prompt_none: bool,
) -> (String, openidconnect::PkceCodeVerifier, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .set_max_age(Duration::from_secs(max_age));
    if prompt_none {
        req = req.add_prompt(openidconnect::core::CoreAuthPrompt::None);
    }
    let (url, _, nonce) = req.url();
    (url.to_string(), verifier, nonce)
}

/// Redeems the code the browser came back with; returns the verified id token's `auth_time`,
/// which the relying party checks against `allowed` seconds on the server's clock.
async fn auth_time_of(
    app: &TestApp,
    rp: &Oidc,
    back: &str,
    verifier: openidconnect::PkceCodeVerifier,
    nonce: &Nonce,
    allowed: i64,
) -> i64 {
    let code = query_param(back, "code").unwrap_or_else(|| panic!("a code: {back}"));
    let token = exchange(rp, code, verifier).await;
    let now = app.clock.now();
    let verifier = rp
        .id_token_verifier()
        .set_auth_time_verifier_fn(move |t| match t {
            Some(t) if now - t.timestamp() <= allowed => Ok(()),
            Some(_) => Err("the sign-in is older than max_age".into()),
            None => Err("auth_time is missing although max_age was sent".into()),
        });
    let claims = token
        .id_token()
        .expect("id_token")
        .claims(&verifier, nonce)
        .expect("the id token verifies, auth_time within max_age");
    claims.auth_time().expect("auth_time").timestamp()
}

/// Signs in on the login page the browser was sent to; returns where it lands next.
async fn sign_in_again(browser: &Browser, url: &str) -> String {
    let Visit::Page { url, html, .. } = browser.visit(url).await else {
        panic!("the login page was expected at {url}")
    };
    assert!(url.contains("/login"), "asked to sign in again: {url}");
    let resp = browser
        .login(&url, &html, "age@example.com", PASSWORD)
        .await;
    match browser.visit(location(&resp)).await {
        Visit::Left(back) => back,
        Visit::Page { url, html, .. } => panic!("unexpected page {url}: {html}"),
    }
}

async fn max_age_makes_the_user_sign_in_again(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "age@example.com").await else {
        return;
    };
    let rp = relying_party(&app, &client).await;
    // First sign-in (and consent).
    let (url, verifier, nonce) = url_with_max_age(&rp, 60, false);
    let back = browser.authorize(&url, "age@example.com").await;
    let first = auth_time_of(&app, &rp, &back, verifier, &nonce, 60).await;

    // Within max_age the session is reused: no sign-in, the first auth_time.
    app.advance(5);
    let (url, verifier, nonce) = url_with_max_age(&rp, 10, false);
    let Visit::Left(back) = browser.visit(&url).await else {
        panic!("no page expected within max_age")
    };
    assert_eq!(
        auth_time_of(&app, &rp, &back, verifier, &nonce, 60).await,
        first
    );

    // Past max_age: the login page again, then a code with the new auth_time.
    let (url, verifier, nonce) = url_with_max_age(&rp, 3, false);
    let back = sign_in_again(&browser, &url).await;
    let second = auth_time_of(&app, &rp, &back, verifier, &nonce, 60).await;
    assert!(second >= first + 5, "{second} after {first}");

    // max_age=0 always asks, even right after signing in.
    app.advance(2);
    let (url, verifier, nonce) = url_with_max_age(&rp, 0, false);
    let back = sign_in_again(&browser, &url).await;
    let third = auth_time_of(&app, &rp, &back, verifier, &nonce, 60).await;
    assert!(third >= second + 2, "{third} after {second}");

    // prompt=none with an expired max_age: login_required, delivered with state and iss.
    app.advance(5);
    let (url, _, _) = url_with_max_age(&rp, 1, true);
    let Visit::Left(back) = browser.visit(&url).await else {
        panic!("prompt=none shows no page")
    };
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    app.assert_iss(&back);
    assert!(query_param(&back, "state").is_some());

    // A max_age that is not a number of seconds is refused.
    let bad = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&max_age=soon",
        client.id,
        urlencode(REDIRECT)
    );
    let Visit::Left(back) = browser.visit(&bad).await else {
        panic!("a redirected error expected")
    };
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_backends!(max_age_makes_the_user_sign_in_again);
