//! Strongly authenticated, sender-constrained clients: RFC 7523 assertions, RFC 9449 DPoP,
//! RFC 9126 PAR, RFC 8707 resources and the FAPI 2.0 profile, every refusal on both stores.

use serde_json::{Value, json};
use tollgate_core::authorize::s256;
use tollgate_core::model::{GrantType, TokenEndpointAuthMethod};

use crate::helpers::{Backend, TestApp, TestClient, key_app, key_app_with, spawn_app};
use crate::helpers::{Browser, REDIRECT, location, query_param};
use crate::helpers::{ClientKey, VERIFIER, ath, error_of};
use tollgate_testkit::on_both_backends;

const JWT_BEARER: &str = tollgate_core::client_assertion::JWT_BEARER;

async fn private_key_jwt_client_credentials(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    // aud may be the issuer or the token endpoint's URL.
    for aud in [app.base.clone(), app.url("/oauth/token")] {
        let resp = app
            .assertion_token(&key.assertion(&app, id, &aud, 60), None)
            .await;
        assert_eq!(resp.status(), 200, "{aud}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
    }
    // The plain secret route is closed to a private_key_jwt client.
    let (status, error, _) = error_of(app.client_credentials(id, "anything").await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    // The same assertion works on the Twilio v2 dialect's form.
    let v2 = app
        .post_form(
            "/v2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &key.assertion(&app, id, &app.base, 60)),
            ],
        )
        .await;
    assert_eq!(v2.status(), 200);
}

async fn assertion_refusals(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    let wrong_aud = key.assertion(&app, id, "https://elsewhere.example", 60);
    let (status, error, why) = error_of(app.assertion_token(&wrong_aud, None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"), "{why}");
    assert!(why.contains("aud"), "{why}");

    let expiring = key.assertion(&app, id, &app.base, 30);
    app.advance(31);
    let (status, error, why) = error_of(app.assertion_token(&expiring, None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(why.contains("expired"), "{why}");

    let once = key.assertion(&app, id, &app.base, 60);
    assert_eq!(app.assertion_token(&once, None).await.status(), 200);
    let (status, error, why) = error_of(app.assertion_token(&once, None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(why.contains("jti"), "{why}");

    // Signed by a key the client never registered.
    let stranger = ClientKey::es256();
    let forged = stranger.assertion(&app, id, &app.base, 60);
    let (status, error, _) = error_of(app.assertion_token(&forged, None).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));

    // A wrong assertion type is a malformed request.
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:example:other"),
                ("client_assertion", &key.assertion(&app, id, &app.base, 60)),
            ],
        )
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_request");
}

async fn assertion_jti_is_single_use_across_nodes(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let kek = std::fs::read_to_string(app.dir.path().join("key-encryption.key")).ok();
    let dir = tempfile::tempdir().expect("dir");
    let other = crate::helpers::spawn_on(app.database_url.clone(), dir, |cfg| {
        cfg.key_encryption_key = kek;
    })
    .await;
    other.server.engine.sync().await.expect("sync");
    let assertion = key.assertion(&app, c.id.as_str(), &app.base, 60);
    assert_eq!(app.assertion_token(&assertion, None).await.status(), 200);
    let replay = other
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    let (status, error, why) = error_of(replay).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"), "{why}");
}

async fn client_secret_jwt(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app
        .client_with(|s| s.auth_method = Some(TokenEndpointAuthMethod::ClientSecretJwt))
        .await;
    let now = tollgate_core::Clock::now(&app.clock);
    let claims = json!({"iss": c.id.as_str(), "sub": c.id.as_str(), "aud": app.base,
                        "exp": now + 60, "jti": "secret-jwt-1"});
    let sign = |secret: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("hs256")
    };
    let (status, ..) = error_of(app.assertion_token(&sign("wrong"), None).await).await;
    assert_eq!(status, 401);
    assert_eq!(
        app.assertion_token(&sign(&c.secret), None).await.status(),
        200
    );
}

async fn dpop_bound_client_credentials(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    let url = app.url("/oauth/token");
    let proof = key.proof(&app, "POST", &url, json!({}));
    let resp = app.key_token(&key, id, Some(&proof)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().expect("token");
    let claims = app.verify_access_token(token).await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt());
    // Introspection shows the binding.
    let peer = app.client().await;
    let resp = app
        .post_form(
            "/oauth/introspect",
            &[
                ("token", token),
                ("client_id", peer.id.as_str()),
                ("client_secret", &peer.secret),
            ],
        )
        .await;
    let info: Value = resp.json().await.expect("json");
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "DPoP");
    assert_eq!(info["cnf"]["jkt"], key.jkt());
}

async fn dpop_proof_refusals(backend: Backend) {
    let Some((app, key, c)) = key_app(backend).await else {
        return;
    };
    let id = c.id.as_str();
    let url = app.url("/oauth/token");
    let cases = [
        (
            "wrong method",
            key.proof(&app, "GET", &url, json!({})),
            "htm",
        ),
        (
            "wrong URL",
            key.proof(&app, "POST", &app.url("/v2/token"), json!({})),
            "htu",
        ),
        (
            "stale iat",
            key.proof(
                &app,
                "POST",
                &url,
                json!({"iat": tollgate_core::Clock::now(&app.clock) - 300}),
            ),
            "iat",
        ),
    ];
    for (what, proof, needle) in cases {
        let resp = app.key_token(&key, id, Some(&proof)).await;
        let (status, error, why) = error_of(resp).await;
        assert_eq!(
            (status, error.as_str()),
            (400, "invalid_dpop_proof"),
            "{what}: {why}"
        );
        assert!(why.contains(needle), "{what}: {why}");
    }
    // A proof made now goes stale once the clock moves past the window.
    let proof = key.proof(&app, "POST", &url, json!({}));
    app.advance(120);
    let resp = app.key_token(&key, id, Some(&proof)).await;
    assert_eq!(error_of(resp).await.1, "invalid_dpop_proof");
    // Replay of a proof that worked once.
    let proof = key.proof(&app, "POST", &url, json!({}));
    let first = app.key_token(&key, id, Some(&proof)).await;
    assert_eq!(first.status(), 200);
    let again = app.key_token(&key, id, Some(&proof)).await;
    let (status, error, why) = error_of(again).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));
    assert!(why.contains("jti"), "{why}");
}

