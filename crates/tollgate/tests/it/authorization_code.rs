//! The authorization code flow: pages, PKCE, code redemption on every dialect, refresh
//! rotation, OpenID Connect.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::LOCATION;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use tollgate_core::authorize::s256;

use crate::browser::{Browser, PASSWORD, REDIRECT, Visit, hidden, query_param};
use crate::helpers::{Backend, TestApp, TestClient, now, spawn_app, spawn_app_with};
use crate::on_both_backends;

pub(crate) const VERIFIER: &str =
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

pub(crate) fn authorize_url(path: &str, client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if path == "/v1/authorize" {
        q.append_pair("ResponseType", "code")
            .append_pair("ClientId", client.id.as_str())
            .append_pair("RedirectUri", REDIRECT);
    } else {
        q.append_pair("response_type", "code")
            .append_pair("client_id", client.id.as_str())
            .append_pair("redirect_uri", REDIRECT);
    }
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}

fn pkce(path: &str) -> Vec<(&'static str, String)> {
    let challenge = s256(VERIFIER);
    if path == "/v1/authorize" {
        vec![
            ("CodeChallenge", challenge),
            ("CodeChallengeMethod", "S256".into()),
        ]
    } else {
        vec![
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".into()),
        ]
    }
}

/// Signs in, consents and returns the code, checking `state` comes back untouched.
pub(crate) async fn get_code(
    browser: &Browser,
    path: &str,
    client: &TestClient,
    scope: &str,
    email: &str,
) -> String {
    let state = "st&te with spaces/=";
    let mut extra: Vec<(&str, String)> = pkce(path);
    if path == "/v1/authorize" {
        extra.extend([
            ("Scope", scope.to_owned()),
            ("State", state.to_owned()),
            ("Nonce", "n-1".to_owned()),
        ]);
    } else {
        extra.extend([
            ("scope", scope.to_owned()),
            ("state", state.to_owned()),
            ("nonce", "n-1".to_owned()),
        ]);
    }
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let location = browser
        .authorize(&authorize_url(path, client, &extra), email)
        .await;
    assert!(
        location.starts_with(REDIRECT),
        "back at the client: {location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    query_param(&location, "code").expect("code")
}

pub(crate) async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client.id.as_str()),
    ];
    if !client.secret.is_empty() {
        form.push(("client_secret", &client.secret));
    }
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    app.post_form("/oauth/token", &form).await
}

pub(crate) async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
    app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client.id.as_str()),
            ("client_secret", &client.secret),
        ],
    )
    .await
}

pub(crate) async fn json(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    resp.json().await.expect("json")
}

async fn openidconnect_crate_completes_the_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("ada@example.com").await;
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.base.clone()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery");
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.to_string()),
        Some(ClientSecret::new(client.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).expect("redirect"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = oidc
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = Browser::new(&app);
    let location = browser.authorize(url.as_str(), "ada@example.com").await;
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.base.as_str())
    );
    let code = query_param(&location, "code").expect("code");

    let token = oidc
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    assert!(token.refresh_token().is_some());
    let id_token = token.id_token().expect("id_token");
    let claims = id_token
        .claims(&oidc.id_token_verifier(), &nonce)
        .expect("id_token verifies with nonce");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(
        claims
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some("Ada")
    );
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    assert!((now() - 30..=now()).contains(&auth_time));

    let info: CoreUserInfoClaims = oidc
        .user_info(token.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), claims.subject().as_str());
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));

    // The access token is an RFC 9068 JWT for the user.
    let at = app.verify_access_token(token.access_token().secret()).await;
    assert_eq!(at["sub"], claims.subject().as_str());
    assert_eq!(at["client_id"], client.id.as_str());
    assert_eq!(at["scope"], "openid email profile");
    assert_eq!(at["account_sid"], app.account.sid.as_str());
}

