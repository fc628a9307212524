//! Passkeys in headless Chromium with chromedriver's virtual authenticator (the WebDriver
//! WebAuthn extension), behind one public name served by two nodes on one database: register
//! a passkey on the account page on node 1, sign out, sign in with the passkey alone on node 2
//! and finish an authorization code flow whose id token (and the refreshed one) says `hwk`;
//! then the account's `required` policy forces a second factor's setup at the next sign-in,
//! and someone with a passkey uses it as that second factor. axe-core checks every new screen.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fantoccini::Locator;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tollgate_core::authorize::s256;
use tollgate_core::model::ACR_PASSKEY;

use crate::chromium::callback_server;
use crate::console_chromium::{axe, axe_source};
use crate::helpers::chromium::{
    ONE_BROWSER, click, element, enter, start_chrome, text_of, type_into, wait_for_url,
};
use crate::helpers::{
    Backend, PASSWORD, VERIFIER, json, jwt_claims, query_param, redeem_to, refresh,
};
use crate::helpers::{spawn_app_with, spawn_on};
use tollgate_testkit::on_both_backends;

/// A load balancer a test steers: every new connection goes to the chosen node, and steering
/// drops the open ones (so a kept-alive connection cannot stay on the old node).
struct Balancer {
    to: Arc<AtomicUsize>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Balancer {
    fn start(listener: TcpListener, nodes: Vec<SocketAddr>) -> Self {
        let to = Arc::new(AtomicUsize::new(0));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (t, l) = (to.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = nodes[t.load(Ordering::SeqCst)];
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                l.lock().expect("links").push(link.abort_handle());
            }
        });
        Self { to, links }
    }

    fn steer(&self, node: usize) {
        self.to.store(node, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }
}

/// chromedriver's virtual authenticator: a platform authenticator that keeps discoverable
/// credentials and verifies the user without asking.
struct Authenticator {
    base: String,
}

impl Authenticator {
    async fn add(driver: &str, client: &fantoccini::Client) -> Self {
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let resp = reqwest::Client::new()
            .post(format!("{driver}/session/{session}/webauthn/authenticator"))
            .json(&json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "automaticPresenceSimulation": true,
            }))
            .send()
            .await
            .expect("add the virtual authenticator");
        assert!(resp.status().is_success(), "{:?}", resp.status());
        let body: Value = resp.json().await.expect("authenticator id");
        let id = body["value"].as_str().expect("authenticator id");
        Self {
            base: format!("{driver}/session/{session}/webauthn/authenticator/{id}"),
        }
    }

    /// Whether the person "passes" user verification. Failing it keeps the login page's
    /// conditional request (passkey autofill, which the virtual authenticator answers at
    /// once) from signing in before the password can be typed.
    async fn verifies(&self, yes: bool) {
        let resp = reqwest::Client::new()
            .post(format!("{}/uv", self.base))
            .json(&json!({ "isUserVerified": yes }))
            .send()
            .await
            .expect("set user verification");
        assert!(resp.status().is_success(), "{:?}", resp.status());
    }
}

/// Types into the (empty) sign-in form. No clearing first: with a passkey on the virtual
/// authenticator, the email field has the browser's pending passkey autofill attached, and
/// WebDriver refuses to clear it.
async fn sign_in_with_password(b: &fantoccini::Client, email: &str) {
    let field = element(b, "email").await;
    field.send_keys(email).await.expect("type email");
    let password = element(b, "password").await;
    password
        .send_keys(&format!("{PASSWORD}{}", enter()))
        .await
        .expect("type password");
}

/// A node behind the public name `issuer`, sealing its keys with `kek`.
fn behind(issuer: &str, kek: &str) -> impl FnOnce(&mut tollgate::config::Config) {
    let (issuer, kek) = (issuer.to_owned(), kek.to_owned());
    move |c| {
        c.engine.issuer = issuer;
        c.key_encryption_key = Some(kek);
    }
}

