//! Headless Chromium (Debian's `chromium` and `chromium-driver`) driven over WebDriver:
//! sign in and consent with the keyboard, land on a local redirect URI, redeem the code.

use axum::Router;
use axum::routing::get;
use fantoccini::key::Key;
use serde_json::Value;
use tollgate_core::authorize::s256;

use crate::helpers::chromium::{click, element, enter, text_of, wait_for_url, with_chrome};
use crate::helpers::{Backend, PASSWORD, VERIFIER, query_param, redeem_to};
use tollgate_testkit::on_both_backends;

/// A stand-in for the client application's redirect handler.
pub(crate) async fn callback_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route(
        "/cb",
        get(|| async { axum::response::Html("<p id=\"done\">Back at the app</p>") }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/cb")
}

async fn login_consent_and_deny_in_chromium(backend: Backend) {
    let Some((_one, app, chrome)) = with_chrome(backend).await else {
        return;
    };
    let b = &chrome.client;
    let client = app.code_client(false).await;
    app.user("chrome@example.com").await;
    let callback = callback_server().await;
    let authorize = format!(
        "{}/oauth/authorize?{}",
        app.base,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client.id.as_str())
            .append_pair("redirect_uri", &callback)
            .append_pair("scope", "openid email read")
            .append_pair("state", "from-chromium")
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .finish()
    );

    // Sign in with the keyboard only: type, Tab, type, Enter.
    b.goto(&authorize).await.expect("open authorize");
    let email = element(b, "email").await;
    email
        .send_keys("chrome@example.com")
        .await
        .expect("type email");
    email
        .send_keys(&char::from(Key::Tab).to_string())
        .await
        .expect("tab");
    let password = b.active_element().await.expect("focused field");
    assert_eq!(
        password.attr("id").await.expect("id").as_deref(),
        Some("password"),
        "Tab moves to the password field"
    );
    password.send_keys(PASSWORD).await.expect("type password");
    password.send_keys(&enter()).await.expect("submit");

    // Consent names the scopes in plain words; approve with Enter.
    let approve = element(b, "approve").await;
    let scopes = text_of(b, "scopes").await;
    assert!(scopes.contains("See your email address"), "{scopes}");
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("tollgate-consent.png"), png);
    }
    approve.send_keys(&enter()).await.expect("approve");

    let landed = wait_for_url(b, &callback).await;
    element(b, "done").await;
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some("from-chromium")
    );
    let code = query_param(&landed, "code").expect("code");

    let token: Value = redeem_to(&app, &client, &code, &callback, Some(VERIFIER))
        .await
        .json()
        .await
        .expect("token");
    let access = token["access_token"].as_str().expect("access token");
    let info = app.get_json_with_bearer("/oauth/userinfo", access).await;
    assert_eq!(info["email"], "chrome@example.com");

    // Asked again with prompt=consent, the user denies.
    b.goto(&format!("{authorize}&prompt=consent"))
        .await
        .expect("open authorize");
    click(b, "deny").await;
    let landed = wait_for_url(b, &callback).await;
    assert_eq!(
        query_param(&landed, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&landed, "state").as_deref(),
        Some("from-chromium")
    );

    chrome.client.close().await.expect("close browser");
}

/// The `/device` page: a TV shows a code, the user enters it, approves (and denies another).
async fn device_approve_and_deny_in_chromium(backend: Backend) {
    let Some((_one, app, chrome)) = with_chrome(backend).await else {
        return;
    };
    let b = &chrome.client;
    let client = app.device_client().await;
    app.user("tv@example.com").await;
    let start = || app.start_device(&client, "read");
    let poll = |code: String| {
        let (app, client) = (&app, &client);
        async move { app.poll_device(client, &code).await.1 }
    };

    // Approve: open the bare verification URI, sign in, type the code (lower case, no dash).
    let d = start().await;
    b.goto(d["verification_uri"].as_str().expect("uri"))
        .await
        .expect("open /device");
    let email = element(b, "email").await;
    email.send_keys("tv@example.com").await.expect("email");
    element(b, "password")
        .await
        .send_keys(&format!("{PASSWORD}{}", enter()))
        .await
        .expect("password");
    let field = element(b, "user_code").await;
    let typed = d["user_code"]
        .as_str()
        .expect("code")
        .replace('-', "")
        .to_lowercase();
    field
        .send_keys(&format!("{typed}{}", enter()))
        .await
        .expect("type code");
    let shown = text_of(b, "shown-code").await;
    assert_eq!(
        shown,
        d["user_code"].as_str().expect("code"),
        "the page shows the code to compare"
    );
    element(b, "approve")
        .await
        .send_keys(&enter())
        .await
        .expect("approve");
    let msg = text_of(b, "message").await;
    assert!(msg.contains("return to your device"), "{msg}");
    assert!(
        poll(d["device_code"].as_str().expect("dc").to_owned()).await["access_token"]
            .as_str()
            .is_some()
    );

    // Deny: the verification_uri_complete pre-fills the code.
    let d = start().await;
    b.goto(d["verification_uri_complete"].as_str().expect("uri"))
        .await
        .expect("open");
    click(b, "deny").await;
    element(b, "message").await;
    assert_eq!(
        poll(d["device_code"].as_str().expect("dc").to_owned()).await["error"],
        "access_denied"
    );

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(
    login_consent_and_deny_in_chromium,
    device_approve_and_deny_in_chromium
);
