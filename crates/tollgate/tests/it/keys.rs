//! Signing-key rotation and the selectable algorithms.

use serde_json::Value;
use tollgate_core::keys::SigningAlgorithm;

use crate::helpers::binary::{succeeded_json, tollgate_command};
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use tollgate_testkit::on_both_backends;

async fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

async fn token(app: &TestApp) -> String {
    app.access_token(&app.client().await).await
}

/// `tollgate key rotate`, configured like the server (tokens live `ttl` seconds).
async fn rotate(app: &TestApp, publish_ahead: &str, ttl: &str) -> Value {
    let out = tollgate_command()
        .env("TOLLGATE_ACCESS_TOKEN_TTL", ttl)
        .args(["--database-url", &app.database_url, "--data-dir"])
        .arg(app.dir.path())
        .args(["--json", "key", "rotate", "--publish-ahead", publish_ahead])
        .output()
        .await
        .expect("tollgate key rotate");
    succeeded_json(&out)
}

fn published(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn rotation_publishes_first_and_keeps_old_keys_until_their_tokens_expire(backend: Backend) {
    // Tokens live 1 s here, so an old key's publication ends soon after it stops signing.
    let Some(app) = spawn_app_with(backend, |c| c.engine.access_token_ttl = 1).await else {
        return;
    };
    let before = token(&app).await;
    let old_kid = kid_of(&before).await;

    // Published ahead: in the JWKS at once, but not signing yet.
    let ahead = rotate(&app, "3600", "1").await;
    let new_kid = ahead["kid"].as_str().expect("kid").to_owned();
    app.server.engine.sync().await.expect("sync");
    let jwks = app.get_json("/oauth/jwks").await;
    assert!(published(&jwks).contains(&new_kid) && published(&jwks).contains(&old_kid));
    assert_eq!(
        kid_of(&token(&app).await).await,
        old_kid,
        "the old key still signs"
    );
    app.verify_access_token(&before).await;

    // Rotated now: new tokens carry the new kid; tokens signed before still verify.
    // Configured for 5 s tokens, the CLI keeps the old key published 5 s after it stops signing.
    let now_key = rotate(&app, "0", "5").await;
    let newest = now_key["kid"].as_str().expect("kid").to_owned();
    app.server.engine.sync().await.expect("sync");
    let after = token(&app).await;
    assert_eq!(kid_of(&after).await, newest);
    app.verify_access_token(&after).await;
    let certs = app.get_json("/v1/certs").await;
    assert!(
        published(&certs).contains(&old_kid),
        "old key still published while its tokens live"
    );

    // Once its tokens have expired, the old key is no longer published.
    app.advance(6);
    let jwks = app.get_json("/oauth/jwks").await;
    assert!(!published(&jwks).contains(&old_kid), "{jwks}");
    assert!(published(&jwks).contains(&newest));
    let listed = app.server.admin().keys().await.expect("keys");
    assert!(listed.iter().any(|k| k.kid == newest));
}

async fn eddsa_and_rs256_are_selectable(backend: Backend) {
    for (alg, kty) in [("EdDSA", "OKP"), ("RS256", "RSA")] {
        let Some(app) = spawn_app_with(backend, |c| {
            c.engine.signing_algorithm = alg.parse().expect("alg")
        })
        .await
        else {
            return;
        };
        let t = token(&app).await;
        assert_eq!(
            format!("{:?}", jsonwebtoken::decode_header(&t).expect("header").alg),
            alg
        );
        let claims = app.verify_access_token(&t).await;
        assert_eq!(claims["iss"], app.base.as_str());
        let jwks = app.get_json("/oauth/jwks").await;
        let keys = jwks["keys"].as_array().expect("keys");
        assert!(keys.iter().any(|k| k["kty"] == kty && k["alg"] == alg));
        // ES256 and RS256 id-token keys are published beside the access-token key.
        for companion in ["ES256", "RS256"] {
            assert!(keys.iter().any(|k| k["alg"] == companion), "{jwks}");
        }
        let oidc = app.get_json("/.well-known/openid-configuration").await;
        let algs = oidc["id_token_signing_alg_values_supported"]
            .as_array()
            .expect("algs");
        assert_eq!(algs[0], alg, "the server's algorithm first");
        assert!(algs.contains(&serde_json::json!("RS256")));
    }
}

async fn changing_the_configured_algorithm_switches_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let es = token(&app).await;
    let restarted = app
        .second_node(|c| {
            c.engine.signing_algorithm = SigningAlgorithm::EdDSA;
        })
        .await;
    let ed = token(&restarted).await;
    assert_eq!(
        format!(
            "{:?}",
            jsonwebtoken::decode_header(&ed).expect("header").alg
        ),
        "EdDSA"
    );
    // Both nodes publish both keys: old ES256 tokens and new EdDSA ones verify.
    app.server.engine.sync().await.expect("sync");
    app.verify_access_token(&es).await;
    app.verify_access_token(&ed).await;
}

on_both_backends!(
    rotation_publishes_first_and_keeps_old_keys_until_their_tokens_expire,
    eddsa_and_rs256_are_selectable,
    changing_the_configured_algorithm_switches_keys,
);
