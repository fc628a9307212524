//! OpenID Provider conformance: what certified relying parties check beyond the happy path
//! (PKCE defaults, the RFC 6750 challenge, discovery's claims).

use serde_json::Value;
use tollgate_core::authorize::s256;

use crate::helpers::{
    Backend, VERIFIER, authorize_url, code_flow, get_code, json, jwt_claims, query_param, redeem,
};
use tollgate_testkit::on_both_backends;

/// RFC 7636 section 4.3: a challenge without a method is `plain`, which is refused, never
/// taken for S256 — on the front channel and through PAR.
async fn code_challenge_without_method_is_refused(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "pkce@example.com").await else {
        return;
    };
    let challenge = s256(VERIFIER);
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[
            ("scope", "read"),
            ("state", "s1"),
            ("code_challenge", &challenge),
        ],
    );
    let back = browser.authorize(&url, "pkce@example.com").await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("s1"));
    app.assert_iss(&back);
    assert!(query_param(&back, "code").is_none());

    let resp = app
        .post_basic(
            "/oauth/par",
            (client.id.as_str(), &client.secret),
            &[
                ("response_type", "code"),
                ("redirect_uri", crate::helpers::REDIRECT),
                ("scope", "read"),
                ("code_challenge", &challenge),
            ],
        )
        .await;
    assert_eq!(json(resp, 400).await["error"], "invalid_request");
}

/// RFC 6750 section 3.1: no authentication at all gets a bare challenge; a bad token still
/// gets `invalid_token`.
async fn userinfo_challenge_without_authentication(backend: Backend) {
    let Some((app, _, _)) = code_flow(backend, "ui@example.com").await else {
        return;
    };
    for method in ["GET", "POST"] {
        let req = match method {
            "GET" => app.http.get(app.url("/oauth/userinfo")),
            _ => app.http.post(app.url("/oauth/userinfo")),
        };
        let resp = req.send().await.expect("userinfo");
        assert_eq!(resp.status(), 401);
        let challenge = resp.headers()["www-authenticate"].to_str().expect("header");
        assert_eq!(challenge, "Bearer realm=\"tollgate\"", "{method}");
    }
    let resp = app.get_with_bearer("/oauth/userinfo", "not-a-token").await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().expect("header");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

/// Discovery's `claims_supported` names exactly what id tokens and userinfo carry.
async fn claims_supported_lists_what_is_served(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "claims@example.com").await else {
        return;
    };
    let doc = app.get_json("/.well-known/openid-configuration").await;
    let supported: Vec<String> = doc["claims_supported"]
        .as_array()
        .expect("claims_supported")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    for access_token_only in ["client_id", "scope", "jti", "nbf", "account_sid"] {
        assert!(
            !supported.iter().any(|c| c == access_token_only),
            "{access_token_only} is an access-token claim"
        );
    }
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "openid profile email",
        "claims@example.com",
    )
    .await;
    let tokens = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    let id_token = jwt_claims(tokens["id_token"].as_str().expect("id_token"));
    let access = tokens["access_token"].as_str().expect("access_token");
    let info = json(app.get_with_bearer("/oauth/userinfo", access).await, 200).await;
    let mut served: Vec<String> = Vec::new();
    for doc in [&id_token, &info] {
        served.extend(doc.as_object().expect("claims").keys().cloned());
    }
    for claim in &served {
        assert!(
            supported.contains(claim),
            "{claim} is served but not listed"
        );
    }
    for claim in &supported {
        assert!(served.contains(claim), "{claim} is listed but never served");
    }
    assert!(id_token.get("auth_time").is_some_and(Value::is_i64));
}

/// The README's table of optional features says exactly what discovery serves.
async fn readme_matches_discovery(backend: Backend) {
    let Some((app, _, _)) = code_flow(backend, "readme@example.com").await else {
        return;
    };
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let table = readme
        .split("| discovery field | value | |")
        .nth(1)
        .expect("the discovery table")
        .split("\n\n")
        .next()
        .expect("table rows");
    let mut rows: Vec<(String, bool, Value)> = Vec::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let oidc_only = cells[0].contains('✱');
        let field = cells[0]
            .trim_start_matches("| ")
            .split('`')
            .nth(1)
            .expect("field");
        let value = cells[1].trim_matches('`');
        let value: Value = serde_json::from_str(value).unwrap_or_else(|e| panic!("{field}: {e}"));
        rows.push((field.to_owned(), oidc_only, value));
    }
    let oidc = app.get_json("/.well-known/openid-configuration").await;
    let oauth = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    for (field, oidc_only, value) in &rows {
        assert_eq!(
            &oidc[field.as_str()],
            value,
            "{field} in openid-configuration"
        );
        if *oidc_only {
            assert!(
                oauth.get(field.as_str()).is_none(),
                "{field} is OpenID-only"
            );
        } else {
            assert_eq!(
                &oauth[field.as_str()],
                value,
                "{field} in RFC 8414 metadata"
            );
        }
    }
    // Every field that is not an endpoint URL is in the table.
    for (field, value) in oidc.as_object().expect("document") {
        let url = value.as_str().is_some_and(|v| v.starts_with("http"));
        assert!(
            url || rows.iter().any(|(f, ..)| f == field),
            "{field} is served but not in the README"
        );
    }
}

on_both_backends!(
    code_challenge_without_method_is_refused,
    userinfo_challenge_without_authentication,
    claims_supported_lists_what_is_served,
    readme_matches_discovery,
);
