//! Logout in headless Chromium: one browser session signs in to two apps, one RP-initiated
//! logout (id_token_hint, registered post_logout_redirect_uri, state) ends it, the other app's
//! back-channel endpoint gets a logout token that verifies against the JWKS with that app's
//! `sid`, and the session cookie no longer signs in. The confirmation page passes axe-core.

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use tollgate_core::authorize::s256;
use tollgate_core::model::{ClientLogout, GrantType};

use crate::console_chromium::{axe, axe_source};
use crate::helpers::chromium::{click, element, enter, type_into, wait_for_url, with_chrome};
use crate::helpers::{
    Backend, PASSWORD, TestApp, TestClient, VERIFIER, jwt_claims, query_param, redeem_to,
};
use crate::logout::{BackChannel, verify_logout_token};
use tollgate_testkit::on_both_backends;

/// The relying parties' pages: where the code lands, and where logout returns.
async fn rp_pages() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route(
            "/cb",
            get(|| async { axum::response::Html("<p id=\"done\">Back at the app</p>") }),
        )
        .route(
            "/bye",
            get(|| async { axum::response::Html("<p id=\"bye\">Signed out of the app</p>") }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn rp(app: &TestApp, rp_base: &str, logout: ClientLogout) -> TestClient {
    let cb = format!("{rp_base}/cb");
    app.client_with(|s| {
        s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        s.redirect_uris = vec![cb];
        s.scopes = vec!["read".into()];
        s.logout = logout;
    })
    .await
}

fn authorize_url(app: &TestApp, rp_base: &str, c: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", c.id.as_str())
        .append_pair("redirect_uri", &format!("{rp_base}/cb"))
        .append_pair("scope", "openid read")
        .append_pair("state", "st")
        .append_pair("nonce", "n-0S6")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("{}/oauth/authorize?{}", app.base, q.finish())
}

async fn redeem(app: &TestApp, rp_base: &str, c: &TestClient, landed: &str) -> Value {
    let code = query_param(landed, "code").expect("code");
    let cb = format!("{rp_base}/cb");
    redeem_to(app, c, &code, &cb, Some(VERIFIER))
        .await
        .json()
        .await
        .expect("token")
}

async fn one_logout_ends_the_session_for_two_apps_in_chromium(backend: Backend) {
    let Some((_one, app, chrome)) = with_chrome(backend).await else {
        return;
    };
    let b = &chrome.client;
    let axe_js = axe_source();
    let rp_base = rp_pages().await;
    let bye = format!("{rp_base}/bye");
    let back_channel = BackChannel::start(0).await;
    let first = rp(
        &app,
        &rp_base,
        ClientLogout {
            post_logout_redirect_uris: vec![bye.clone()],
            backchannel_logout_uri: None,
        },
    )
    .await;
    let second = rp(
        &app,
        &rp_base,
        ClientLogout {
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: Some(back_channel.url.clone()),
        },
    )
    .await;
    app.user("two-apps@example.com").await;

    // Sign in once, for the first app.
    b.goto(&authorize_url(&app, &rp_base, &first, &[]))
        .await
        .expect("authorize");
    type_into(b, "email", "two-apps@example.com").await;
    type_into(b, "password", &format!("{PASSWORD}{}", enter())).await;
    element(b, "approve")
        .await
        .send_keys(&enter())
        .await
        .expect("approve");
    let landed = wait_for_url(b, &format!("{rp_base}/cb")).await;
    let t1 = redeem(&app, &rp_base, &first, &landed).await;
    // The second app: the same browser session, no password asked.
    b.goto(&authorize_url(&app, &rp_base, &second, &[]))
        .await
        .expect("authorize");
    click(b, "approve").await;
    let landed = wait_for_url(b, &format!("{rp_base}/cb")).await;
    let t2 = redeem(&app, &rp_base, &second, &landed).await;
    let id1 = jwt_claims(t1["id_token"].as_str().expect("id token 1"));
    let id2 = jwt_claims(t2["id_token"].as_str().expect("id token 2"));
    assert!(
        id2["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid: {id2}"
    );
    assert_eq!(id1["sid"], id2["sid"], "one browser session, one sid");

    // Without a hint the person is asked first (and the page is accessible).
    b.goto(&format!("{}/oauth/logout", app.base))
        .await
        .expect("logout page");
    element(b, "sign-out").await;
    axe(b, axe_js.as_deref(), "end-session confirmation").await;

    // The first app logs the person out: back at its registered URI with its state.
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", t1["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", &bye)
        .append_pair("state", "after-logout")
        .append_pair("ui_locales", "de")
        .finish();
    b.goto(&format!("{}/oauth/logout?{q}", app.base))
        .await
        .expect("end session");
    let back = wait_for_url(b, &bye).await;
    element(b, "bye").await;
    assert_eq!(query_param(&back, "state").as_deref(), Some("after-logout"));

    // The second app hears of it on its back channel, for its own sid.
    let tokens = back_channel.wait_for(1).await;
    assert_eq!(
        tokens.len(),
        1,
        "one token for the one app with a back channel"
    );
    let claims = verify_logout_token(&app, &tokens[0], second.id.as_str()).await;
    assert_eq!(claims["sid"], id2["sid"]);
    assert_eq!(claims["sub"], id2["sub"]);

    // The cookie no longer signs in: prompt=none says login_required, and without it the
    // sign-in page comes back.
    b.goto(&authorize_url(
        &app,
        &rp_base,
        &second,
        &[("prompt", "none")],
    ))
    .await
    .expect("silent authorize");
    let landed = wait_for_url(b, &format!("{rp_base}/cb")).await;
    assert_eq!(
        query_param(&landed, "error").as_deref(),
        Some("login_required")
    );
    b.goto(&authorize_url(&app, &rp_base, &first, &[]))
        .await
        .expect("authorize");
    element(b, "password").await;
    assert!(
        b.current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/login")
    );

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(one_logout_ends_the_session_for_two_apps_in_chromium);
