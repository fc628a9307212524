//! Every seed operation as Twilio's SDKs and browsers call it (DESIGN section 6): authorize
//! answers, v1 account credentials, optional RedirectUri, Audience, required fields, JSON
//! bodies, read-through lookups, CORS and the demo callback.

use serde_json::{Value, json};
use tollgate_core::admin::ClientSpec;
use tollgate_core::authorize::s256;
use tollgate_core::model::GrantType;

use crate::helpers::location;
use crate::helpers::{Backend, TestApp, TestClient, spawn_app};
use crate::helpers::{Browser, REDIRECT, VERIFIER, query_param};
use tollgate_testkit::on_both_backends;

async fn body(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    resp.json().await.expect("json body")
}

async fn twilio_code(resp: reqwest::Response, status: u16, code: u32) -> Value {
    let b = body(resp, status).await;
    assert_eq!(b["code"], code, "{b}");
    assert_eq!(b["status"], status, "{b}");
    b
}

/// What twilio-python does: GET with `Accept: application/json`, no cookies, no redirects.
async fn sdk_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.get_with_header(path, "accept", "application/json")
        .await
}

async fn authorize_answers_302_with_redirect_to(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    let v2 = format!(
        "/v2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=read&state=s1",
        client.id
    );
    let v1 = format!(
        "/v1/authorize?ResponseType=code&ClientId={}&RedirectUri={REDIRECT}&Scope=read&State=s1",
        client.id
    );
    for path in [&v2, &v1] {
        let resp = sdk_get(&app, path).await;
        assert_eq!(resp.status(), 302, "{path}");
        let location = location(&resp).to_owned();
        let b: Value = resp.json().await.expect("json");
        assert_eq!(b["redirect_to"], location.as_str());
        assert!(location.starts_with(&format!("{}/login?continue=", app.base)));
    }
    // Errors are Twilio JSON for an SDK and a page for a browser.
    let bad = format!("/v2/authorize?response_type=code&client_id={}", "OQ0");
    twilio_code(sdk_get(&app, &bad).await, 400, 20001).await;
    let bad_v1 = "/v1/authorize?ResponseType=code&ClientId=OQ00000000000000000000000000000000";
    twilio_code(sdk_get(&app, bad_v1).await, 400, 20001).await;
    let page = Browser::new(&app).get(bad_v1).await;
    assert_eq!(page.status(), 400);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );

    // Signed in, the redirect to the client is the same 302 with redirect_to.
    app.user("sdk@example.com").await;
    let browser = Browser::new(&app);
    let location = browser.authorize(&v2, "sdk@example.com").await;
    assert!(location.starts_with(REDIRECT), "{location}");
    let again = browser.http.get(app.url(&v2)).send().await.expect("GET");
    assert_eq!(again.status(), 302);
    let b: Value = again.json().await.expect("json");
    let to = b["redirect_to"].as_str().expect("redirect_to");
    assert!(
        query_param(to, "code").is_some() && to.starts_with(REDIRECT),
        "{to}"
    );
}

async fn v1_token(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/v1/token")).form(form);
    if let Some((u, p)) = basic {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await.expect("POST /v1/token")
}

async fn v1_account_credentials_stand_in_for_the_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.client().await;
    let account = app.account.sid.to_string();
    let form = [
        ("GrantType", "client_credentials"),
        ("ClientId", client.id.as_str()),
    ];
    let b = body(
        v1_token(&app, &form, Some((&account, &app.auth_token))).await,
        201,
    )
    .await;
    assert!(b["access_token"].is_string(), "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    // Wrong auth token, or no credentials at all.
    twilio_code(
        v1_token(&app, &form, Some((&account, "wrong"))).await,
        401,
        20003,
    )
    .await;
    twilio_code(v1_token(&app, &form, None).await, 401, 20003).await;
    // Another account's credentials do not open this account's app.
    let other = app.stranger_account().await;
    let other_sid = other.0.sid.to_string();
    let resp = v1_token(&app, &form, Some((&other_sid, other.1.expose()))).await;
    twilio_code(resp, 401, 20003).await;
    // A device flow begun with account credentials is finished with them.
    let dev = app
        .client_with(|s| {
            s.grant_types = vec![GrantType::DeviceCode];
        })
        .await;
    let resp = app
        .post_basic(
            "/v1/device/code",
            (&account, &app.auth_token),
            &[("ClientSid", dev.id.as_str()), ("Scopes", "read")],
        )
        .await;
    let d = body(resp, 201).await;
    let device_code = d["device_code"].as_str().expect("device_code");
    let poll = [
        ("GrantType", "urn:ietf:params:oauth:grant-type:device_code"),
        ("ClientSid", dev.id.as_str()),
        ("DeviceCode", device_code),
    ];
    let b = twilio_code(
        v1_token(&app, &poll, Some((&account, &app.auth_token))).await,
        400,
        20001,
    )
    .await;
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("authorization_pending")),
        "{b}"
    );
}

