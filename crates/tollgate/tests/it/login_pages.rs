//! The login and consent pages: headers, CSRF, no account enumeration, prompt values,
//! logout, idle sessions.

use crate::helpers::location;
use crate::helpers::{
    Backend, Browser, PASSWORD, Visit, authorize_url, code_flow, code_flow_with, hidden,
    query_param, read_code,
};
use tollgate_testkit::on_both_backends;

/// The `error` a `prompt=none` request for `url` comes back with.
async fn silent_error(browser: &Browser, url: &str) -> Option<String> {
    let loc = browser
        .authorize(&format!("{url}&prompt=none"), "pg@example.com")
        .await;
    query_param(&loc, "error")
}

async fn login_and_consent_pages(backend: Backend) {
    let Some((_app, client, browser)) = code_flow(backend, "pg@example.com").await else {
        return;
    };
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[("scope", "openid email read"), ("state", "s")],
    );

    // prompt=none without a session.
    assert_eq!(
        silent_error(&browser, &url).await.as_deref(),
        Some("login_required")
    );

    // The login page: strict headers, CSRF, no enumeration.
    let Visit::Page {
        url: login_url,
        html,
        status,
    } = browser.visit(&url).await
    else {
        panic!("login page expected")
    };
    assert_eq!(status, 200);
    let resp = browser.get(&login_url).await;
    let h = resp.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("frame-ancestors 'none'"))
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get_all("set-cookie")
            .iter()
            .all(|c| c.to_str().is_ok_and(|c| c.contains("HttpOnly")))
    );
    let wrong_password = browser
        .login(&login_url, &html, "pg@example.com", "not the password")
        .await;
    assert_eq!(wrong_password.status(), 401);
    let a = wrong_password.text().await.expect("html");
    let unknown_user = browser
        .login(&login_url, &html, "nobody@example.com", PASSWORD)
        .await;
    assert_eq!(unknown_user.status(), 401);
    let b = unknown_user.text().await.expect("html");
    assert!(a.contains("Wrong email or password.") && b.contains("Wrong email or password."));
    assert!(!a.contains(PASSWORD) && !b.contains("not the password"));

    // CSRF: a form without the token, or with another one, is refused.
    let cont = hidden(&html, "continue").expect("continue");
    let sign_in = [
        ("continue", cont.as_str()),
        ("email", "pg@example.com"),
        ("password", PASSWORD),
    ];
    let forged = [("csrf", "forged-forged-forged-forged-forged-forged-fo")];
    for (what, csrf) in [("no token", &[][..]), ("a forged token", &forged[..])] {
        let resp = browser.post("/login", &[csrf, &sign_in[..]].concat()).await;
        assert_eq!(resp.status(), 403, "{what}");
    }

    // Sign in; consent lists the scopes in plain words; deny returns access_denied.
    let resp = browser
        .login(&login_url, &html, "pg@example.com", PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
    let Visit::Page { html: consent, .. } = browser.visit(location(&resp)).await else {
        panic!("consent page")
    };
    assert!(consent.contains("See your email address") && consent.contains("Confirm who you are"));
    let resp = browser
        .post(
            "/consent",
            &[
                ("continue", &hidden(&consent, "continue").expect("c")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403, "consent without CSRF");
    let loc = location(&browser.decide(&consent, "deny").await).to_owned();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("s"));

    // Signed in but no consent yet: prompt=none says so.
    assert_eq!(
        silent_error(&browser, &url).await.as_deref(),
        Some("consent_required")
    );
    // Approve once; afterwards the consent is remembered and prompt=none yields a code.
    let loc = browser.authorize(&url, "pg@example.com").await;
    assert!(query_param(&loc, "code").is_some());
    let Visit::Left(loc) = browser.visit(&format!("{url}&prompt=none")).await else {
        panic!("straight back")
    };
    assert!(query_param(&loc, "code").is_some());
    // prompt=consent asks again; prompt=login asks for the password again.
    assert!(
        matches!(browser.visit(&format!("{url}&prompt=consent")).await, Visit::Page { ref html, .. } if html.contains("id=\"approve\""))
    );
    assert!(
        matches!(browser.visit(&format!("{url}&prompt=login")).await, Visit::Page { ref url, .. } if url.contains("/login"))
    );

    // Logout ends the session.
    let Visit::Page { html: home, .. } = browser.visit("/logout").await else {
        panic!("logout page")
    };
    let csrf = hidden(&home, "csrf").expect("csrf");
    assert_eq!(
        browser.post("/logout", &[("csrf", &csrf)]).await.status(),
        200
    );
    assert_eq!(
        silent_error(&browser, &url).await.as_deref(),
        Some("login_required")
    );
}

async fn sessions_expire_when_idle(backend: Backend) {
    let Some((app, client, browser)) = code_flow_with(backend, "idle@example.com", |c| {
        c.engine.session_idle_secs = 1
    })
    .await
    else {
        return;
    };
    read_code(&browser, &client, "idle@example.com").await;
    app.advance(2);
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[("scope", "read"), ("prompt", "none")],
    );
    let Visit::Left(loc) = browser.visit(&url).await else {
        panic!("redirect expected")
    };
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
}

on_both_backends!(login_and_consent_pages, sessions_expire_when_idle,);
