//! The authorization code flow in the Twilio dialects: `/v2` (snake_case) and `/v1`
//! (PascalCase, 201, RFC 2822 dates) redeem, refresh and answer userinfo.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::helpers::{Backend, REDIRECT, VERIFIER, code_flow, get_code, json, jwt_claims, now};
use crate::on_both_backends;

async fn twilio_dialects_redeem_and_refresh(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "grace@example.com").await else {
        return;
    };

    // v2: snake_case, 200, nulls where nothing is issued.
    let code = get_code(
        &browser,
        "/v2/authorize",
        &client,
        "openid offline_access",
        "grace@example.com",
    )
    .await;
    let body = app
        .form_json(
            "/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            200,
        )
        .await;
    assert_eq!(body["token_type"], "Bearer");
    let id_token = body["id_token"].as_str().expect("id_token");
    let claims = jwt_claims(id_token);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["aud"], client.id.as_str());
    let rt = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let body = app
        .form_json(
            "/v2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
                ("refresh_token", &rt),
            ],
            200,
        )
        .await;
    let rt2 = body["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rt, rt2);

    // v1: PascalCase, 201, RFC 2822 dates; consent is remembered so no page this time.
    let code = get_code(
        &browser,
        "/v1/authorize",
        &client,
        "openid offline_access",
        "grace@example.com",
    )
    .await;
    let body = app
        .form_json(
            "/v1/token",
            &[
                ("GrantType", "authorization_code"),
                ("ClientSid", client.id.as_str()),
                ("ClientSecret", &client.secret),
                ("Code", &code),
                ("RedirectUri", REDIRECT),
                ("CodeVerifier", VERIFIER),
            ],
            201,
        )
        .await;
    let access = body["access_token"].as_str().expect("access").to_owned();
    let rt_expiry = OffsetDateTime::parse(
        body["refresh_token_expires_at"].as_str().expect("date"),
        &Rfc2822,
    )
    .expect("RFC 2822");
    assert!(rt_expiry.unix_timestamp() > now() + 29 * 24 * 3600);
    let rt = body["refresh_token"].as_str().expect("refresh").to_owned();
    let body = app
        .form_json(
            "/v1/token",
            &[
                ("GrantType", "refresh_token"),
                ("ClientSid", client.id.as_str()),
                ("ClientSecret", &client.secret),
                ("RefreshToken", &rt),
            ],
            201,
        )
        .await;
    assert!(body["access_token"].as_str().is_some());
    assert!(
        body["id_token"].as_str().is_some(),
        "openid refresh returns an id_token"
    );

    // /v1/userinfo speaks the v1 spec's field names.
    let info = json(app.get_with_bearer("/v1/userinfo", &access).await, 200).await;
    assert!(
        info["user_sid"]
            .as_str()
            .is_some_and(|s| s.starts_with("US"))
    );
    assert_eq!(info["url"], app.url("/v1/userinfo"));
    assert_eq!(info["email"], Value::Null, "no email scope, no email");
    let resp = app.get_with_bearer("/v1/userinfo", "garbage").await;
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["code"], 20003);
}

on_both_backends!(twilio_dialects_redeem_and_refresh,);