async fn dpop_server_nonce(backend: Backend) {
    let Some((app, key, c)) = key_app_with(backend, |c| c.engine.dpop_nonce = true).await else {
        return;
    };
    let id = c.id.as_str();
    let url = app.url("/oauth/token");
    let proof = |extra: Value| key.proof(&app, "POST", &url, extra);
    let resp = app.key_token(&key, id, Some(&proof(json!({})))).await;
    let nonce = resp
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("DPoP-Nonce challenge");
    let (status, error, _) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (400, "use_dpop_nonce"));
    // Still no nonce after the challenge: refused again.
    let resp = app.key_token(&key, id, Some(&proof(json!({})))).await;
    assert_eq!(error_of(resp).await.1, "use_dpop_nonce");
    // A made-up nonce is no better.
    let resp = app
        .key_token(&key, id, Some(&proof(json!({"nonce": "1.forged"}))))
        .await;
    assert_eq!(error_of(resp).await.1, "use_dpop_nonce");
    let resp = app
        .key_token(&key, id, Some(&proof(json!({"nonce": nonce}))))
        .await;
    assert_eq!(resp.status(), 200);
}

/// PAR with PKCE, sign-in, and the code redeemed; returns the token response.
async fn par_code_flow(
    app: &TestApp,
    c: &TestClient,
    client_auth: &dyn Fn() -> Vec<(&'static str, String)>,
    key: &ClientKey,
    resources: &[&str],
) -> Value {
    let mut form: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", c.id.to_string()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid read".into()),
        ("state", "s1".into()),
        ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ];
    form.extend(resources.iter().map(|r| ("resource", (*r).to_owned())));
    form.extend(client_auth());
    let resp = app.post_pairs("/oauth/par", &form).await;
    assert_eq!(resp.status(), 201);
    let pushed: Value = resp.json().await.expect("json");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    assert_eq!(pushed["expires_in"], 60);
    let browser = Browser::new(app);
    let url = format!(
        "/oauth/authorize?client_id={}&request_uri={}",
        c.id,
        urlencode(request_uri)
    );
    let back = browser.authorize(&url, "fapi@example.com").await;
    app.assert_iss(&back);
    let code = query_param(&back, "code").expect("code");
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", VERIFIER.into()),
        ("client_id", c.id.to_string()),
    ];
    form.extend(client_auth());
    let proof = key.proof(app, "POST", &app.url("/oauth/token"), json!({}));
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .header("DPoP", proof)
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

