//! The authorization code flow in the Twilio dialects: `/v2` (snake_case) and `/v1`
//! (PascalCase, 201, RFC 2822 dates) redeem, refresh and answer userinfo.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::helpers::{
    Backend, REDIRECT, TestApp, TestClient, VERIFIER, code_flow, get_code, json, jwt_claims, now,
};
use tollgate_testkit::on_both_backends;

/// A dialect's token endpoint: its path, its parameter names and its success status.
struct Dialect {
    path: &'static str,
    /// grant_type, client id, client secret, code, redirect URI, code verifier, refresh token.
    names: [&'static str; 7],
    status: u16,
}

const V2: Dialect = Dialect {
    path: "/v2/token",
    names: [
        "grant_type",
        "client_id",
        "client_secret",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
    ],
    status: 200,
};

const V1: Dialect = Dialect {
    path: "/v1/token",
    names: [
        "GrantType",
        "ClientSid",
        "ClientSecret",
        "Code",
        "RedirectUri",
        "CodeVerifier",
        "RefreshToken",
    ],
    status: 201,
};

impl Dialect {
    /// A token request for `grant_type` by the confidential `client`, with `more`.
    async fn request(
        &self,
        app: &TestApp,
        client: &TestClient,
        grant_type: &str,
        more: &[(&str, &str)],
    ) -> Value {
        let [grant, id, secret, ..] = self.names;
        let mut form = vec![
            (grant, grant_type),
            (id, client.id.as_str()),
            (secret, client.secret.as_str()),
        ];
        form.extend_from_slice(more);
        app.form_json(self.path, &form, self.status).await
    }

    /// Redeems `code` (with the shared PKCE verifier).
    async fn redeem(&self, app: &TestApp, client: &TestClient, code: &str) -> Value {
        let [.., code_name, redirect, verifier, _] = self.names;
        let more = [
            (code_name, code),
            (redirect, REDIRECT),
            (verifier, VERIFIER),
        ];
        self.request(app, client, "authorization_code", &more).await
    }

    /// Refreshes with `rt`.
    async fn refresh(&self, app: &TestApp, client: &TestClient, rt: &str) -> Value {
        let [.., refresh_token] = self.names;
        self.request(app, client, "refresh_token", &[(refresh_token, rt)])
            .await
    }
}

async fn twilio_dialects_redeem_and_refresh(backend: Backend) {
    let Some((app, client, browser)) = code_flow(backend, "grace@example.com").await else {
        return;
    };

    let offline_code = |path| {
        get_code(
            &browser,
            path,
            &client,
            "openid offline_access",
            "grace@example.com",
        )
    };

    // v2: snake_case, 200, nulls where nothing is issued.
    let code = offline_code("/v2/authorize").await;
    let body = V2.redeem(&app, &client, &code).await;
    assert_eq!(body["token_type"], "Bearer");
    let id_token = body["id_token"].as_str().expect("id_token");
    let claims = jwt_claims(id_token);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["aud"], client.id.as_str());
    let rt = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let body = V2.refresh(&app, &client, &rt).await;
    let rt2 = body["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rt, rt2);

    // v1: PascalCase, 201, RFC 2822 dates; consent is remembered so no page this time.
    let code = offline_code("/v1/authorize").await;
    let body = V1.redeem(&app, &client, &code).await;
    let access = body["access_token"].as_str().expect("access").to_owned();
    let rt_expiry = OffsetDateTime::parse(
        body["refresh_token_expires_at"].as_str().expect("date"),
        &Rfc2822,
    )
    .expect("RFC 2822");
    assert!(rt_expiry.unix_timestamp() > now() + 29 * 24 * 3600);
    let rt = body["refresh_token"].as_str().expect("refresh").to_owned();
    let body = V1.refresh(&app, &client, &rt).await;
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