async fn twilio_dialects_redeem_and_refresh(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("grace@example.com").await;
    let browser = Browser::new(&app);

    // v2: snake_case, 200, nulls where nothing is issued.
    let code = get_code(
        &browser,
        "/v2/authorize",
        &client,
        "openid offline_access",
        "grace@example.com",
    )
    .await;
    let body = json(
        app.post_form(
            "/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(body["token_type"], "Bearer");
    let id_token = body["id_token"].as_str().expect("id_token");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_token.split('.').nth(1).expect("payload"),
        )
        .expect("b64"),
    )
    .expect("claims");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["aud"], client.id.as_str());
    let rt = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let body = json(
        app.post_form(
            "/v2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
                ("refresh_token", &rt),
            ],
        )
        .await,
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
    let body = json(
        app.post_form(
            "/v1/token",
            &[
                ("GrantType", "authorization_code"),
                ("ClientSid", client.id.as_str()),
                ("ClientSecret", &client.secret),
                ("Code", &code),
                ("RedirectUri", REDIRECT),
                ("CodeVerifier", VERIFIER),
            ],
        )
        .await,
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
    let body = json(
        app.post_form(
            "/v1/token",
            &[
                ("GrantType", "refresh_token"),
                ("ClientSid", client.id.as_str()),
                ("ClientSecret", &client.secret),
                ("RefreshToken", &rt),
            ],
        )
        .await,
        201,
    )
    .await;
    assert!(body["access_token"].as_str().is_some());
    assert!(
        body["id_token"].as_str().is_some(),
        "openid refresh returns an id_token"
    );

    // /v1/userinfo speaks the v1 spec's field names.
    let info = json(
        app.http
            .get(app.url("/v1/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("userinfo"),
        200,
    )
    .await;
    assert!(
        info["user_sid"]
            .as_str()
            .is_some_and(|s| s.starts_with("US"))
    );
    assert_eq!(info["url"], app.url("/v1/userinfo"));
    assert_eq!(info["email"], Value::Null, "no email scope, no email");
    let resp = app
        .http
        .get(app.url("/v1/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["code"], 20003);
}

async fn pkce_is_enforced(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let confidential = app.code_client(false).await;
    let public = app.code_client(true).await;
    app.user("pk@example.com").await;
    let browser = Browser::new(&app);

    for (verifier, why) in [
        (None, "missing"),
        (
            Some("wrong-verifier-wrong-verifier-wrong-verifier-00"),
            "wrong",
        ),
        (Some("short"), "malformed"),
    ] {
        let code = get_code(
            &browser,
            "/oauth/authorize",
            &confidential,
            "read",
            "pk@example.com",
        )
        .await;
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
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &public,
        "read",
        "pk@example.com",
    )
    .await;
    let body = json(redeem(&app, &public, &code, Some(VERIFIER)).await, 200).await;
    assert!(body["refresh_token"].as_str().is_some());
}

async fn codes_are_single_use_and_bound(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    let other = app.code_client(false).await;
    app.user("cb@example.com").await;
    let browser = Browser::new(&app);

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
        json(
            app.http
                .get(app.url("/oauth/userinfo"))
                .bearer_auth(access)
                .send()
                .await
                .expect("ui"),
            200
        )
        .await["sub"]
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
    let resp = app
        .http
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .expect("ui");
    assert_eq!(resp.status(), 401, "access token revoked");
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .is_ok_and(|h| h.contains("invalid_token"))
    );

    // A code belongs to its client.
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "cb@example.com",
    )
    .await;
    assert_eq!(
        json(redeem(&app, &other, &code, Some(VERIFIER)).await, 400).await["error"],
        "invalid_grant"
    );

    // redirect_uri must repeat the one in the request.
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "cb@example.com",
    )
    .await;
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example/callback"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
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
    let Some(app) = spawn_app_with(backend, |c| c.engine.code_ttl = 1).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("ex@example.com").await;
    let browser = Browser::new(&app);
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "ex@example.com",
    )
    .await;
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
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("or@example.com").await;
    let browser = Browser::new(&app);
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

async fn refresh_rotation_grace_and_reuse(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.engine.refresh_grace_secs = 1).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("rt@example.com").await;
    let browser = Browser::new(&app);
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "rt@example.com",
    )
    .await;
    let a = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();

    // Two uses of A within the grace window both succeed; the second retires the first's
    // successor, so one branch lives on.
    let b = json(refresh(&app, &client, &a).await, 200).await["refresh_token"]
        .as_str()
        .expect("b")
        .to_owned();
    let c = json(refresh(&app, &client, &a).await, 200).await["refresh_token"]
        .as_str()
        .expect("c")
        .to_owned();
    assert_ne!(b, c);
    let c2 = json(refresh(&app, &client, &c).await, 200).await["refresh_token"]
        .as_str()
        .expect("c2")
        .to_owned();
    // A use of the retired branch is theft: refused, and the whole family is revoked.
    let err = json(refresh(&app, &client, &b).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(
        json(refresh(&app, &client, &c2).await, 400).await["error"],
        "invalid_grant"
    );

    // A use after the window is theft too.
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "rt@example.com",
    )
    .await;
    let a = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
    let b = json(refresh(&app, &client, &a).await, 200).await["refresh_token"]
        .as_str()
        .expect("b")
        .to_owned();
    app.advance(2);
    let err = json(refresh(&app, &client, &a).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
    assert_eq!(
        json(refresh(&app, &client, &b).await, 400).await["error"],
        "invalid_grant"
    );

    // Scope may narrow on refresh but never widen; another client's token is refused.
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "rt@example.com",
    )
    .await;
    let t = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t),
                ("scope", "read write"),
                ("client_id", client.id.as_str()),
                ("client_secret", &client.secret),
            ],
        )
        .await;
    assert_eq!(json(resp, 400).await["error"], "invalid_scope");
    let other = app.code_client(false).await;
    assert_eq!(
        json(refresh(&app, &other, &t).await, 400).await["error"],
        "invalid_grant"
    );
    // Refused requests do not spend the token, even long after the grace window.
    app.advance(1);
    assert_eq!(
        refresh(&app, &client, &t).await.status(),
        200,
        "the token survived the refused requests"
    );
}