/// The `error` an authorization redirect carries.
fn redirect_error(resp: &reqwest::Response) -> Option<String> {
    query_param(location(resp), "error")
}

/// An authorization page refusing with a 400 that says `why`.
async fn assert_refused_page(resp: reqwest::Response, why: &str) {
    assert_eq!(resp.status(), 400, "{why}");
    assert!(resp.text().await.unwrap_or_default().contains(why), "{why}");
}

/// A pushed request authenticated by nothing but `secret`: its RFC 6749 error.
async fn push_with_secret(app: &TestApp, id: &str, secret: &str) -> (u16, String, String) {
    let form = [
        ("response_type", "code"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    error_of(app.post_form("/oauth/par", &form).await).await
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn public_dpop_flow_refresh_and_userinfo(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("fapi@example.com").await;
    let c = app
        .client_with(|s| {
            s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            s.redirect_uris = vec![REDIRECT.into()];
            s.scopes = vec!["read".into()];
            s.audiences = vec!["https://api.example".into(), "https://other.example".into()];
            s.public = true;
        })
        .await;
    let key = ClientKey::es256();
    let tokens = par_code_flow(
        &app,
        &c,
        &Vec::new,
        &key,
        &["https://api.example", "https://other.example"],
    )
    .await;
    assert_eq!(tokens["token_type"], "DPoP");
    let at = tokens["access_token"].as_str().expect("at");
    let claims = app.claims(at);
    assert_eq!(
        claims["aud"],
        json!(["https://api.example", "https://other.example"])
    );
    assert_eq!(claims["cnf"]["jkt"], key.jkt());

    // userinfo wants the DPoP scheme, a proof, and its ath.
    let userinfo = app.url("/oauth/userinfo");
    let get = |auth: String, proof: Option<String>| {
        let mut req = app.http.get(&userinfo).header("Authorization", auth);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    let as_bearer = get(format!("Bearer {at}"), None).await.expect("req");
    assert_eq!(as_bearer.status(), 401);
    let no_ath = get(
        format!("DPoP {at}"),
        Some(key.proof(&app, "GET", &userinfo, json!({}))),
    )
    .await
    .expect("req");
    assert_eq!(no_ath.status(), 401);
    assert!(
        no_ath.headers()["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .starts_with("DPoP ")
    );
    // With its ath, a proof by another key is refused and one by the bound key accepted.
    let other_key = ClientKey::es256();
    for (signer, status) in [(&other_key, 401), (&key, 200)] {
        let proof = signer.proof(&app, "GET", &userinfo, json!({"ath": ath(at)}));
        let resp = get(format!("DPoP {at}"), Some(proof)).await.expect("req");
        assert_eq!(resp.status(), status);
    }

    // The refresh token is bound to the key; a refresh may narrow to one resource.
    let rt = tokens["refresh_token"].as_str().expect("rt");
    let refresh = |proof: String, resource: &'static str| {
        app.http
            .post(app.url("/oauth/token"))
            .header("DPoP", proof)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", c.id.as_str()),
                ("resource", resource),
            ])
            .send()
    };
    let token_url = app.url("/oauth/token");
    let stolen = refresh(
        other_key.proof(&app, "POST", &token_url, json!({})),
        "https://api.example",
    )
    .await
    .expect("req");
    let (status, error, _) = error_of(stolen).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));
    let unknown = refresh(
        key.proof(&app, "POST", &token_url, json!({})),
        "https://third.example",
    )
    .await
    .expect("req");
    assert_eq!(error_of(unknown).await.1, "invalid_target");
    let narrowed = refresh(
        key.proof(&app, "POST", &token_url, json!({})),
        "https://api.example",
    )
    .await
    .expect("req");
    assert_eq!(narrowed.status(), 200);
    let body: Value = narrowed.json().await.expect("json");
    let claims = app.claims(body["access_token"].as_str().expect("at"));
    assert_eq!(claims["aud"], "https://api.example");
}

