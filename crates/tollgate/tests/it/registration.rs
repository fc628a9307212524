//! RFC 7591 dynamic client registration at `POST /oauth/register`: every section 3.2.2 error,
//! the three per-account policies (off, initial access token, open), the open policy's limits
//! and records, and a registered public client completing the code flow.

use serde_json::{Value, json};
use tollgate_core::admin::Caller;
use tollgate_core::authorize::s256;
use tollgate_core::ids::ClientId;
use tollgate_core::model::{RegisteredVia, RegistrationPolicy};

use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, TestClient, VERIFIER, json as json_of, query_param,
    redeem_to, spawn_app, spawn_app_with,
};
use tollgate_testkit::on_both_backends;

pub(crate) async fn set_policy(app: &TestApp, policy: RegistrationPolicy) {
    app.server
        .admin()
        .set_registration_policy(&Caller::Operator, None, policy)
        .await
        .expect("policy");
}

/// POSTs client metadata, with an initial access token when given.
pub(crate) async fn register(
    app: &TestApp,
    token: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/oauth/register")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("register")
}

/// An initial access token from the account admin API.
pub(crate) async fn initial_access_token(app: &TestApp, uses: u32) -> String {
    let resp = app
        .as_account(
            reqwest::Method::POST,
            "/v1/Account/Registration/InitialAccessTokens",
        )
        .json(&json!({"uses": uses, "ttl": 600}))
        .send()
        .await
        .expect("issue");
    let body = json_of(resp, 201).await;
    body["initial_access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let body: Value = resp.json().await.expect("json error");
    assert!(body["error_description"].is_string(), "{body}");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn public_client() -> Value {
    json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Registered CLI",
    })
}

