//! Self-service password reset and notices, over a real SMTP server on loopback: the answer
//! to a reset request is the same whether or not the address has an account (and nothing is
//! mailed for an unknown one); the link works once; the reset ends every session and revokes
//! every refresh token family of the user. Adding one-time codes mails a notice.
//! `tollgate config check` greets the configured SMTP server.

use reqwest::StatusCode;
use tollgate::config::{Concealed, Config};
use tollgate_core::totp;

use crate::email_verification::{FROM, app_with_mail};
use crate::helpers::binary::tollgate_command;
use crate::helpers::smtp::SmtpSink;
use crate::helpers::{
    Backend, Browser, PASSWORD, TestApp, Visit, base32_decode, code_refresh_token, error_of,
    hidden, refresh,
};
use tollgate_testkit::on_both_backends;

const EMAIL: &str = "reset@example.com";
const NEW_PASSWORD: &str = "a much better passphrase";

async fn ask_for_reset(browser: &Browser, email: &str) -> (StatusCode, String) {
    let form = browser
        .get("/password-reset")
        .await
        .text()
        .await
        .expect("html");
    let csrf = hidden(&form, "csrf").expect("csrf");
    let resp = browser
        .post("/password-reset", &[("csrf", &csrf), ("email", email)])
        .await;
    let status = resp.status();
    (status, resp.text().await.expect("html"))
}

async fn set_password(browser: &Browser, page: &str, new: &str, again: &str) -> reqwest::Response {
    let csrf = hidden(page, "csrf").expect("csrf");
    let token = hidden(page, "token").expect("token");
    browser
        .post(
            "/password-reset/new",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("new_password", new),
                ("confirm_password", again),
            ],
        )
        .await
}

/// `app_with_mail` with the user `EMAIL`, whose verification mail is read.
async fn app_with_user(backend: Backend) -> Option<(SmtpSink, TestApp)> {
    let (sink, app) = app_with_mail(backend).await?;
    app.user(EMAIL).await;
    sink.next().await;
    Some((sink, app))
}

