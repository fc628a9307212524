//! The client_credentials grant on every dialect, with real clients.

use base64::Engine as _;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::helpers::{Backend, TestApp, json, now, spawn_app};
use tollgate_testkit::on_both_backends;

fn oauth2_client(
    app: &TestApp,
    id: &str,
    secret: &str,
    auth: AuthType,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(app.url("/oauth/token")).expect("token url"))
        .set_auth_type(auth)
}

/// Every claim RFC 9068 and DESIGN section 5 require, for a client_credentials token.
fn check_claims(
    app: &TestApp,
    claims: &Value,
    client_id: &str,
    scope: &str,
    aud: Value,
    account: &str,
) {
    let t = now();
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["aud"], aud);
    assert_eq!(claims["scope"], scope);
    assert_eq!(claims["account_sid"], account);
    let iat = claims["iat"].as_i64().expect("iat");
    assert!((t - 5..=t + 1).contains(&iat), "iat {iat} is now");
    assert_eq!(claims["exp"].as_i64(), Some(iat + 3600));
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
}

async fn oauth2_crate_basic_and_post(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let http = oauth2::reqwest::Client::new();

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let token = oauth2_client(&app, c.id.as_str(), &c.secret, auth)
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await
            .expect("token");
        assert_eq!(token.token_type().as_ref(), "bearer");
        assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(3600));
        assert_eq!(token.scopes().map(|s| s.len()), Some(1));
        assert!(token.refresh_token().is_none());
        let claims = app.verify_access_token(token.access_token().secret()).await;
        check_claims(
            &app,
            &claims,
            c.id.as_str(),
            "read",
            json!(app.base),
            app.account.sid.as_str(),
        );
    }

    let refusals = [
        (
            "wrong secret",
            "wrong",
            None,
            BasicErrorResponseType::InvalidClient,
        ),
        (
            "unregistered scope",
            c.secret.as_str(),
            Some("admin"),
            BasicErrorResponseType::InvalidScope,
        ),
    ];
    for (what, secret, scope, expected) in refusals {
        let client = oauth2_client(&app, c.id.as_str(), secret, AuthType::BasicAuth);
        let mut request = client.exchange_client_credentials();
        if let Some(scope) = scope {
            request = request.add_scope(Scope::new(scope.into()));
        }
        match request.request_async(&http).await.expect_err(what) {
            RequestTokenError::ServerResponse(r) => assert_eq!(*r.error(), expected, "{what}"),
            other => panic!("expected {expected:?} for {what}, got {other:?}"),
        }
    }
}

async fn json_body_on_oauth_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client_with(|s| s.access_token_ttl = Some(90_000)).await;
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": c.id, "client_secret": c.secret}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 90_000);
    assert_eq!(body["scope"], "read write");
    let created = body["created_at"].as_i64().expect("created_at");
    assert!((now() - 5..=now() + 1).contains(&created));
    assert!(body.get("refresh_token").is_none());
    let claims = app.verify_token_of(&body).await;
    assert_eq!(claims["exp"].as_i64(), Some(created + 90_000));
    assert_eq!(claims["scope"], "read write");
}

async fn v2_token_with_audience_and_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app
        .client_with(|s| {
            s.audiences = vec![
                "https://api.example.com".into(),
                "https://other.example".into(),
            ]
        })
        .await;
    let sibling = app.sibling_account().await;

    // Twilio SDKs send an empty Authorization header or their account's Basic credentials.
    let account_basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.account.sid, app.auth_token));
    for authz in ["".to_owned(), format!("Basic {account_basic}")] {
        let resp = app
            .http
            .post(app.url(&format!("/v2/token?account_sid={sibling}")))
            .header("authorization", authz)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", c.id.as_str()),
                ("client_secret", &c.secret),
                ("audience", "https://api.example.com"),
                ("scope", "write"),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["refresh_token"], Value::Null);
        assert_eq!(body["id_token"], Value::Null);
        assert!(
            body.as_object()
                .is_some_and(|o| o.contains_key("refresh_token") && o.contains_key("id_token"))
        );
        let claims = app.verify_token_of(&body).await;
        check_claims(
            &app,
            &claims,
            c.id.as_str(),
            "write",
            json!("https://api.example.com"),
            sibling.as_str(),
        );
    }

    // account_sid in the body; default audience is every registered one.
    let resp = app
        .post_form(
            "/v2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", c.id.as_str()),
                ("client_secret", &c.secret),
                ("account_sid", app.account.sid.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let claims = app.verify_token_of(&body).await;
    assert_eq!(
        claims["aud"],
        json!(["https://api.example.com", "https://other.example"])
    );
    assert_eq!(claims["account_sid"], app.account.sid.as_str());
}

async fn v2_refuses_accounts_of_other_organizations(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let (stranger, _) = app.stranger_account().await;
    let resp = app
        .client_credentials_at(
            &format!("/v2/token?account_sid={}", stranger.sid),
            c.id.as_str(),
            &c.secret,
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], 20001);
    assert_eq!(body["status"], 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid_target:") && m.contains("organization"))
    );
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20001"
    );
}

