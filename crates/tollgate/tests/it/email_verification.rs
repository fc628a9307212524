//! Email verification over a real SMTP server on loopback: a user created with an address is
//! mailed a single-use, expiring link; following it turns `email_verified` true in id tokens
//! and userinfo. Without SMTP the server says mail is off, and an administrator (of the
//! user's own account only) marks an address verified through the admin API.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate::config::Concealed;
use tollgate_core::mail::VERIFY_EMAIL_TTL;

use crate::email_claims::claims;
use crate::helpers::binary::{succeeded_json, tollgate_command, user_create_args};
use crate::helpers::smtp::SmtpSink;
use crate::helpers::{
    Backend, Browser, PASSWORD, TestApp, Visit, hidden, page_with, spawn_app, spawn_app_with,
};
use tollgate_testkit::on_both_backends;

pub(crate) const FROM: &str = "Tollgate <no-reply@tollgate.test>";

/// A mail sink and a server that mails through it (with SMTP credentials, which the sink
/// records).
pub(crate) async fn app_with_mail(backend: Backend) -> Option<(SmtpSink, TestApp)> {
    let sink = SmtpSink::start().await;
    let url = sink.url().replace("smtp://", "smtp://mailer:s3cret@");
    let app = spawn_app_with(backend, |c| {
        c.smtp_url = Some(Concealed(url));
        c.smtp_from = Some(FROM.into());
    })
    .await?;
    Some((sink, app))
}

async fn create_user_over_api(app: &TestApp, email: &str) -> Value {
    let resp = app
        .as_account(reqwest::Method::POST, "/v1/Account/Users")
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("create user");
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.expect("json")
}

/// The page a link opens, and the form's fields.
async fn open_link(browser: &Browser, link: &str) -> (StatusCode, String) {
    let resp = browser.get(link).await;
    let status = resp.status();
    (status, resp.text().await.expect("html"))
}

async fn confirm(browser: &Browser, page: &str) -> reqwest::Response {
    let csrf = hidden(page, "csrf").expect("csrf");
    let token = hidden(page, "token").expect("token");
    browser
        .post(
            "/account/verify-email",
            &[("csrf", &csrf), ("token", &token)],
        )
        .await
}

async fn verification_link_verifies_once(backend: Backend) {
    let Some((sink, app)) = app_with_mail(backend).await else {
        return;
    };
    let c = app.code_client(false).await;
    let email = "verify@example.com";
    let created = create_user_over_api(&app, email).await;
    assert_eq!(created["email_verified"], false);

    let mail = sink.next().await;
    assert_eq!(mail.to, vec![email.to_owned()]);
    assert!(
        mail.from.contains("no-reply@tollgate.test"),
        "{}",
        mail.from
    );
    assert_eq!(mail.auth_user.as_deref(), Some("mailer"), "SMTP AUTH used");
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Confirm your email address")
    );
    let link = mail.link("/account/verify-email").expect("a link");
    let (id, info) = claims(&app, &c, email).await;
    assert_eq!(
        (&id["email_verified"], &info["email_verified"]),
        (&json!(false), &json!(false))
    );

    // Opening the link changes nothing (mail scanners open links); the button confirms.
    let browser = Browser::new(&app);
    let (status, page) = open_link(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    let (id, _) = claims(&app, &c, email).await;
    assert_eq!(id["email_verified"], false);
    let done = confirm(&browser, &page).await;
    page_with(done, 200, "is confirmed").await;
    let (id, info) = claims(&app, &c, email).await;
    assert_eq!(id["email_verified"], true, "{id}");
    assert_eq!(info["email_verified"], true, "{info}");

    // Once only: the link is refused, and so is submitting its form again.
    let (status, _) = open_link(&browser, &link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        confirm(&browser, &page).await.status(),
        StatusCode::BAD_REQUEST
    );
    // A link whose MAC was tampered with never reaches the store.
    let forged = format!("{}x", link.trim_end_matches(|c: char| c != '.'));
    assert_eq!(
        open_link(&browser, &forged).await.0,
        StatusCode::BAD_REQUEST
    );
    // A form without this browser's CSRF token is refused.
    let token = hidden(&page, "token").expect("token");
    let no_csrf = browser
        .post("/account/verify-email", &[("csrf", "x"), ("token", &token)])
        .await;
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
}

