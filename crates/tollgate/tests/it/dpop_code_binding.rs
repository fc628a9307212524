//! RFC 9449 section 10: `dpop_jkt` on the authorization request, or a DPoP proof on the pushed
//! authorization request (section 10.1), binds the code to that key: redeeming it with
//! another key, or without a proof, is `invalid_grant` and leaves the code usable by its key.

use serde_json::{Value, json};
use tollgate_core::authorize::s256;

use crate::helpers::{
    Backend, Browser, ClientKey, REDIRECT, TestApp, TestClient, VERIFIER, authorize_url, code_flow,
    error_of, json, query_param,
};
use tollgate_testkit::on_both_backends;

/// The code redemption form of `client`, with a proof of `key` when given.
async fn redeem_with(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    key: Option<&ClientKey>,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let token_url = app.url("/oauth/token");
    let proof = key.map(|k| k.proof(app, "POST", &token_url, json!({})));
    app.post_dpop("/oauth/token", proof.as_deref(), &form).await
}

/// Another key and no proof are refused without spending the code; the bound key redeems it.
async fn only_the_bound_key_redeems(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    key: &ClientKey,
) {
    let other = ClientKey::es256();
    for wrong in [Some(&other), None] {
        let (status, error, _) = error_of(redeem_with(app, client, code, wrong).await).await;
        assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    }
    let tokens: Value = json(redeem_with(app, client, code, Some(key)).await, 200).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let at = tokens["access_token"].as_str().expect("access_token");
    assert_eq!(app.claims(at)["cnf"]["jkt"], key.jkt());
}

async fn dpop_jkt_binds_the_code(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "jkt@example.com").await else {
        return;
    };
    let key = ClientKey::es256();
    let jkt = key.jkt();
    let challenge = s256(VERIFIER);
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[
            ("scope", "read"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("dpop_jkt", &jkt),
        ],
    );
    let back = browser.authorize(&url, "jkt@example.com").await;
    let code = query_param(&back, "code").expect("code");
    only_the_bound_key_redeems(&app, &client, &code, &key).await;

    // A malformed thumbprint is refused at the authorization endpoint.
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[("scope", "read"), ("dpop_jkt", "not-a-thumbprint")],
    );
    let back = browser.authorize(&url, "jkt@example.com").await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

/// Pushes `extra` with a proof of `key` (when given); answers the PAR response.
async fn push(
    app: &TestApp,
    client: &TestClient,
    key: Option<&ClientKey>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let challenge = s256(VERIFIER);
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    let par_url = app.url("/oauth/par");
    let proof = key.map(|k| k.proof(app, "POST", &par_url, json!({})));
    app.post_dpop("/oauth/par", proof.as_deref(), &form).await
}

async fn a_proof_on_par_binds_the_code(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "parkey@example.com").await else {
        return;
    };
    let key = ClientKey::es256();
    let pushed = json(push(&app, &client, Some(&key), &[]).await, 201).await;
    let code = code_via(&browser, &client, &pushed).await;
    only_the_bound_key_redeems(&app, &client, &code, &key).await;

    // dpop_jkt naming another key than the proof's is refused at the push.
    let other = ClientKey::es256().jkt();
    let resp = push(&app, &client, Some(&key), &[("dpop_jkt", &other)]).await;
    let (status, error, _) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));

    // dpop_jkt alone in the push binds as well; the same key's proof with it is accepted.
    let jkt = key.jkt();
    let pushed = json(push(&app, &client, None, &[("dpop_jkt", &jkt)]).await, 201).await;
    let code = code_via(&browser, &client, &pushed).await;
    only_the_bound_key_redeems(&app, &client, &code, &key).await;

    // A bad proof on the push is refused, not ignored.
    let resp = app
        .post_dpop(
            "/oauth/par",
            Some("not.a.proof"),
            &[
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("client_secret", client.secret.as_str()),
            ],
        )
        .await;
    let (status, error, _) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (400, "invalid_dpop_proof"));
}

/// Follows a pushed request in the browser; returns the code.
async fn code_via(browser: &Browser, client: &TestClient, pushed: &Value) -> String {
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let url = format!(
        "/oauth/authorize?client_id={}&request_uri={}",
        client.id,
        form_urlencoded::byte_serialize(request_uri.as_bytes()).collect::<String>()
    );
    let back = browser.authorize(&url, "parkey@example.com").await;
    query_param(&back, "code").unwrap_or_else(|| panic!("a code: {back}"))
}

on_both_backends!(dpop_jkt_binds_the_code, a_proof_on_par_binds_the_code);
