//! RFC 9101 request objects: signed with the client's registered keys (inline, or from its
//! `jwks_uri` through the outbound fetcher), by value at the authorization endpoint and through
//! PAR; `alg: none`, another key, another `client_id`, another `aud` and an expired object are
//! `invalid_request_object`; a `request_uri` that is not PAR's is `request_uri_not_supported`;
//! `require_signed_request_object` refuses plain requests.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use tollgate_core::Clock;
use tollgate_core::authorize::s256;

use crate::helpers::{
    Backend, Browser, ClientKey, REDIRECT, TestApp, TestClient, VERIFIER, Visit, error_of, json,
    jwt_claims, query_param, redeem, spawn_app,
};
use tollgate_testkit::on_both_backends;

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The claims of a good request object for `client`, living 5 minutes on the server's clock.
fn object_claims(app: &TestApp, client: &TestClient) -> Value {
    let now = app.clock.now();
    json!({
        "iss": client.id.as_str(),
        "aud": app.base,
        "client_id": client.id.as_str(),
        "exp": now + 300,
        "iat": now,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid read",
        "state": "from-object",
        "nonce": "object-nonce",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    })
}

fn signed(key: &ClientKey, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(key.kid.clone());
    h.typ = Some("oauth-authz-req+jwt".into());
    key.sign(h, claims)
}

fn unsigned(claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{head}.{body}.")
}

/// The front-channel URL carrying `object` by value (with an outer state the object overrides).
fn by_value(client: &TestClient, object: &str) -> String {
    format!(
        "/oauth/authorize?client_id={}&response_type=code&scope=openid&redirect_uri={}\
         &state=outer&request={object}",
        client.id,
        urlencode(REDIRECT)
    )
}

/// Where the browser is sent for `url` without signing in again.
async fn redirected(browser: &Browser, url: &str) -> String {
    match browser.visit(url).await {
        Visit::Left(back) => back,
        Visit::Page { url, html, .. } => panic!("a redirect expected at {url}: {html}"),
    }
}

/// A client with `key` inline (or at `jwks_uri`) that must sign its requests.
async fn signing_client(app: &TestApp, key: &ClientKey, jwks_uri: Option<String>) -> TestClient {
    let jwks = key.jwks();
    app.client_with(|s| {
        s.grant_types = vec![
            tollgate_core::model::GrantType::AuthorizationCode,
            tollgate_core::model::GrantType::RefreshToken,
        ];
        s.redirect_uris = vec![REDIRECT.into()];
        s.scopes = vec!["read".into()];
        match jwks_uri {
            Some(uri) => s.jwks_uri = Some(uri),
            None => s.jwks = Some(jwks),
        }
        s.oidc.require_signed_request_object = true;
    })
    .await
}

/// A loopback server answering every request with `body` as JSON.
fn serve_json(body: String) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    format!("http://127.0.0.1:{port}/jwks")
}