async fn an_expired_verification_link_is_refused(backend: Backend) {
    let Some((sink, app)) = app_with_mail(backend).await else {
        return;
    };
    let user = app.user("late@example.com").await;
    let link = sink
        .next()
        .await
        .link("/account/verify-email")
        .expect("link");
    let browser = Browser::new(&app);
    let (status, page) = open_link(&browser, &link).await;
    assert_eq!(status, 200);
    app.advance(VERIFY_EMAIL_TTL + 1);
    assert_eq!(open_link(&browser, &link).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        confirm(&browser, &page).await.status(),
        StatusCode::BAD_REQUEST
    );
    let still = app.server.admin().user(&user.sid).await.expect("user");
    assert!(!still.email_verified);

    // A new link can be asked for: by the person on the account page…
    let Visit::Page { html, .. } = browser.visit_as("/account", "late@example.com").await else {
        panic!("account page")
    };
    assert!(html.contains("id=\"send-verification\""), "{html}");
    let csrf = hidden(&html, "csrf").expect("csrf");
    let asked = browser
        .post("/account/verify-email/send", &[("csrf", &csrf)])
        .await;
    page_with(asked, 200, "on its way").await;
    let mine = sink
        .next()
        .await
        .link("/account/verify-email")
        .expect("link");
    // …or by an administrator (admin API); either link works.
    let resp = app
        .as_account(
            reqwest::Method::POST,
            &format!("/v1/Account/Users/{}", user.sid),
        )
        .json(&json!({ "send_verification": true }))
        .send()
        .await
        .expect("resend");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["verification_sent"], true, "{body}");
    sink.next()
        .await
        .link("/account/verify-email")
        .expect("link");
    let (_, page) = open_link(&browser, &mine).await;
    assert_eq!(confirm(&browser, &page).await.status(), 200);
    let verified = app.server.admin().user(&user.sid).await.expect("user");
    assert!(verified.email_verified);
    let Visit::Page { html, .. } = browser.visit("/account").await else {
        panic!("account page")
    };
    assert!(!html.contains("send-verification"), "verified: no button");
}

async fn without_smtp_mail_is_off_and_admins_vouch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = app.user("nomail@example.com").await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await.text().await.expect("html");
    assert!(
        !login.contains("forgot-password"),
        "no reset offered without mail"
    );
    let (status, page) = open_link(&browser, "/password-reset").await;
    assert_eq!(status, 200);
    assert!(page.contains("does not send email"), "{page}");
    let csrf = hidden(&login, "csrf").expect("csrf");
    let posted = browser
        .post(
            "/password-reset",
            &[("csrf", &csrf), ("email", "nomail@example.com")],
        )
        .await;
    assert!(
        posted
            .text()
            .await
            .expect("html")
            .contains("does not send email")
    );

    let (status, text) = {
        let (s, _) = tollgate::check::mail_status(&tollgate::config::Config::default()).await;
        (s.contains("not configured"), s)
    };
    assert!(status, "{text}");

    // The account page's button says so too.
    let asked = browser
        .post_from_account(
            Some("nomail@example.com"),
            "/account/verify-email/send",
            &[],
        )
        .await;
    page_with(asked, 200, "does not send email").await;

    // The account's administrator vouches for the address through the admin API.
    let update = |body: Value, account: (String, String)| {
        let (http, url) = (
            app.http.clone(),
            app.url(&format!("/v1/Account/Users/{}", user.sid)),
        );
        async move {
            http.post(url)
                .basic_auth(account.0, Some(account.1))
                .json(&body)
                .send()
                .await
                .expect("update user")
        }
    };
    let verified = || async {
        let stored = app.server.admin().user(&user.sid).await.expect("user");
        stored.email_verified
    };
    let mine = (app.account.sid.as_str().to_owned(), app.auth_token.clone());
    let resp = update(json!({ "send_verification": true }), mine.clone()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["verification_sent"], false, "no mail without SMTP");
    let resp = update(json!({ "email_verified": true }), mine.clone()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["email_verified"], true, "{body}");
    assert!(verified().await);
    let unknown = update(json!({ "colour": "red" }), mine).await;
    assert_eq!(unknown.status(), 400);

    // Another account's administrator cannot claim this user's address.
    let (other, token) = app.stranger_account().await;
    let theirs = (other.sid.as_str().to_owned(), token.expose().to_owned());
    let refused = update(json!({ "email_verified": false }), theirs).await;
    assert_eq!(refused.status(), 404);
    assert!(verified().await);
}

/// `tollgate user create` mails the link itself (same database and key-encryption key as the
/// server, which then accepts it); `user send-verification` says when there is nothing to send.
async fn the_cli_mails_verification_links(backend: Backend) {
    let Some((sink, app)) = app_with_mail(backend).await else {
        return;
    };
    let cli = |args: Vec<String>| {
        let mut cmd = tollgate_command();
        cmd.arg("--database-url")
            .arg(&app.database_url)
            .arg("--data-dir")
            .arg(app.dir.path())
            .arg("--json")
            .args(args)
            .env("TOLLGATE_ISSUER", &app.base)
            .env("TOLLGATE_SMTP_URL", sink.url())
            .env("TOLLGATE_SMTP_FROM", FROM);
        async move { succeeded_json(&cmd.output().await.expect("run tollgate")) }
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let created = cli(args(&user_create_args("cli@example.com", PASSWORD))).await;
    let sid = created["user_sid"].as_str().expect("sid").to_owned();
    let mail = sink.next().await;
    assert_eq!(mail.to, vec!["cli@example.com".to_owned()]);
    let link = mail.link("/account/verify-email").expect("link");
    assert!(
        mail.text().contains(&format!("{}{link}", app.base)),
        "{}",
        mail.text()
    );
    let browser = Browser::new(&app);
    let (status, page) = open_link(&browser, &link).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(confirm(&browser, &page).await.status(), 200);
    let again = cli(args(&["user", "send-verification", &sid])).await;
    assert_eq!(again["sent"], false, "verified already: {again}");
    assert_eq!(sink.received(), 1);
}

on_both_backends!(
    the_cli_mails_verification_links,
    verification_link_verifies_once,
    an_expired_verification_link_is_refused,
    without_smtp_mail_is_off_and_admins_vouch,
);