async fn v1_required_fields_and_audience(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app
        .client_with(|s| s.audiences = vec!["https://api.example".into()])
        .await;
    // ClientSid is required: 400, not 401.
    let form = [
        ("GrantType", "client_credentials"),
        ("ClientSecret", client.secret.as_str()),
    ];
    twilio_code(v1_token(&app, &form, None).await, 400, 20001).await;
    // Audience is honoured as on /v2/token.
    let form = [
        ("GrantType", "client_credentials"),
        ("ClientSid", client.id.as_str()),
        ("ClientSecret", client.secret.as_str()),
        ("Audience", "https://api.example"),
    ];
    let b = body(v1_token(&app, &form, None).await, 201).await;
    let claims = app.verify_token_of(&b).await;
    assert_eq!(claims["aud"], "https://api.example");
    // Scopes is required on /v1/device/code.
    let dev = app
        .client_with(|s| s.grant_types = vec![GrantType::DeviceCode])
        .await;
    let resp = app
        .post_form(
            "/v1/device/code",
            &[
                ("ClientSid", dev.id.as_str()),
                ("ClientSecret", dev.secret.as_str()),
            ],
        )
        .await;
    twilio_code(resp, 400, 20001).await;
    // The v1 discovery document lists the ID token's claims.
    let doc = app.get_json("/v1/.well-known/openid-configuration").await;
    let claims: Vec<&str> = doc["claims_supported"]
        .as_array()
        .expect("claims")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "azp",
        "email",
    ] {
        assert!(claims.contains(&c), "{c} in {claims:?}");
    }
    assert!(!claims.contains(&"client_id") && !claims.contains(&"scope"));
}

async fn v1_code_without_redirect_uri(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client: TestClient = app.code_client(false).await;
    app.user("v1@example.com").await;
    let url = format!(
        "/v1/authorize?ResponseType=code&ClientId={}&RedirectUri={REDIRECT}&Scope=read&CodeChallenge={}&CodeChallengeMethod=S256",
        client.id,
        s256(VERIFIER)
    );
    let location = Browser::new(&app).authorize(&url, "v1@example.com").await;
    let code = query_param(&location, "code").expect("code");
    let form = [
        ("GrantType", "authorization_code"),
        ("ClientSid", client.id.as_str()),
        ("ClientSecret", client.secret.as_str()),
        ("Code", code.as_str()),
        ("CodeVerifier", VERIFIER),
    ];
    let b = body(v1_token(&app, &form, None).await, 201).await;
    assert!(
        b["access_token"].is_string() && b["refresh_token"].is_string(),
        "{b}"
    );
}

async fn json_bodies_must_be_objects(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    for raw in [
        json!(["client_credentials", c.id.as_str(), c.secret.as_str()]),
        json!("client_credentials"),
        json!(42),
    ] {
        let resp = app
            .http
            .post(app.url("/oauth/token"))
            .json(&raw)
            .send()
            .await
            .expect("POST");
        let b = body(resp, 400).await;
        assert_eq!(b["error"], "invalid_request", "{raw}: {b}");
    }
}

async fn new_accounts_and_clients_work_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    // Created in the store directly: the running server has not seen the change yet.
    let admin = app.server.admin();
    let (sibling, _) = admin
        .create_account(None, Some(app.account.organization_sid.clone()))
        .await
        .expect("sibling account");
    let resp = app
        .client_credentials_at(
            &format!("/v2/token?account_sid={}", sibling.sid),
            c.id.as_str(),
            c.secret.as_str(),
        )
        .await;
    let b = body(resp, 200).await;
    let claims = app.verify_token_of(&b).await;
    assert_eq!(claims["account_sid"], sibling.sid.as_str());
    let (fresh, secret) = admin
        .create_client(ClientSpec {
            friendly_name: "fresh".into(),
            account_sid: Some(app.account.sid.clone()),
            grant_types: vec![GrantType::ClientCredentials],
            ..ClientSpec::default()
        })
        .await
        .expect("client");
    let secret = secret.expect("secret");
    let resp = app
        .client_credentials(fresh.id.as_str(), secret.expose())
        .await;
    assert_eq!(resp.status(), 200);
}

async fn cors_for_registered_origins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.code_client(true).await;
    let preflight = |origin: &'static str, path: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://app.example", "/oauth/token")
        .await
        .expect("preflight");
    assert!(ok.status().is_success());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example", "/oauth/token")
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let pages = preflight("https://app.example", "/v1/Account/OAuthApps")
        .await
        .expect("preflight");
    assert!(pages.headers().get("access-control-allow-origin").is_none());
    // The JWKS is public.
    let jwks = app
        .get_with_header("/oauth/jwks", "origin", "https://anyone.example")
        .await;
    assert_eq!(
        jwks.headers()["access-control-allow-origin"],
        "https://anyone.example"
    );
}

async fn demo_callback_shows_the_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let missing = app.get("/demo/callback?code=x").await;
    assert_eq!(missing.status(), 404);
    app.server
        .state
        .set_demo_app(tollgate_http::pages::demo::DemoApp {
            client_id: "OQ0123".into(),
            client_secret: "s3cret".into(),
        });
    let page = app.get("/demo/callback?code=abc123&state=demo").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("abc123") && html.contains("grant_type=authorization_code"),
        "{html}"
    );
    assert!(
        html.contains(&format!("redirect_uri={}/demo/callback", app.base)),
        "{html}"
    );
}

on_both_backends!(
    authorize_answers_302_with_redirect_to,
    v1_account_credentials_stand_in_for_the_secret,
    v1_required_fields_and_audience,
    v1_code_without_redirect_uri,
    json_bodies_must_be_objects,
    new_accounts_and_clients_work_at_once,
    cors_for_registered_origins,
    demo_callback_shows_the_code,
);