async fn every_rfc7591_error_case(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.registration_open_per_minute = 1000).await else {
        return;
    };
    set_policy(&app, RegistrationPolicy::Open).await;
    let iat = initial_access_token(&app, 50).await;
    let pkjwt = "private_key_jwt";
    // (with the initial access token, expected error, the metadata refused so)
    let groups: Vec<(bool, &str, Vec<Value>)> = vec![
        (
            false,
            "invalid_redirect_uri",
            vec![
                json!({}),
                json!({"redirect_uris": "http://127.0.0.1/cb"}),
                json!({"redirect_uris": ["javascript:alert(1)"]}),
                json!({"redirect_uris": ["https://app.example/cb#frag"]}),
                json!({"redirect_uris": ["http://app.example/cb"]}),
                json!({"redirect_uris": ["com.example.app:/cb"]}),
                json!({"redirect_uris": ["http://app.example/cb"], "application_type": "native"}),
            ],
        ),
        (
            false,
            "invalid_client_metadata",
            vec![
                json!({"redirect_uris": [REDIRECT], "application_type": "desktop"}),
                json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
                json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
                json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
                json!({"redirect_uris": [REDIRECT], "client_uri": "ftp://app.example/"}),
                json!({"redirect_uris": [REDIRECT], "logo_uri": 7}),
                json!({"redirect_uris": [REDIRECT], "scope": "read \"write\""}),
                json!({"redirect_uris": [REDIRECT], "client_name": ""}),
                json!({"redirect_uris": [REDIRECT], "contacts": [1]}),
                json!({"redirect_uris": [REDIRECT], "post_logout_redirect_uris": ["javascript:x"]}),
                json!({"redirect_uris": [REDIRECT], "backchannel_logout_uri": "not a url"}),
                // Open registration: public clients, user-delegated grants, defined scopes only.
                json!({"redirect_uris": [REDIRECT],
                       "token_endpoint_auth_method": "client_secret_basic"}),
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
                json!({"redirect_uris": [REDIRECT], "scope": "admin"}),
            ],
        ),
        (
            true,
            "invalid_client_metadata",
            vec![
                json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
                json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth"}),
                json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": pkjwt}),
                json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": pkjwt,
                       "jwks": {"keys": []}, "jwks_uri": "https://keys.example/jwks"}),
                json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": pkjwt,
                       "jwks": "not a key set"}),
                // The outbound policy refuses private addresses.
                json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": pkjwt,
                       "jwks_uri": "https://10.1.2.3/jwks"}),
            ],
        ),
        (
            false,
            "unapproved_software_statement",
            vec![json!({"redirect_uris": [REDIRECT],
                        "software_statement": "eyJhbGciOiJub25lIn0.e30."})],
        ),
    ];
    for (with_token, expected, cases) in groups {
        for metadata in cases {
            let resp = register(&app, with_token.then_some(iat.as_str()), &metadata).await;
            let (status, error) = error_code(resp).await;
            assert_eq!((status, error.as_str()), (400, expected), "{metadata}");
        }
    }
    // Not JSON, or not an object.
    for (ct, body) in [
        ("application/x-www-form-urlencoded", "redirect_uris=x"),
        ("application/json", "[1, 2]"),
        ("application/json", "{\"redirect_uris\": "),
    ] {
        let resp = app
            .http
            .post(app.url("/oauth/register"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(
            error_code(resp).await,
            (400, "invalid_client_metadata".into()),
            "{body}"
        );
    }
    assert!(
        app.server
            .admin()
            .registered_clients(&Caller::Operator)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_three_policies(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.registration_open_per_minute = 3).await else {
        return;
    };
    // Off (the default): nobody registers, and no token can be issued.
    let resp = register(&app, None, &public_client()).await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert_eq!(error_code(resp).await.1, "invalid_token");
    let refused = app
        .as_account(
            reqwest::Method::POST,
            "/v1/Account/Registration/InitialAccessTokens",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "no tokens while registration is off");

    // Token: only with an initial access token the administrator issued, once.
    let resp = app
        .as_account(reqwest::Method::POST, "/v1/Account/Registration")
        .json(&json!({"policy": "token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(resp, 200).await["policy"], "token");
    assert_eq!(register(&app, None, &public_client()).await.status(), 401);
    assert_eq!(
        register(&app, Some("made-up"), &public_client())
            .await
            .status(),
        401
    );
    let iat = initial_access_token(&app, 1).await;
    let confidential = json!({
        "grant_types": ["client_credentials"],
        "client_name": "Billing worker",
        "scope": "read",
    });
    let resp = register(&app, Some(&iat), &confidential).await;
    let body = json_of(resp, 201).await;
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["response_types"], json!([]));
    let (id, secret) = (
        body["client_id"].as_str().unwrap(),
        body["client_secret"].as_str().unwrap(),
    );
    let token = app.client_credentials(id, secret).await;
    let token = json_of(token, 200).await;
    assert_eq!(token["scope"], "read");
    assert_eq!(
        register(&app, Some(&iat), &confidential).await.status(),
        401,
        "a one-use token is spent"
    );
    let iat = initial_access_token(&app, 5).await;
    app.advance(601);
    assert_eq!(
        register(&app, Some(&iat), &confidential).await.status(),
        401,
        "expired"
    );

    // Open: anyone registers public clients, recorded with the address, rate limited.
    set_policy(&app, RegistrationPolicy::Open).await;
    let resp = register(&app, None, &json!({"redirect_uris": [REDIRECT]})).await;
    let body = json_of(resp, 201).await;
    assert_eq!(
        body["token_endpoint_auth_method"], "none",
        "public substituted"
    );
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    let id = ClientId::parse(body["client_id"].as_str().unwrap()).unwrap();
    let record = app
        .server
        .admin()
        .registered_clients(&Caller::Operator)
        .await
        .unwrap();
    assert!(record.contains(&id));
    let stored = app.stored_registration(&id).await;
    assert_eq!(stored.via, RegisteredVia::Open);
    assert_eq!(stored.registered_from.as_deref(), Some("127.0.0.1"));
    // The budget is three a minute: the clock moved on since the refused attempts above.
    assert_eq!(register(&app, None, &public_client()).await.status(), 201);
    assert_eq!(register(&app, None, &public_client()).await.status(), 201);
    let limited = register(&app, None, &public_client()).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // A token holder is not limited.
    let iat = initial_access_token(&app, 1).await;
    assert_eq!(
        register(&app, Some(&iat), &public_client()).await.status(),
        201
    );
}

/// A client registered by open registration signs a user in with PKCE at once.
async fn a_registered_public_client_completes_the_code_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    set_policy(&app, RegistrationPolicy::Open).await;
    app.user("dcr@example.com").await;
    let mut metadata = public_client();
    metadata["scope"] = json!("openid profile");
    metadata["application_type"] = json!("native");
    metadata["redirect_uris"] = json!(["http://127.0.0.1:43117/cb", "com.example.app:/cb"]);
    let body = json_of(register(&app, None, &metadata).await, 201).await;
    assert_eq!(body["client_name"], "Registered CLI");
    assert_eq!(body["application_type"], "native");
    // Open registration registers every scope the account defines (here only OpenID
    // Connect's), so a client can step up later; consent still decides each token.
    assert_eq!(body["scope"], "openid profile email offline_access");
    let client = TestClient {
        id: ClientId::parse(body["client_id"].as_str().unwrap()).unwrap(),
        secret: String::new(),
    };
    let browser = Browser::new(&app);
    // RFC 8252 section 7.3: the loopback redirect matches on any port.
    let chosen = "http://127.0.0.1:50999/cb";
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client.id.as_str())
        .append_pair("redirect_uri", chosen)
        .append_pair("scope", "openid")
        .append_pair("state", "s1")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let url = format!("/oauth/authorize?{query}");
    let location = browser.authorize(&url, "dcr@example.com").await;
    assert!(location.starts_with(chosen), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
    let code = query_param(&location, "code").expect("code");
    let resp = redeem_to(&app, &client, &code, chosen, Some(VERIFIER)).await;
    let tokens = json_of(resp, 200).await;
    assert!(tokens["id_token"].is_string());
}

/// Discovery names the registration endpoint, and an issuer with a path also publishes its
/// metadata at the RFC 8414 section 3.1 path form.
async fn discovery_advertises_registration_and_the_path_form(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.engine.issuer = "http://tollgate.test/tenant".into();
    })
    .await
    else {
        return;
    };
    let root = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        root["registration_endpoint"],
        "http://tollgate.test/tenant/oauth/register"
    );
    assert_eq!(root["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(root["authorization_response_iss_parameter_supported"], true);
    let oidc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oidc["registration_endpoint"], root["registration_endpoint"]);
    let at_path = app
        .get_json("/.well-known/oauth-authorization-server/tenant")
        .await;
    assert_eq!(at_path, root);
    let other = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

on_both_backends!(
    discovery_advertises_registration_and_the_path_form,
    every_rfc7591_error_case,
    the_three_policies,
    a_registered_public_client_completes_the_code_flow,
);
