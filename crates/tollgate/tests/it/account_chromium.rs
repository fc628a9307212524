//! The account page and the sign-in's second step in headless Chromium over WebDriver, with
//! axe-core on every screen (serious and critical violations fail): set up one-time codes
//! from the QR page, keep the recovery codes, sign out, sign in again with a code.

use tollgate_core::Clock;
use tollgate_core::totp;

use crate::console_chromium::{axe, axe_source};
use crate::helpers::chromium::{click, enter, text_of, type_into, wait_for_url, with_chrome};
use crate::helpers::{Backend, PASSWORD, base32_decode};
use tollgate_testkit::on_both_backends;

async fn account_page_in_chromium(backend: Backend) {
    let Some((_one, app, chrome)) = with_chrome(backend).await else {
        return;
    };
    let axe_js = axe_source();
    let axe_js = axe_js.as_deref();
    let b = &chrome.client;
    app.user("person@example.com").await;

    b.goto(&app.url("/account")).await.expect("open account");
    axe(b, axe_js, "sign-in").await;
    type_into(b, "email", "person@example.com").await;
    type_into(b, "password", &format!("{PASSWORD}{}", enter())).await;
    wait_for_url(b, &app.url("/account")).await;
    assert_eq!(text_of(b, "email").await, "person@example.com");
    axe(b, axe_js, "account").await;

    click(b, "setup-totp").await;
    let key = text_of(b, "totp-key").await;
    axe(b, axe_js, "one-time code setup").await;
    let secret = base32_decode(&key);
    let code = totp::code_at(&secret, app.clock.now());
    type_into(b, "code", &format!("{code}{}", enter())).await;
    let codes = text_of(b, "recovery-codes").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    axe(b, axe_js, "recovery codes").await;
    click(b, "continue").await;
    assert!(text_of(b, "totp-status").await.contains("set up"));
    axe(b, axe_js, "account with one-time codes").await;

    click(b, "sign-out").await;
    text_of(b, "message").await;
    b.goto(&app.url("/account")).await.expect("open account");
    type_into(b, "email", "person@example.com").await;
    type_into(b, "password", &format!("{PASSWORD}{}", enter())).await;
    text_of(b, "verify").await;
    axe(b, axe_js, "one-time code").await;
    app.advance(totp::STEP_SECS);
    type_into(b, "code", "000000").await;
    click(b, "verify").await;
    text_of(b, "error").await;
    axe(b, axe_js, "wrong one-time code").await;
    let code = totp::code_at(&secret, app.clock.now());
    type_into(b, "code", &format!("{code}{}", enter())).await;
    wait_for_url(b, &app.url("/account")).await;
    assert!(text_of(b, "sessions").await.contains("Password and code"));

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(account_page_in_chromium);
