//! RS256 id tokens (OIDC Discovery section 3, Core 15.1): a client registered through the admin
//! API with `id_token_signed_response_alg: RS256` gets id tokens the `openidconnect` crate
//! verifies against the JWKS with RS256 only, while its access tokens stay ES256; RSA keys
//! rotate with the EC keys and stay published while their tokens live.

use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{Value, json};

use crate::helpers::oidc::{code_url, exchange, relying_party};
use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, TestClient, jwt_claims, query_param, spawn_app,
};
use tollgate_testkit::on_both_backends;

/// `POST /v1/Account/OAuthApps` (or `…/{sid}` to update) with the account's credentials.
async fn admin_api(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .as_account(reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("admin API");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

/// One code flow with the `openidconnect` crate, verifying the id token with `alg` only;
/// answers the id token and the access token.
async fn sign_in(
    app: &TestApp,
    client: &TestClient,
    browser: &Browser,
    alg: CoreJwsSigningAlgorithm,
) -> (String, String) {
    let rp = relying_party(app, client).await;
    let (url, _, nonce, verifier) = code_url(&rp, &["email"]);
    let back = browser.authorize(&url, "rsa@example.com").await;
    let code = query_param(&back, "code").expect("code");
    let token = exchange(&rp, code, verifier).await;
    let id_token = token.id_token().expect("id_token");
    let verifier = rp.id_token_verifier().set_allowed_algs([alg]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("the id token verifies against the JWKS");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("rsa@example.com"));
    (id_token.to_string(), token.access_token().secret().clone())
}

fn header(jwt: &str) -> jsonwebtoken::Header {
    jsonwebtoken::decode_header(jwt).expect("header")
}

async fn rs256_id_tokens_for_a_client_that_asks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.user("rsa@example.com").await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    // EdDSA keys are not kept unless configured: refused, with the field named.
    let (status, body) = admin_api(
        &app,
        "/v1/Account/OAuthApps",
        json!({"friendly_name": "rp", "id_token_signed_response_alg": "EdDSA"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("id_token_signed_response_alg")
    );

    let (status, created) = admin_api(
        &app,
        "/v1/Account/OAuthApps",
        json!({
            "friendly_name": "rsa rp",
            "grant_types": ["authorization_code"],
            "redirect_uris": [REDIRECT],
            "id_token_signed_response_alg": "RS256",
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id_token_signed_response_alg"], "RS256");
    app.server.engine.sync().await.expect("sync");
    let client = TestClient {
        id: tollgate_core::ids::ClientId::parse(created["sid"].as_str().expect("sid"))
            .expect("client id"),
        secret: created["secret"].as_str().expect("secret").to_owned(),
    };
    let browser = Browser::new(&app);
    let sign_in_with = |alg| sign_in(&app, &client, &browser, alg);
    let (id_token, access) = sign_in_with(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
    assert_eq!(header(&id_token).alg, jsonwebtoken::Algorithm::RS256);
    // The access token stays ES256.
    assert_eq!(header(&access).alg, jsonwebtoken::Algorithm::ES256);
    app.verify_access_token(&access).await;
    let first_rsa_kid = header(&id_token).kid.expect("kid");

    // Keys rotate together: a new RSA key signs, the old one stays published.
    app.server
        .engine
        .rotate_signing_key(0)
        .await
        .expect("rotate");
    let (after, access_after) = sign_in_with(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
    let new_rsa_kid = header(&after).kid.expect("kid");
    assert_ne!(new_rsa_kid, first_rsa_kid);
    assert_ne!(header(&access_after).kid, header(&access).kid);
    let jwks = app.get_json("/oauth/jwks").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["kty"] == "RSA")
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(kids.contains(&first_rsa_kid.as_str()) && kids.contains(&new_rsa_kid.as_str()));
    let rsa = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == new_rsa_kid.as_str())
        .expect("new RSA key published");
    let n = rsa["n"].as_str().expect("n");
    assert!(n.len() >= 342, "a 2048-bit modulus at least");

    // Back to the default: ES256 id tokens.
    let (status, updated) = admin_api(
        &app,
        &format!("/v1/Account/OAuthApps/{}", client.id),
        json!({"id_token_signed_response_alg": "ES256"}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    app.server.engine.sync().await.expect("sync");
    let (es, _) = sign_in_with(CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
    assert_eq!(header(&es).alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(jwt_claims(&es)["aud"], client.id.as_str());
}

on_both_backends!(rs256_id_tokens_for_a_client_that_asks);
