//! One-time codes (RFC 6238) as a second factor: the `required` policy forces a setup at the
//! next sign-in (QR code rendered here, confirmation code), recovery codes work once, wrong
//! codes are refused and lock the account's second factor, a code is good once, and
//! `amr`/`acr` in the id token say what the sign-in proved; `acr_values` asks for a step-up.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_core::Clock;
use tollgate_core::admin::Caller;
use tollgate_core::model::{ACR_MFA, ACR_PASSKEY, ACR_PASSWORD, SignInPolicy};
use tollgate_core::totp;

use crate::helpers::browser::unescape;
use crate::helpers::oauth::{get_code, json, redeem};
use crate::helpers::{
    Backend, Browser, PASSWORD, REDIRECT, TestApp, TestClient, VERIFIER, Visit, authorize_url,
    base32_decode, code_flow, hidden, location, page_with, query_param, spawn_app,
};
use tollgate_testkit::on_both_backends;

/// The text of the element with this id (up to its first tag).
fn text_of(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')?;
    Some(unescape(&html[start..start + end]))
}

fn attr_of(html: &str, id: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let marker = format!("{attr}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + end]))
}

fn now(app: &TestApp) -> i64 {
    app.clock.now()
}

fn authorize(client: &TestClient, extra: &[(&str, &str)]) -> String {
    let challenge = tollgate_core::authorize::s256(VERIFIER);
    let mut params = vec![
        ("scope", "openid read"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    authorize_url("/oauth/authorize", client, &params)
}

/// From wherever the browser is now to the client: approves consent if asked.
async fn to_client(browser: &Browser, visit: Visit) -> String {
    match visit {
        Visit::Left(loc) => loc,
        Visit::Page { html, .. } if html.contains("id=\"approve\"") => {
            location(&browser.decide(&html, "approve").await).to_owned()
        }
        Visit::Page { url, status, html } => panic!("unexpected page {url} ({status}): {html}"),
    }
}

/// The id token's claims for the code in `location`.
async fn id_claims(app: &TestApp, client: &TestClient, location: &str) -> Value {
    assert!(location.starts_with(REDIRECT), "at the client: {location}");
    let code = query_param(location, "code").expect("code");
    let tokens = json(redeem(app, client, &code, Some(VERIFIER)).await, 200).await;
    let id = tokens["id_token"].as_str().expect("id_token");
    jsonwebtoken::dangerous::insecure_decode_claims::<Value>(id).expect("claims")
}

/// Submits email and password on the login page `url` leads to.
/// The second-factor page the password step leads to.
async fn code_page(browser: &Browser, url: &str, email: &str) -> String {
    let resp = password_step(browser, url, email).await;
    resp.text().await.expect("html")
}

async fn password_step(browser: &Browser, url: &str, email: &str) -> reqwest::Response {
    let Visit::Page { url, html, .. } = browser.visit(url).await else {
        panic!("the login page expected")
    };
    browser.login(&url, &html, email, PASSWORD).await
}

async fn submit_code(browser: &Browser, code_page: &str, code: &str) -> reqwest::Response {
    let field = |n| hidden(code_page, n).unwrap_or_else(|| panic!("{n} field"));
    browser
        .post(
            "/login/code",
            &[
                ("csrf", &field("csrf")),
                ("continue", &field("continue")),
                ("pending", &field("pending")),
                ("code", code),
            ],
        )
        .await
}

/// Submits a setup page's confirmation form with `code`.
async fn confirm_setup(
    browser: &Browser,
    path: &str,
    setup_html: &str,
    code: &str,
) -> reqwest::Response {
    let field = |n| hidden(setup_html, n).unwrap_or_else(|| panic!("{n} field"));
    browser
        .post(
            path,
            &[
                ("csrf", &field("csrf")),
                ("continue", &field("continue")),
                ("pending", &field("pending")),
                ("setup", &field("setup")),
                ("code", code),
            ],
        )
        .await
}

async fn sign_out(browser: &Browser) {
    let Visit::Page { html, .. } = browser.visit("/").await else {
        panic!("home page")
    };
    let csrf = hidden(&html, "csrf").expect("signed in: sign-out form");
    assert_eq!(
        browser.post("/logout", &[("csrf", &csrf)]).await.status(),
        200
    );
}

async fn required_policy_forces_setup_and_codes_work_once(backend: Backend) {
    let email = "mfa@example.com";
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    let user = app.user(email).await;
    let browser = Browser::new(&app);
    app.server
        .admin()
        .set_sign_in_policy(&Caller::Operator, &user.sid, SignInPolicy::Required)
        .await
        .expect("policy");

    // The password leads to the setup, not to a session.
    let url = authorize(&client, &[]);
    let resp = password_step(&browser, &url, email).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("default-src 'none'"))
    );
    let setup_html = resp.text().await.expect("html");
    assert!(setup_html.contains("id=\"forced\""), "{setup_html}");
    let svg = setup_html.find("<svg").expect("an inline QR code");
    let svg = &setup_html[svg..svg + setup_html[svg..].find("</svg>").expect("svg end")];
    assert!(
        !svg.contains("href") && !svg.contains("<image"),
        "nothing is fetched for the QR code"
    );
    let key = text_of(&setup_html, "totp-key").expect("key shown as text");
    let secret = base32_decode(&key);
    assert_eq!(secret.len(), totp::SECRET_LEN);
    assert!(
        matches!(browser.visit("/").await, Visit::Page { html, .. } if html.contains("not signed in"))
    );

    let wrong = totp::code_at(&secret, now(&app) + 600);
    let refused = confirm_setup(&browser, "/login/setup", &setup_html, &wrong).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let first_code = totp::code_at(&secret, now(&app));
    let done = confirm_setup(&browser, "/login/setup", &setup_html, &first_code).await;
    assert_eq!(done.status(), StatusCode::OK);
    let codes_html = done.text().await.expect("html");
    let recovery: Vec<String> = codes_html
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next().map(str::to_owned))
        .collect();
    assert_eq!(recovery.len(), 10, "{codes_html}");
    let next = attr_of(&codes_html, "continue", "href").expect("continue link");
    let claims = id_claims(
        &app,
        &client,
        &to_client(&browser, browser.visit(&next).await).await,
    )
    .await;
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "otp", "mfa"]),
        "{claims}"
    );
    assert_eq!(claims["acr"], ACR_MFA);

    // Next sign-in: the code page. The code used for the setup is not good again.
    sign_out(&browser).await;
    let resp = password_step(&browser, &url, email).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let code_html = resp.text().await.expect("html");
    assert!(code_html.contains("autocomplete=\"one-time-code\""));
    let replay = submit_code(&browser, &code_html, &first_code).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    app.advance(totp::STEP_SECS);
    let ok = submit_code(&browser, &code_html, &totp::code_at(&secret, now(&app))).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let claims = id_claims(
        &app,
        &client,
        &to_client(&browser, browser.visit(location(&ok)).await).await,
    )
    .await;
    assert_eq!(claims["acr"], ACR_MFA);

    // Wrong codes: refused, and the fifth locks the second factor, even for a right code.
    sign_out(&browser).await;
    app.advance(61);
    let code_html = code_page(&browser, &url, email).await;
    for i in 1..=5 {
        let resp = submit_code(&browser, &code_html, "000000").await;
        let expected = if i < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(resp.status(), expected, "attempt {i}");
    }
    let locked = submit_code(&browser, &code_html, &totp::code_at(&secret, now(&app))).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    app.advance(tollgate_core::second_factor::LOCK_SECS + 1);
    let ok = submit_code(&browser, &code_html, &totp::code_at(&secret, now(&app))).await;
    assert_eq!(
        ok.status(),
        StatusCode::SEE_OTHER,
        "unlocked after the lock"
    );

    // A recovery code signs in once.
    sign_out(&browser).await;
    let code_html = code_page(&browser, &url, email).await;
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let ok = submit_code(&browser, &code_html, &typed).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    sign_out(&browser).await;
    let code_html = code_page(&browser, &url, email).await;
    let again = submit_code(&browser, &code_html, &recovery[3]).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // A pending sign-in is worth nothing in another browser.
    let other = Browser::new(&app);
    let Visit::Page { .. } = other.visit("/login").await else {
        panic!("login page")
    };
    let stolen = submit_code(&other, &code_html, &recovery[4]).await;
    assert_eq!(
        stolen.status(),
        StatusCode::FORBIDDEN,
        "the CSRF cookie is this browser's"
    );
}