async fn passkeys_in_chromium(backend: Backend) {
    let _one = ONE_BROWSER.lock().await;
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let public = format!(
        "http://localhost:{}",
        front.local_addr().expect("addr").port()
    );
    let kek = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([9u8; 32])
    };
    let Some(app) = spawn_app_with(backend, behind(&public, &kek)).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let other = spawn_on(app.database_url.clone(), dir, behind(&public, &kek)).await;
    let balancer = Balancer::start(front, vec![app.server.addr, other.server.addr]);
    let Some(chrome) = start_chrome().await else {
        return;
    };
    let b = &chrome.client;
    let authenticator = Authenticator::add(&chrome.driver, b).await;
    let axe_js = axe_source();
    let axe_js = axe_js.as_deref();
    let url = |path: &str| format!("{public}{path}");
    let client = app.code_client(false).await;
    app.user("passkey@example.com").await;
    app.user("later@example.com").await;

    // Node 1: sign in with the password and add a passkey on the account page.
    b.goto(&url("/account")).await.expect("open account");
    axe(b, axe_js, "sign-in with passkey").await;
    sign_in_with_password(b, "passkey@example.com").await;
    wait_for_url(b, &url("/account")).await;
    text_of(b, "no-passkeys").await;
    type_into(b, "passkey-name", "Test laptop").await;
    click(b, "add-passkey").await;
    assert_eq!(text_of(b, "notice").await, "Your passkey is added.");
    let listed = text_of(b, "passkeys").await;
    assert!(listed.contains("Test laptop"), "{listed}");
    assert!(listed.contains("This device only"), "{listed}");
    axe(b, axe_js, "account with a passkey").await;
    click(b, "sign-out").await;
    text_of(b, "message").await;

    // Node 2: sign in with the passkey alone, consent, back at the app with a code.
    balancer.steer(1);
    let callback = callback_server().await;
    let authorize = url(&format!(
        "/oauth/authorize?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client.id.as_str())
            .append_pair("redirect_uri", &callback)
            .append_pair("scope", "openid read")
            .append_pair("acr_values", ACR_PASSKEY)
            .append_pair("code_challenge", &s256(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .finish()
    ));
    b.goto(&authorize).await.expect("open authorize");
    // The button; should the browser already have answered the page's conditional request
    // (its passkey autofill), the form went by itself.
    if let Ok(button) = b.find(Locator::Id("passkey-sign-in")).await {
        let _ = button.click().await;
    }
    click(b, "approve").await;
    let landed = wait_for_url(b, &callback).await;
    let code = query_param(&landed, "code").expect("code");
    let answer = json(
        redeem_to(&other, &client, &code, &callback, Some(VERIFIER)).await,
        200,
    )
    .await;
    let id = jwt_claims(answer["id_token"].as_str().expect("id token"));
    assert_eq!(id["amr"], json!(["hwk"]), "{id}");
    assert_eq!(id["acr"], ACR_PASSKEY);
    // A refresh's id token says the same: it is the same sign-in.
    let rt = answer["refresh_token"].as_str().expect("refresh token");
    let refreshed = json(refresh(&app, &client, rt).await, 200).await;
    let id = jwt_claims(refreshed["id_token"].as_str().expect("id token"));
    assert_eq!(id["amr"], json!(["hwk"]), "{id}");
    assert_eq!(id["acr"], ACR_PASSKEY);

    // The account now requires a second factor: someone without one sets it up first.
    let resp = app
        .as_account(reqwest::Method::POST, "/v1/Account/SignIn")
        .json(&json!({"sign_in_policy": "required"}))
        .send()
        .await
        .expect("set the policy");
    assert_eq!(resp.status(), 200);
    b.goto(&url("/account")).await.expect("open account");
    click(b, "sign-out").await;
    text_of(b, "message").await;
    authenticator.verifies(false).await;
    b.goto(&url("/account")).await.expect("open account");
    sign_in_with_password(b, "later@example.com").await;
    text_of(b, "totp-key").await;

    // Someone with a passkey uses it as the second factor after the password.
    b.goto(&url("/account")).await.expect("open account");
    sign_in_with_password(b, "passkey@example.com").await;
    element(b, "use-passkey").await;
    axe(b, axe_js, "second factor with a passkey").await;
    authenticator.verifies(true).await;
    click(b, "use-passkey").await;
    wait_for_url(b, &url("/account")).await;
    let sessions = text_of(b, "sessions").await;
    assert!(sessions.contains("Password and passkey"), "{sessions}");

    // Signed out, the login page's passkey autofill (conditional UI) signs in by itself.
    click(b, "sign-out").await;
    text_of(b, "message").await;
    b.goto(&url("/account")).await.expect("open account");
    wait_for_url(b, &url("/account")).await;
    let sessions = text_of(b, "sessions").await;
    assert!(sessions.contains("Passkey"), "{sessions}");

    chrome.client.close().await.expect("close browser");
}

on_both_backends!(passkeys_in_chromium);