async fn par_refusals(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("fapi@example.com").await;
    let mine = app.code_client(false).await;
    let theirs = app.code_client(false).await;
    let push = |c: &TestClient| {
        let form = [
            ("response_type", "code"),
            ("client_id", c.id.as_str()),
            ("client_secret", c.secret.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ];
        let req = app.http.post(app.url("/oauth/par")).form(&form);
        async move {
            let v: Value = req.send().await.expect("par").json().await.expect("json");
            v["request_uri"].as_str().expect("request_uri").to_owned()
        }
    };
    let authorize = |c: &TestClient, uri: &str| {
        format!(
            "/oauth/authorize?client_id={}&request_uri={}",
            c.id,
            urlencode(uri)
        )
    };
    let browser = Browser::new(&app);
    // Another client's request_uri.
    let uri = push(&mine).await;
    let resp = browser.get(&authorize(&theirs, &uri)).await;
    assert_refused_page(resp, "another application").await;
    // Used once, then refused.
    let back = browser
        .authorize(&authorize(&mine, &uri), "fapi@example.com")
        .await;
    assert!(query_param(&back, "code").is_some(), "{back}");
    let resp = browser.get(&authorize(&mine, &uri)).await;
    assert_refused_page(resp, "already used").await;
    // Expired.
    let uri = push(&mine).await;
    app.advance(61);
    let resp = browser.get(&authorize(&mine, &uri)).await;
    assert_refused_page(resp, "expired").await;
    // Pushing needs client authentication.
    assert_eq!(push_with_secret(&app, mine.id.as_str(), "x").await.0, 401);
    // A client that must push cannot send parameters in the front channel.
    let strict = app
        .client_with(|s| {
            s.grant_types = vec![GrantType::AuthorizationCode];
            s.redirect_uris = vec![REDIRECT.into()];
            s.require_par = true;
        })
        .await;
    let resp = browser
        .get(&format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
            strict.id,
            urlencode(REDIRECT)
        ))
        .await;
    assert_eq!(redirect_error(&resp).as_deref(), Some("invalid_request"));
}

async fn fapi_profile(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("fapi@example.com").await;
    let key = ClientKey::es256();
    let c = app.fapi_client(&key).await;
    let id = c.id.as_str();
    // No plain secret: the client has none, and a secret is refused.
    assert_eq!(
        push_with_secret(&app, id, "guess").await.1,
        "invalid_client"
    );
    // No PAR: refused at the authorization endpoint.
    let resp = Browser::new(&app)
        .get(&format!(
            "/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
            urlencode(REDIRECT),
            s256(VERIFIER)
        ))
        .await;
    assert_eq!(redirect_error(&resp).as_deref(), Some("invalid_request"));
    // No PKCE: refused when pushed.
    let auth = || {
        vec![
            ("client_assertion_type", JWT_BEARER.to_owned()),
            ("client_assertion", key.assertion(&app, id, &app.base, 60)),
        ]
    };
    let mut form = vec![
        ("response_type", "code".to_owned()),
        ("client_id", id.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
    ];
    form.extend(auth());
    let resp = app.post_pairs("/oauth/par", &form).await;
    let (status, error, why) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"), "{why}");
    // No DPoP at the token endpoint: refused.
    let tokens = par_code_flow(&app, &c, &auth, &key, &["https://api.example"]).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let rt = tokens["refresh_token"].as_str().expect("rt");
    let mut form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", rt.to_owned()),
    ];
    form.extend(auth());
    let resp = app.post_pairs("/oauth/token", &form).await;
    let (status, error, _) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));
    // Discovery advertises what the profile needs.
    let discovery = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        app.url("/oauth/par")
    );
    assert!(
        discovery["token_endpoint_auth_methods_supported"]
            .as_array()
            .expect("methods")
            .contains(&json!("private_key_jwt"))
    );
    assert!(
        discovery["dpop_signing_alg_values_supported"]
            .as_array()
            .expect("algs")
            .contains(&json!("ES256"))
    );
}

on_both_backends!(
    private_key_jwt_client_credentials,
    assertion_refusals,
    assertion_jti_is_single_use_across_nodes,
    client_secret_jwt,
    dpop_bound_client_credentials,
    dpop_proof_refusals,
    dpop_server_nonce,
    public_dpop_flow_refresh_and_userinfo,
    par_refusals,
    fapi_profile,
);