async fn request_objects_by_value(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("jar@example.com").await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["request_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    assert_eq!(doc["require_signed_request_object"], false);
    let algs = doc["request_object_signing_alg_values_supported"]
        .as_array()
        .expect("algs");
    assert!(algs.contains(&json!("ES256")) && !algs.contains(&json!("none")));

    let key = ClientKey::es256();
    let client = signing_client(&app, &key, None).await;
    let browser = Browser::new(&app);

    // A plain request from a client that must sign is refused.
    let plain = format!(
        "/oauth/authorize?client_id={}&response_type=code&redirect_uri={}&scope=openid&state=s",
        client.id,
        urlencode(REDIRECT)
    );
    let back = browser.authorize(&plain, "jar@example.com").await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );

    // The signed object's parameters win over the outer ones: its state and nonce come back.
    let claims = object_claims(&app, &client);
    let back = browser
        .authorize(
            &by_value(&client, &signed(&key, &claims)),
            "jar@example.com",
        )
        .await;
    assert_eq!(query_param(&back, "state").as_deref(), Some("from-object"));
    app.assert_iss(&back);
    let code = query_param(&back, "code").expect("code");
    let tokens = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    let id_token = jwt_claims(tokens["id_token"].as_str().expect("id_token"));
    assert_eq!(id_token["nonce"], "object-nonce");

    // Every bad object is invalid_request_object, sent to the outer (registered) redirect URI.
    let other = ClientKey::es256();
    let mut wrong_client = claims.clone();
    wrong_client["client_id"] = json!("OQ00000000000000000000000000000000");
    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://other.example");
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().expect("object").remove("exp");
    for (what, object) in [
        ("alg none", unsigned(&claims)),
        ("another key", signed(&other, &claims)),
        ("another client_id", signed(&key, &wrong_client)),
        ("another aud", signed(&key, &wrong_aud)),
        ("no exp", signed(&key, &no_exp)),
        ("not a JWT", "garbage".to_owned()),
    ] {
        let back = redirected(&browser, &by_value(&client, &object)).await;
        assert!(back.starts_with(REDIRECT), "{what}: {back}");
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("invalid_request_object"),
            "{what}"
        );
        assert_eq!(
            query_param(&back, "state").as_deref(),
            Some("outer"),
            "{what}"
        );
        app.assert_iss(&back);
    }

    // exp is checked on the server's clock.
    let object = signed(&key, &claims);
    app.advance(301);
    let back = redirected(&browser, &by_value(&client, &object)).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request_object")
    );

    // A request_uri that is not PAR's is not fetched.
    let url = format!(
        "/oauth/authorize?client_id={}&redirect_uri={}&request_uri={}",
        client.id,
        urlencode(REDIRECT),
        urlencode("https://client.example/request.jwt")
    );
    let back = redirected(&browser, &url).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("request_uri_not_supported")
    );
}

async fn request_objects_through_par_and_jwks_uri(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("jar@example.com").await;
    let key = ClientKey::es256();
    let uri = serve_json(key.jwks());
    let client = signing_client(&app, &key, Some(uri)).await;
    let push = |request: Option<String>| {
        let mut form = vec![
            ("client_id", client.id.to_string()),
            ("client_secret", client.secret.clone()),
        ];
        match request {
            Some(r) => form.push(("request", r)),
            None => form.extend([
                ("response_type", "code".to_owned()),
                ("redirect_uri", REDIRECT.to_owned()),
                ("scope", "openid".to_owned()),
            ]),
        }
        let req = app.http.post(app.url("/oauth/par")).form(&form);
        async move { req.send().await.expect("par") }
    };

    // Pushed unsigned: refused; pushed with alg none: invalid_request_object.
    let (status, error, _) = error_of(push(None).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    let claims = object_claims(&app, &client);
    let (status, error, _) = error_of(push(Some(unsigned(&claims))).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request_object"));

    // Signed with the key at the client's jwks_uri: pushed, then used by request_uri.
    let resp = push(Some(signed(&key, &claims))).await;
    let pushed: Value = json(resp, 201).await;
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let browser = Browser::new(&app);
    let url = format!(
        "/oauth/authorize?client_id={}&request_uri={}",
        client.id,
        urlencode(request_uri)
    );
    let back = browser.authorize(&url, "jar@example.com").await;
    assert_eq!(query_param(&back, "state").as_deref(), Some("from-object"));
    let code = query_param(&back, "code").expect("code");
    let tokens = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().expect("id_token"))["nonce"],
        "object-nonce"
    );

    // By value with the jwks_uri key works on the front channel too.
    let by = by_value(&client, &signed(&key, &object_claims(&app, &client)));
    let back = browser.authorize(&by, "jar@example.com").await;
    assert!(query_param(&back, "code").is_some(), "{back}");
}

on_both_backends!(
    request_objects_by_value,
    request_objects_through_par_and_jwks_uri,
);