async fn concurrent_refreshes_both_succeed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("cc@example.com").await;
    let browser = Browser::new(&app);
    let code = get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "cc@example.com",
    )
    .await;
    let a = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
    let (r1, r2) = tokio::join!(refresh(&app, &client, &a), refresh(&app, &client, &a));
    let (t1, t2) = (json(r1, 200).await, json(r2, 200).await);
    // Both concurrent uses succeed, but only one branch may live on past them.
    let mut live = 0;
    for t in [&t1, &t2] {
        let next = t["refresh_token"].as_str().expect("successor");
        if refresh(&app, &client, next).await.status() == 200 {
            live += 1;
        }
    }
    assert!(live <= 1, "two refresh branches both lived");
}

async fn login_and_consent_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("pg@example.com").await;
    let browser = Browser::new(&app);
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[("scope", "openid email read"), ("state", "s")],
    );

    // prompt=none without a session.
    let loc = browser
        .authorize(&format!("{url}&prompt=none"), "pg@example.com")
        .await;
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );

    // The login page: strict headers, CSRF, no enumeration.
    let Visit::Page {
        url: login_url,
        html,
        status,
    } = browser.visit(&url).await
    else {
        panic!("login page expected")
    };
    assert_eq!(status, 200);
    let resp = browser.get(&login_url).await;
    let h = resp.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("frame-ancestors 'none'"))
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h.get_all("set-cookie")
            .iter()
            .all(|c| c.to_str().is_ok_and(|c| c.contains("HttpOnly")))
    );
    let wrong_password = browser
        .login(&login_url, &html, "pg@example.com", "not the password")
        .await;
    assert_eq!(wrong_password.status(), 401);
    let a = wrong_password.text().await.expect("html");
    let unknown_user = browser
        .login(&login_url, &html, "nobody@example.com", PASSWORD)
        .await;
    assert_eq!(unknown_user.status(), 401);
    let b = unknown_user.text().await.expect("html");
    assert!(a.contains("Wrong email or password.") && b.contains("Wrong email or password."));
    assert!(!a.contains(PASSWORD) && !b.contains("not the password"));

    // CSRF: a form without the token, or with another one, is refused.
    let cont = hidden(&html, "continue").expect("continue");
    let resp = browser
        .post(
            "/login",
            &[
                ("continue", &cont),
                ("email", "pg@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let resp = browser
        .post(
            "/login",
            &[
                ("csrf", "forged-forged-forged-forged-forged-forged-fo"),
                ("continue", &cont),
                ("email", "pg@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403);

    // Sign in; consent lists the scopes in plain words; deny returns access_denied.
    let resp = browser
        .login(&login_url, &html, "pg@example.com", PASSWORD)
        .await;
    assert_eq!(resp.status(), 303);
    let Visit::Page { html: consent, .. } = browser
        .visit(resp.headers()[LOCATION].to_str().expect("loc"))
        .await
    else {
        panic!("consent page")
    };
    assert!(consent.contains("See your email address") && consent.contains("Confirm who you are"));
    let resp = browser
        .post(
            "/consent",
            &[
                ("continue", &hidden(&consent, "continue").expect("c")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403, "consent without CSRF");
    let loc = browser.decide(&consent, "deny").await.headers()[LOCATION]
        .to_str()
        .expect("loc")
        .to_owned();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("s"));

    // Signed in but no consent yet: prompt=none says so.
    let loc = browser
        .authorize(&format!("{url}&prompt=none"), "pg@example.com")
        .await;
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("consent_required")
    );
    // Approve once; afterwards the consent is remembered and prompt=none yields a code.
    let loc = browser.authorize(&url, "pg@example.com").await;
    assert!(query_param(&loc, "code").is_some());
    let Visit::Left(loc) = browser.visit(&format!("{url}&prompt=none")).await else {
        panic!("straight back")
    };
    assert!(query_param(&loc, "code").is_some());
    // prompt=consent asks again; prompt=login asks for the password again.
    assert!(
        matches!(browser.visit(&format!("{url}&prompt=consent")).await, Visit::Page { ref html, .. } if html.contains("id=\"approve\""))
    );
    assert!(
        matches!(browser.visit(&format!("{url}&prompt=login")).await, Visit::Page { ref url, .. } if url.contains("/login"))
    );

    // Logout ends the session.
    let Visit::Page { html: home, .. } = browser.visit("/logout").await else {
        panic!("logout page")
    };
    let csrf = hidden(&home, "csrf").expect("csrf");
    assert_eq!(
        browser.post("/logout", &[("csrf", &csrf)]).await.status(),
        200
    );
    let loc = browser
        .authorize(&format!("{url}&prompt=none"), "pg@example.com")
        .await;
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
}

async fn sessions_expire_when_idle(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.engine.session_idle_secs = 1).await else {
        return;
    };
    let client = app.code_client(false).await;
    app.user("idle@example.com").await;
    let browser = Browser::new(&app);
    get_code(
        &browser,
        "/oauth/authorize",
        &client,
        "read",
        "idle@example.com",
    )
    .await;
    app.advance(2);
    let url = authorize_url(
        "/oauth/authorize",
        &client,
        &[("scope", "read"), ("prompt", "none")],
    );
    let Visit::Left(loc) = browser.visit(&url).await else {
        panic!("redirect expected")
    };
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );
}

async fn userinfo_requires_a_good_bearer_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cc = app.client().await;
    let body: Value = app
        .client_credentials(cc.id.as_str(), &cc.secret)
        .await
        .json()
        .await
        .expect("json");
    let machine_token = body["access_token"].as_str().expect("token");
    for (auth, status, error) in [
        (None, 401, "invalid_token"),
        (Some("Bearer not-a-jwt".to_owned()), 401, "invalid_token"),
        (
            Some(format!("Bearer {machine_token}")),
            403,
            "insufficient_scope",
        ),
        (
            Some("Basic Zm9vOmJhcg==".to_owned()),
            400,
            "invalid_request",
        ),
    ] {
        let mut req = app.http.get(app.url("/oauth/userinfo"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("userinfo");
        assert_eq!(resp.status().as_u16(), status);
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .is_ok_and(|h| h.starts_with("Bearer"))
        );
        assert_eq!(json(resp, status).await["error"], error);
    }
}

on_both_backends!(
    openidconnect_crate_completes_the_flow,
    twilio_dialects_redeem_and_refresh,
    pkce_is_enforced,
    codes_are_single_use_and_bound,
    codes_expire,
    redirect_uri_is_never_an_open_redirect,
    refresh_rotation_grace_and_reuse,
    concurrent_refreshes_both_succeed,
    login_and_consent_pages,
    sessions_expire_when_idle,
    userinfo_requires_a_good_bearer_token,
);
