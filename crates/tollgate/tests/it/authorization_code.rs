//! The authorization code flow: PKCE, code redemption (single use, bound to its client and
//! redirect URI, short-lived) and redirect URI checks.

use reqwest::header::LOCATION;
use tollgate_core::authorize::s256;

use crate::helpers::{
    Backend, REDIRECT, TestClient, VERIFIER, authorize_url, code_flow, code_flow_with, get_code,
    json, query_param, read_code, redeem, redeem_to, refresh,
};
use tollgate_testkit::on_both_backends;

async fn pkce_is_enforced(backend: Backend) {
    let Some((app, confidential, browser)) = code_flow(backend, "pk@example.com").await else {
        return;
    };
    let public = app.code_client(true).await;

    for (verifier, why) in [
        (None, "missing"),
        (
            Some("wrong-verifier-wrong-verifier-wrong-verifier-00"),
            "wrong",
        ),
        (Some("short"), "malformed"),
    ] {
        let code = read_code(&browser, &confidential, "pk@example.com").await;
        let err = json(redeem(&app, &confidential, &code, verifier).await, 400).await;
        assert_eq!(err["error"], "invalid_grant", "{why} verifier");
    }
    // A verifier without a challenge is refused too.
    let loc = browser
        .authorize(
            &authorize_url("/oauth/authorize", &confidential, &[("scope", "read")]),
            "pk@example.com",
        )
        .await;
    let code = query_param(&loc, "code").expect("code");
    assert_eq!(
        json(
            redeem(&app, &confidential, &code, Some(VERIFIER)).await,
            400
        )
        .await["error"],
        "invalid_grant"
    );

    // plain is refused, and public clients must use PKCE: both are redirected errors.
    for (client, extra) in [
        (
            &confidential,
            vec![
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
                ("state", "s1"),
            ],
        ),
        (&public, vec![("state", "s1")]),
    ] {
        let loc = browser
            .authorize(
                &authorize_url("/oauth/authorize", client, &extra),
                "pk@example.com",
            )
            .await;
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some("invalid_request"),
            "{loc}"
        );
        assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
    }

    // A public client with PKCE redeems with its id alone.
    let code = read_code(&browser, &public, "pk@example.com").await;
    let body = json(redeem(&app, &public, &code, Some(VERIFIER)).await, 200).await;
    assert!(body["refresh_token"].as_str().is_some());
}

async fn codes_are_single_use_and_bound(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "cb@example.com").await else {
        return;
    };
    let other = app.code_client(false).await;

    // Replay: refused, and what the first redemption issued is revoked.
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "openid read",
        "cb@example.com",
    )
    .await;
    let first = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    let access = first["access_token"].as_str().expect("access");
    assert_eq!(
        json(app.get_with_bearer("/oauth/userinfo", access).await, 200).await["sub"]
            .as_str()
            .map(|s| &s[..2]),
        Some("US")
    );
    assert_eq!(
        json(redeem(&app, &client, &code, Some(VERIFIER)).await, 400).await["error"],
        "invalid_grant"
    );
    let rt = first["refresh_token"].as_str().expect("refresh");
    assert_eq!(
        json(refresh(&app, &client, rt).await, 400).await["error"],
        "invalid_grant",
        "family revoked"
    );
    let resp = app.get_with_bearer("/oauth/userinfo", access).await;
    assert_eq!(resp.status(), 401, "access token revoked");
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .is_ok_and(|h| h.contains("invalid_token"))
    );

    // A code belongs to its client.
    let code = read_code(&browser, &client, "cb@example.com").await;
    assert_eq!(
        json(redeem(&app, &other, &code, Some(VERIFIER)).await, 400).await["error"],
        "invalid_grant"
    );

    // redirect_uri must repeat the one in the request.
    let code = read_code(&browser, &client, "cb@example.com").await;
    let elsewhere = "https://app.example/callback";
    let resp = redeem_to(&app, &client, &code, elsewhere, Some(VERIFIER)).await;
    assert_eq!(json(resp, 400).await["error"], "invalid_grant");

    // Unknown code, and missing code, in the JSON dialect too.
    assert_eq!(
        json(
            redeem(&app, &client, "not-a-code", Some(VERIFIER)).await,
            400
        )
        .await["error"],
        "invalid_grant"
    );
    let resp = app.http.post(app.url("/oauth/token")).json(&serde_json::json!({"grant_type": "authorization_code", "client_id": client.id, "client_secret": client.secret, "code": "nope"})).send().await.expect("json");
    assert_eq!(json(resp, 422).await["error"], "invalid_grant");
}

async fn codes_expire(backend: Backend) {
    let Some((app, client, browser)) =
        code_flow_with(backend, "ex@example.com", |c| c.engine.code_ttl = 1).await
    else {
        return;
    };
    let code = read_code(&browser, &client, "ex@example.com").await;
    app.advance(2);
    let err = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    assert!(
        err["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("expired"))
    );
}

async fn redirect_uri_is_never_an_open_redirect(backend: Backend) {
    let Some((_app, client, browser)) = code_flow(backend, "or@example.com").await else {
        return;
    };
    let unknown = TestClient {
        id: tollgate_core::ids::ClientId::parse("OQ00000000000000000000000000000000").expect("id"),
        secret: String::new(),
    };
    for url in [
        authorize_url("/oauth/authorize", &unknown, &[]),
        format!(
            "/oauth/authorize?response_type=code&client_id={}&redirect_uri=https://evil.example/cb",
            client.id
        ),
        format!(
            "/v1/authorize?ResponseType=code&ClientId={}&RedirectUri=http://127.0.0.1:9/other",
            client.id
        ),
        format!(
            "/oauth/authorize?response_type=code&client_id={}",
            client.id
        ),
        format!(
            "/oauth/authorize?response_type=code&client_id={0}&client_id={0}&redirect_uri={REDIRECT}",
            client.id
        ),
    ] {
        let resp = browser.get(&url).await;
        assert_eq!(resp.status(), 400, "{url}");
        assert!(
            resp.headers().get(LOCATION).is_none(),
            "no redirect for {url}"
        );
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/html"))
        );
    }
    // Once the redirect URI is trusted, errors go back to it with state.
    let resp = browser
        .get(&authorize_url(
            "/oauth/authorize",
            &client,
            &[("response_type", "token"), ("state", "x")],
        ))
        .await;
    assert_eq!(resp.status(), 400, "duplicate response_type is a page");
    let loc = browser
        .authorize(
            &format!(
                "/oauth/authorize?response_type=token&client_id={}&redirect_uri={REDIRECT}&state=x",
                client.id
            ),
            "or@example.com",
        )
        .await;
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(query_param(&loc, "state").as_deref(), Some("x"));
    let loc = browser
        .authorize(
            &authorize_url(
                "/oauth/authorize",
                &client,
                &[("scope", "admin"), ("state", "y")],
            ),
            "or@example.com",
        )
        .await;
    assert_eq!(query_param(&loc, "error").as_deref(), Some("invalid_scope"));

    // RFC 8252: a loopback redirect URI may use any port.
    let code_url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:53682/cb&code_challenge={}&code_challenge_method=S256",
        client.id,
        s256(VERIFIER)
    );
    let loc = browser.authorize(&code_url, "or@example.com").await;
    assert!(loc.starts_with("http://127.0.0.1:53682/cb?code="), "{loc}");
}

on_both_backends!(
    pkce_is_enforced,
    codes_are_single_use_and_bound,
    codes_expire,
    redirect_uri_is_never_an_open_redirect,
);