async fn reset_by_email_revokes_everything(backend: Backend) {
    let Some((sink, app)) = app_with_mail(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user(EMAIL).await;
    sink.next().await; // the verification mail
    // The user is signed in here and an app holds a refresh token.
    let browser = Browser::new(&app);
    let refresh_token = code_refresh_token(&app, &client, &browser, EMAIL).await;

    // The login page offers the reset.
    let anon = Browser::new(&app);
    let login = anon.get("/login").await.text().await.expect("html");
    assert!(login.contains("id=\"forgot-password\""), "{login}");

    // An unknown address and a known one get the very same page.
    let (s1, unknown) = ask_for_reset(&anon, "nobody@example.com").await;
    let (s2, known) = ask_for_reset(&anon, EMAIL).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(unknown, known, "nothing tells the two apart");
    let mail = sink.next().await;
    assert_eq!(mail.to, vec![EMAIL.to_owned()]);
    assert_eq!(
        sink.received(),
        2,
        "nothing was mailed for the unknown address"
    );
    let link = mail.link("/password-reset/new").expect("reset link");

    let page = anon.get(&link).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers().contains_key("content-security-policy"));
    let page = page.text().await.expect("html");
    // The password rules hold, and a refused password does not spend the link.
    let mismatch = set_password(&anon, &page, NEW_PASSWORD, "something else").await;
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let short = set_password(&anon, &page, "short", "short").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(short.text().await.expect("html").contains("8 to 256"));
    let forged = anon
        .post(
            "/password-reset/new",
            &[
                ("csrf", "x"),
                ("token", &hidden(&page, "token").expect("token")),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let done = set_password(&anon, &page, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);

    // The link is spent.
    assert_eq!(anon.get(&link).await.status(), StatusCode::BAD_REQUEST);
    let again = set_password(
        &anon,
        &page,
        "yet another passphrase",
        "yet another passphrase",
    );
    assert_eq!(again.await.status(), StatusCode::BAD_REQUEST);
    // The app's refresh token is revoked, the old session is over.
    let (status, error, _) = error_of(refresh(&app, &client, &refresh_token).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    let Visit::Page { url, html, .. } = browser.visit("/account").await else {
        panic!("a page")
    };
    assert!(url.contains("/login"), "signed out: {url}");
    // The old password fails, the new one works.
    let old = browser.login(&url, &html, EMAIL, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let Visit::Page { url, html, .. } = browser.visit("/account").await else {
        panic!("a page")
    };
    let new = browser.login(&url, &html, EMAIL, NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

async fn reset_links_expire_and_requests_are_limited(backend: Backend) {
    let Some((sink, app)) = app_with_user(backend).await else {
        return;
    };
    let anon = Browser::new(&app);
    ask_for_reset(&anon, EMAIL).await;
    let link = sink.next().await.link("/password-reset/new").expect("link");
    let page = anon.get(&link).await.text().await.expect("html");
    app.advance(tollgate_core::mail::RESET_PASSWORD_TTL + 1);
    assert_eq!(anon.get(&link).await.status(), StatusCode::BAD_REQUEST);
    let late = set_password(&anon, &page, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);

    // Five requests a minute per client address (the budget refilled over the hour), known
    // address or not; then 429 for both alike.
    for _ in 0..5 {
        assert_eq!(ask_for_reset(&anon, "nobody@example.com").await.0, 200);
    }
    let (status, _) = ask_for_reset(&anon, "nobody@example.com").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = ask_for_reset(&anon, EMAIL).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn adding_one_time_codes_mails_a_notice(backend: Backend) {
    let Some((sink, app)) = app_with_user(backend).await else {
        return;
    };
    let browser = Browser::new(&app);
    let Visit::Page { .. } = browser.visit_as("/account", EMAIL).await else {
        panic!("account page")
    };
    let setup = browser
        .get("/account/two-factor")
        .await
        .text()
        .await
        .expect("html");
    let key = {
        let marker = "id=\"totp-key\">";
        let start = setup.find(marker).expect("key") + marker.len();
        setup[start..start + setup[start..].find('<').expect("end")].to_owned()
    };
    let secret = base32_decode(key.trim());
    let code = totp::code_at(&secret, tollgate_core::Clock::now(&app.clock));
    let field = |n| hidden(&setup, n).unwrap_or_default();
    let done = browser
        .post(
            "/account/two-factor",
            &[
                ("csrf", &field("csrf")),
                ("continue", &field("continue")),
                ("pending", &field("pending")),
                ("setup", &field("setup")),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    let notice = sink.next().await;
    assert_eq!(notice.to, vec![EMAIL.to_owned()]);
    assert!(
        notice
            .header("subject")
            .unwrap_or_default()
            .contains("sign-in method"),
        "{notice:?}"
    );
    assert!(
        notice.text().contains("One-time codes"),
        "{}",
        notice.text()
    );
}

on_both_backends!(
    reset_by_email_revokes_everything,
    reset_links_expire_and_requests_are_limited,
    adding_one_time_codes_mails_a_notice,
);

#[tokio::test]
async fn config_check_greets_the_smtp_server() {
    let sink = SmtpSink::start().await;
    let config = Config {
        smtp_url: Some(Concealed(
            sink.url().replace("smtp://", "smtp://u:hunter22@"),
        )),
        smtp_from: Some(FROM.into()),
        ..Config::default()
    };
    let (status, problem) = tollgate::check::mail_status(&config).await;
    assert!(!problem, "{status}");
    assert!(status.contains("answers"), "{status}");
    assert!(sink.connections.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(sink.received(), 0, "a check sends nothing");
    // The password appears nowhere: not in the redacted config, not in Debug.
    let shown = tollgate::check::redacted(&config).to_string();
    assert!(!shown.contains("hunter22"), "{shown}");
    assert!(!format!("{config:?}").contains("hunter22"));

    // Nothing listening: a problem, said plainly.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let config = Config {
        smtp_url: Some(Concealed(format!("smtp://127.0.0.1:{port}"))),
        ..config
    };
    let (status, problem) = tollgate::check::mail_status(&config).await;
    assert!(problem, "{status}");
    // A URL without a sender is a configuration problem.
    let config = Config {
        smtp_from: None,
        ..config
    };
    let problems = tollgate::check::problems(&config, None);
    assert!(
        problems.iter().any(|p| p.contains("smtp_from")),
        "{problems:?}"
    );
}

/// The command an operator runs: `tollgate config check` greets the SMTP server named in the
/// environment, passes, and never prints the SMTP password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_check_command_reports_mail() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let run = |smtp: Option<String>| {
        let mut cmd = tollgate_command();
        cmd.arg("--data-dir")
            .arg(dir.path())
            .args(["--json", "config", "check"])
            .env_remove("TOLLGATE_DATABASE_URL")
            .current_dir(dir.path());
        if let Some(url) = smtp {
            cmd.env("TOLLGATE_SMTP_URL", url)
                .env("TOLLGATE_SMTP_FROM", FROM)
                .env("TOLLGATE_SMTP_PASSWORD", "hunter22");
        }
        cmd.output()
    };
    let out = run(Some(sink.url().replace("smtp://", "smtp://mailer@")))
        .await
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("hunter22"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert!(
        v["mail"].as_str().unwrap_or_default().contains("answers"),
        "{v}"
    );
    assert_eq!(v["config"]["smtp_password"], "<redacted>");
    assert_eq!(sink.received(), 0);

    let off = run(None).await.expect("run");
    let v: serde_json::Value = serde_json::from_slice(&off.stdout).expect("json");
    assert!(off.status.success());
    assert!(
        v["mail"]
            .as_str()
            .unwrap_or_default()
            .contains("not configured"),
        "{v}"
    );
}