async fn v1_token_is_201_with_rfc2822_dates(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let form = [
        ("GrantType", "client_credentials"),
        ("ClientSid", c.id.as_str()),
        ("ClientSecret", c.secret.as_str()),
    ];

    let resp = app.post_form("/v1/token", &form).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["refresh_token"], Value::Null);
    assert_eq!(body["id_token"], Value::Null);
    assert_eq!(body["refresh_token_expires_at"], Value::Null);
    let claims = app.verify_token_of(&body).await;
    let expires = body["access_token_expires_at"]
        .as_str()
        .expect("expiry date");
    assert!(expires.ends_with("+0000"), "GMT: {expires}");
    let parsed = OffsetDateTime::parse(expires, &Rfc2822).expect("RFC 2822");
    assert_eq!(Some(parsed.unix_timestamp()), claims["exp"].as_i64());

    // ClientId is a synonym of ClientSid.
    let resp = app
        .post_form(
            "/v1/token",
            &[
                ("GrantType", "client_credentials"),
                ("ClientId", c.id.as_str()),
                ("ClientSecret", c.secret.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status(), 201);

    // Optional AccountSid:AuthToken must be right, and the app must belong to that account.
    let ok = app
        .as_account(reqwest::Method::POST, "/v1/token")
        .form(&form)
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 201);
    let wrong = (app.account.sid.as_str(), "wrong");
    let body = json(app.post_basic("/v1/token", wrong, &form).await, 401).await;
    assert_eq!(body["code"], 20003);
    let (other, other_token) = app.stranger_account().await;
    let foreign = (other.sid.as_str(), other_token.expose());
    let body = json(app.post_basic("/v1/token", foreign, &form).await, 401).await;
    assert_eq!(body["code"], 20003);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid_client:"))
    );
}

async fn jwks_and_discovery_documents(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let jwks: Value = app.get_json("/oauth/jwks").await;
    let keys = jwks["keys"].as_array().expect("keys");
    // The ES256 key, and the RS256 key id tokens may be signed with.
    assert_eq!(keys.len(), 2);
    let ec = keys.iter().find(|k| k["kty"] == "EC").expect("EC key");
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["alg"], "ES256");
    let rsa = keys.iter().find(|k| k["kty"] == "RSA").expect("RSA key");
    assert_eq!(rsa["alg"], "RS256");
    for k in keys {
        assert_eq!(k["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "no private material in the JWKS");
        }
    }

    let certs: Value = app.get_json("/v1/certs").await;
    assert_eq!(certs["keys"], jwks["keys"]);
    assert_eq!(certs["url"], app.url("/v1/certs"));

    let oidc: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oidc["issuer"], app.base.as_str());
    assert_eq!(oidc["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(oidc["jwks_uri"], app.url("/oauth/jwks"));
    assert_eq!(oidc["authorization_endpoint"], app.url("/oauth/authorize"));
    assert_eq!(oidc["userinfo_endpoint"], app.url("/oauth/userinfo"));
    assert_eq!(oidc["response_types_supported"], json!(["code"]));
    assert_eq!(oidc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        oidc["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    let rfc8414: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(rfc8414["issuer"], app.base.as_str());
    assert_eq!(
        rfc8414["grant_types_supported"],
        json!([
            "client_credentials",
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );

    let v1: Value = app.get_json("/v1/.well-known/openid-configuration").await;
    assert_eq!(v1["issuer"], app.base.as_str());
    assert_eq!(v1["token_endpoint"], app.url("/v1/token"));
    assert_eq!(v1["jwk_uri"], app.url("/v1/certs"));
    assert_eq!(v1["subject_type_supported"], json!(["public"]));
    assert_eq!(v1["response_type_supported"], json!(["code"]));
    assert_eq!(v1["authorization_endpoint"], app.url("/v1/authorize"));
    assert_eq!(v1["userinfo_endpoint"], app.url("/v1/userinfo"));
    assert_eq!(
        v1["device_authorization_endpoint"],
        app.url("/v1/device/code")
    );
    assert_eq!(v1["revocation_endpoint"], app.url("/oauth/revoke"));
    assert_eq!(oidc["introspection_endpoint"], app.url("/oauth/introspect"));
    assert_eq!(
        oidc["device_authorization_endpoint"],
        app.url("/oauth/device_authorization")
    );
    assert!(v1.get("jwks_uri").is_none(), "v1 uses the spec's own names");

    let health: Value = app.get_json("/healthz").await;
    assert_eq!(health["status"], "ok");
}

async fn tokens_are_unique_and_signed_by_the_published_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let mut jtis = std::collections::HashSet::new();
    for _ in 0..20 {
        let resp = app.client_credentials(c.id.as_str(), &c.secret).await;
        let body: Value = resp.json().await.expect("json");
        let claims = app.verify_token_of(&body).await;
        assert!(jtis.insert(claims["jti"].as_str().expect("jti").to_owned()));
    }
    let kek = app.dir.path().join("key-encryption.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

on_both_backends!(
    oauth2_crate_basic_and_post,
    json_body_on_oauth_token,
    v2_token_with_audience_and_account,
    v2_refuses_accounts_of_other_organizations,
    v1_token_is_201_with_rfc2822_dates,
    jwks_and_discovery_documents,
    tokens_are_unique_and_signed_by_the_published_key,
);