async fn acr_values_step_up_from_the_account_page(backend: Backend) {
    let email = "stepup@example.com";
    let Some((app, client, browser)) = code_flow(backend, email).await else {
        return;
    };
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!([ACR_PASSWORD, ACR_MFA, ACR_PASSKEY])
    );

    // No second factor yet: asking for one still signs in, with what there is.
    let mfa = authorize(&client, &[("acr_values", ACR_MFA)]);
    let loc = browser.authorize(&mfa, email).await;
    let claims = id_claims(&app, &client, &loc).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], ACR_PASSWORD);

    // Set up one-time codes on the account page.
    let Visit::Page { html, .. } = browser.visit("/account").await else {
        panic!("account page")
    };
    assert_eq!(text_of(&html, "email").as_deref(), Some(email));
    assert!(html.contains("id=\"setup-totp\""), "{html}");
    let Visit::Page {
        html: setup,
        status,
        ..
    } = browser.visit("/account/two-factor").await
    else {
        panic!("setup page")
    };
    assert_eq!(status, 200);
    let secret = base32_decode(&text_of(&setup, "totp-key").expect("key"));
    let code = totp::code_at(&secret, now(&app));
    let done = confirm_setup(&browser, "/account/two-factor", &setup, &code).await;
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .expect("html")
            .contains("id=\"recovery-codes\"")
    );
    let Visit::Page { html, .. } = browser.visit("/account").await else {
        panic!("account page")
    };
    assert!(html.contains("Recovery codes left: 10"), "{html}");

    // Without acr_values the password session is enough; with them, a step-up.
    let plain = browser.visit(&authorize(&client, &[])).await;
    assert!(
        matches!(&plain, Visit::Left(l) if l.starts_with(REDIRECT)),
        "{plain:?}"
    );
    let Visit::Page { url, html, .. } = browser.visit(&mfa).await else {
        panic!("sign-in again for the step-up")
    };
    assert!(url.contains("/login"), "{url}");
    let resp = browser.login(&url, &html, email, PASSWORD).await;
    assert_eq!(resp.status(), 200, "the code page");
    let code_html = resp.text().await.expect("html");
    app.advance(totp::STEP_SECS);
    let ok = submit_code(&browser, &code_html, &totp::code_at(&secret, now(&app))).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let loc = to_client(&browser, browser.visit(location(&ok)).await).await;
    let claims = id_claims(&app, &client, &loc).await;
    assert_eq!(claims["acr"], ACR_MFA, "{claims}");

    // Removing the codes: the password alone signs in again.
    let removed = browser
        .post_from_account(None, "/account/two-factor/remove", &[])
        .await;
    page_with(removed, 200, "id=\"setup-totp\"").await;
    sign_out(&browser).await;
    let code = get_code(&browser, "/oauth/authorize", &client, "openid", email).await;
    assert!(!code.is_empty());
}

on_both_backends!(
    required_policy_forces_setup_and_codes_work_once,
    acr_values_step_up_from_the_account_page
);
