//! The mail pages in headless Chromium over WebDriver, with axe-core on every screen (serious
//! and critical violations fail): "Forgot password?" from the login page, the reset request,
//! the new password form a mailed link opens, and the confirmation of an address.

use tollgate::config::Concealed;

use crate::console_chromium::{axe, axe_source};
use crate::email_verification::FROM;
use crate::helpers::Backend;
use crate::helpers::chromium::{
    click, enter, text_of, type_into, wait_for_url, with_chrome_config,
};
use crate::helpers::smtp::SmtpSink;
use tollgate_testkit::on_both_backends;

async fn mail_pages_in_chromium(backend: Backend) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some((_one, app, chrome)) = with_chrome_config(backend, |c| {
        c.smtp_url = Some(Concealed(url));
        c.smtp_from = Some(FROM.into());
    })
    .await
    else {
        return;
    };
    let axe_js = axe_source();
    let axe_js = axe_js.as_deref();
    let b = &chrome.client;
    app.user("mailed@example.com").await;
    let verify = sink
        .next()
        .await
        .link("/account/verify-email")
        .expect("link");

    b.goto(&app.url(&verify)).await.expect("open link");
    axe(b, axe_js, "confirm email").await;
    click(b, "confirm-email").await;
    assert!(text_of(b, "message").await.contains("is confirmed"));
    axe(b, axe_js, "email confirmed").await;

    b.goto(&app.url("/login")).await.expect("open login");
    axe(b, axe_js, "sign-in with reset link").await;
    click(b, "forgot-password").await;
    axe(b, axe_js, "forgot password").await;
    type_into(b, "email", &format!("mailed@example.com{}", enter())).await;
    assert!(text_of(b, "notice").await.contains("on its way"));
    axe(b, axe_js, "reset requested").await;

    let reset = sink.next().await.link("/password-reset/new").expect("link");
    b.goto(&app.url(&reset)).await.expect("open link");
    axe(b, axe_js, "new password").await;
    type_into(b, "new-password", "short").await;
    type_into(b, "confirm-password", &format!("short{}", enter())).await;
    assert!(text_of(b, "error").await.contains("8 to 256"));
    axe(b, axe_js, "new password refused").await;
    type_into(b, "new-password", "a new long passphrase").await;
    type_into(
        b,
        "confirm-password",
        &format!("a new long passphrase{}", enter()),
    )
    .await;
    assert!(text_of(b, "message").await.contains("password is changed"));
    axe(b, axe_js, "password changed").await;

    b.goto(&app.url("/account")).await.expect("open account");
    type_into(b, "email", "mailed@example.com").await;
    type_into(b, "password", &format!("a new long passphrase{}", enter())).await;
    wait_for_url(b, &app.url("/account")).await;
    assert_eq!(text_of(b, "email-verified").await, "Yes");

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(mail_pages_in_chromium);
