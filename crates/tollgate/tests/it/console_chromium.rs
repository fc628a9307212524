//! The console in headless Chromium over WebDriver: an administrator signs in, creates an app
//! through the form, copies its secret from the page, gets a token with it, rotates it; another
//! account's app is never listed; a non-administrator gets 403. axe-core (npm, installed by
//! `.ci/run` into `tests/node`) runs in every console screen; serious and critical violations
//! fail the test. With `TOLLGATE_SCREENSHOT_DIR` set, the overview is saved there as
//! `console.png` (the README's picture).

use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::Backend;
use crate::helpers::chromium::{
    click, sign_in, text_of, type_into, value_of, wait_for_url, with_chrome,
};
use tollgate_testkit::on_both_backends;

const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/node/node_modules/axe-core/axe.min.js"
);

/// axe-core's source, or `None` outside CI when `npm ci` has not run.
pub(crate) fn axe_source() -> Option<String> {
    match std::fs::read_to_string(AXE) {
        Ok(s) => Some(s),
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI needs axe-core: npm ci --prefix crates/tollgate/tests/node ({e})"
            );
            eprintln!("skipping axe-core checks: run npm ci in crates/tollgate/tests/node");
            None
        }
    }
}

/// Runs axe-core in the current page; fails on any serious or critical violation.
pub(crate) async fn axe(b: &Client, source: Option<&str>, screen: &str) {
    let Some(source) = source else { return };
    // WebDriver scripts run outside the page's CSP, so the strict policy stays as it is.
    b.execute(&format!("{source}\n;return true;"), vec![])
        .await
        .expect("inject axe-core");
    let found = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
               .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    let violations = found.as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "axe-core on the {screen} screen:\n{}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}

async fn console_in_chromium(backend: Backend) {
    let Some((_one, app, chrome)) = with_chrome(backend).await else {
        return;
    };
    let axe_js = axe_source();
    let axe_js = axe_js.as_deref();
    let b = &chrome.client;
    app.admin_user("boss@example.com", None).await;
    app.user("staff@example.com").await;
    let other = app.other_account("other").await;
    app.their_app(&other.sid).await;

    sign_in(b, &app, "boss@example.com").await;
    assert_eq!(text_of(b, "stat-apps").await, "0");
    axe(b, axe_js, "overview").await;

    click(b, "nav-apps").await;
    click(b, "new-app").await;
    axe(b, axe_js, "new app").await;
    // A wrong lifetime is refused next to its field; what was typed stays.
    type_into(b, "friendly_name", "Chromium app").await;
    type_into(b, "scopes", "read write").await;
    type_into(b, "access_token_ttl", "ten minutes").await;
    click(b, "create").await;
    text_of(b, "access_token_ttl-error").await;
    assert_eq!(value_of(b, "friendly_name").await, "Chromium app");
    axe(b, axe_js, "new app with errors").await;
    type_into(b, "access_token_ttl", "600").await;
    click(b, "create").await;

    // The secret is shown once, with a copy button (the script is allowed by the CSP).
    let id = value_of(b, "client-id").await;
    let secret = value_of(b, "client-secret").await;
    assert!(id.starts_with("OQ") && secret.len() >= 43, "{id}");
    click(b, "copy-secret").await;
    let start = std::time::Instant::now();
    while text_of(b, "client-secret-status").await.is_empty() {
        assert!(start.elapsed().as_secs() < 10, "the copy button answers");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    axe(b, axe_js, "secret").await;
    let token: Value = app
        .client_credentials_at("/v2/token", &id, &secret)
        .await
        .json()
        .await
        .expect("token");
    assert!(token["access_token"].as_str().is_some(), "{token}");

    // Rotate from the app's page: the old secret stops working.
    click(b, "to-app").await;
    wait_for_url(b, &app.url(&format!("/console/apps/{id}"))).await;
    axe(b, axe_js, "app").await;
    click(b, "rotate").await;
    let rotated = value_of(b, "client-secret").await;
    assert_ne!(rotated, secret);
    app.assert_secret_rotated(&id, &secret, &rotated).await;

    // Another account's app is never listed.
    click(b, "nav-apps").await;
    let list = text_of(b, "apps").await;
    assert!(
        list.contains("Chromium app") && !list.contains("Their app"),
        "{list}"
    );
    axe(b, axe_js, "apps").await;

    click(b, "nav-users").await;
    text_of(b, "users").await;
    axe(b, axe_js, "users").await;
    b.find(Locator::Css("#users a"))
        .await
        .expect("a user")
        .click()
        .await
        .expect("open user");
    text_of(b, "reset-password").await;
    axe(b, axe_js, "user").await;
    click(b, "nav-sessions").await;
    wait_for_url(b, &app.url("/console/sessions")).await;
    axe(b, axe_js, "sessions").await;
    click(b, "nav-registration").await;
    wait_for_url(b, &app.url("/console/registration")).await;
    axe(b, axe_js, "registration").await;
    click(b, "policy-token").await;
    click(b, "save-policy").await;
    wait_for_url(b, &app.url("/console/registration?notice=saved")).await;
    click(b, "issue-token").await;
    text_of(b, "tokens").await;
    axe(b, axe_js, "registration with a token").await;

    b.goto(&app.url("/console")).await.expect("overview");
    assert_eq!(text_of(b, "stat-apps").await, "1");
    assert_eq!(text_of(b, "stat-tokens-hour").await, "2");
    if let Ok(dir) = std::env::var("TOLLGATE_SCREENSHOT_DIR") {
        b.set_window_size(1200, 860).await.expect("window size");
        let png = b.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join("console.png"), png).expect("save png");
    }

    // Signed out and back in as someone who is not an administrator: 403.
    click(b, "sign-out").await;
    text_of(b, "message").await;
    sign_in(b, &app, "staff@example.com").await;
    wait_for_url(b, &app.url("/console")).await;
    let heading = b
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Administrators only");
    let status = app.get("/console").await.status();
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out: to sign in");

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(console_in_chromium);
