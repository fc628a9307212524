//! OpenID Connect RP-Initiated Logout 1.0 over real HTTP: the end-session endpoint's checks
//! (an unregistered post-logout URI is an error page, never a redirect), the confirmation
//! page, `sid` in id tokens (code flow and refresh) and refresh families revoked by a logout.
//! Also the helpers the other logout tests share: a relying party's back-channel endpoint and
//! the logout-token check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tollgate_core::model::{ClientLogout, GrantType};

use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, TestClient, Visit, eventually, get_code, hidden, json,
    jwt_claims, location, query_param, redeem, refresh, spawn_app, spawn_app_with,
};
use tollgate_testkit::on_both_backends;

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
pub const BYE: &str = "https://app.example/signed-out";

/// A relying party's back-channel logout endpoint on loopback: records every `logout_token`
/// it accepts, answering 500 to the first `fail_first` requests.
pub struct BackChannel {
    pub url: String,
    pub tokens: Arc<Mutex<Vec<String>>>,
    pub attempts: Arc<Mutex<usize>>,
}

impl BackChannel {
    pub async fn start(fail_first: usize) -> Self {
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(0usize));
        let (t, a) = (tokens.clone(), attempts.clone());
        let app = Router::new().route(
            "/backchannel",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let (t, a) = (t.clone(), a.clone());
                async move {
                    let n = {
                        let mut a = a.lock().unwrap();
                        *a += 1;
                        *a
                    };
                    let form_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                    if n <= fail_first || !form_type {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let token = form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "logout_token")
                        .map(|(_, v)| v.into_owned());
                    match token {
                        Some(tok) => {
                            t.lock().unwrap().push(tok);
                            StatusCode::OK
                        }
                        None => StatusCode::BAD_REQUEST,
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/backchannel"),
            tokens,
            attempts,
        }
    }

    pub fn received(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }

    /// Waits (polling, a few seconds at most) for `n` accepted tokens.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let got = eventually(Duration::from_secs(10), || async {
            self.received().len() >= n
        })
        .await;
        assert!(
            got.is_some(),
            "{n} logout token(s) delivered; got {}",
            self.received().len()
        );
        self.received()
    }
}

/// A logout token checked against the served JWKS: `typ`, signature, `iss`, `aud`, `iat`,
/// `exp`, `jti`, the event, and no `nonce`. Returns its claims.
pub async fn verify_logout_token(app: &TestApp, token: &str, client: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(
        header.typ.as_deref(),
        Some("logout+jwt"),
        "Back-Channel Logout typ"
    );
    let jwks = app.jwks().await;
    let jwk = jwks.find(&header.kid.expect("kid")).expect("key published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[app.base.as_str()]);
    v.set_audience(&[client]);
    v.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
            .expect("the logout token verifies against the JWKS")
            .claims;
    assert_eq!(claims["aud"], client);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "jti");
    assert!(claims["iat"].is_i64() && claims["exp"].as_i64() > claims["iat"].as_i64());
    assert_eq!(claims["events"], serde_json::json!({ EVENT: {} }));
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never carries a nonce"
    );
    claims
}

/// An authorization-code app with refresh, its logout settings tweaked.
pub async fn logout_client(app: &TestApp, logout: ClientLogout) -> TestClient {
    app.client_with(|s| {
        s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        s.redirect_uris = vec![REDIRECT.into()];
        s.scopes = vec!["read".into()];
        s.logout = logout;
    })
    .await
}

/// Logout settings: the post-logout redirect URIs and the back-channel endpoint.
pub fn logout_settings(post_logout: &[&str], back_channel: Option<&BackChannel>) -> ClientLogout {
    ClientLogout {
        post_logout_redirect_uris: post_logout.iter().map(|u| (*u).to_owned()).collect(),
        backchannel_logout_uri: back_channel.map(|rp| rp.url.clone()),
    }
}

/// A server whose app has the logout settings `logout`, and a browser signed in to that app
/// as `email` with the scope `openid read`: the server, the app, the browser and the token
/// response.
pub async fn signed_in_rp(
    backend: Backend,
    logout: ClientLogout,
    email: &str,
) -> Option<(TestApp, TestClient, Browser, Value)> {
    let app = spawn_app(backend).await?;
    let c = logout_client(&app, logout).await;
    app.user(email).await;
    let b = Browser::new(&app);
    let tokens = sign_in_to(&app, &b, &c, "openid read", email).await;
    Some((app, c, b, tokens))
}

/// Signs in (or reuses the browser's session), consents, redeems: the token response.
pub async fn sign_in_to(
    app: &TestApp,
    b: &Browser,
    c: &TestClient,
    scope: &str,
    email: &str,
) -> Value {
    let code = get_code(b, "/oauth/authorize", c, scope, email).await;
    json(
        redeem(app, c, &code, Some(crate::helpers::VERIFIER)).await,
        200,
    )
    .await
}

pub fn end_session_url(base: &str, pairs: &[(&str, &str)]) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}/oauth/logout?{q}")
}

/// `prompt=none` at authorize: a code while the session lives, `login_required` after.
pub async fn silent_authorize(b: &Browser, base: &str, c: &TestClient) -> String {
    let url = crate::helpers::authorize_url(
        "/oauth/authorize",
        c,
        &[
            ("scope", "openid read"),
            ("prompt", "none"),
            (
                "code_challenge",
                &tollgate_core::authorize::s256(crate::helpers::VERIFIER),
            ),
            ("code_challenge_method", "S256"),
        ],
    );
    let resp = b.get(&format!("{base}{url}")).await;
    assert!(resp.status().is_redirection(), "prompt=none redirects");
    location(&resp).to_owned()
}

async fn post_logout_uri_must_be_registered(backend: Backend) {
    let settings = logout_settings(&[BYE], None);
    let Some((app, c, b, tokens)) = signed_in_rp(backend, settings, "rp@example.com").await else {
        return;
    };
    let hint = tokens["id_token"].as_str().expect("id token");
    let refused = [
        // Not registered for this client.
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        // A prefix of a registered one is not a match.
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://app.example/"),
        ],
        // No client to check it against.
        vec![("post_logout_redirect_uri", BYE)],
        // Another client than the hint's.
        vec![
            ("id_token_hint", hint),
            ("client_id", "OQ00000000000000000000000000000000"),
        ],
        // Not our token.
        vec![
            ("id_token_hint", "eyJhbGciOiJub25lIn0.e30."),
            ("post_logout_redirect_uri", BYE),
        ],
    ];
    for pairs in refused {
        let resp = b.get(&end_session_url(&app.base, &pairs)).await;
        assert_eq!(resp.status(), 400, "{pairs:?}");
        assert!(
            resp.headers().get("location").is_none(),
            "never a redirect: {pairs:?}"
        );
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("<h1>Invalid request</h1>"), "{html}");
    }
    // The session is untouched by the refused requests.
    let silent = silent_authorize(&b, &app.base, &c).await;
    assert!(
        query_param(&silent, "code").is_some(),
        "still signed in: {silent}"
    );

    // A relying party's cross-site form POST arrives without the SameSite=Lax cookie: it is
    // checked, then sent on as a top-level GET (which carries the cookie).
    let resp = app
        .http
        .post(app.url("/oauth/logout"))
        .form(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "p"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let again = location(&resp).to_owned();
    assert!(again.starts_with("/oauth/logout?"), "{again}");
    assert_eq!(
        query_param(&app.url(&again), "id_token_hint").as_deref(),
        Some(hint)
    );
    let resp = app
        .http
        .post(app.url("/oauth/logout"))
        .form(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "checked before it is sent on");
    assert!(resp.headers().get("location").is_none());

    // Registered: the session ends and the browser goes back with `state`.
    let url = end_session_url(
        &app.base,
        &[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "s t/ate"),
            ("ui_locales", "fr-CA xx"),
        ],
    );
    let resp = b.get(&url).await;
    assert_eq!(resp.status(), 303);
    let to = location(&resp).to_owned();
    assert!(to.starts_with(BYE), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("s t/ate"));
    let silent = silent_authorize(&b, &app.base, &c).await;
    assert_eq!(
        query_param(&silent, "error").as_deref(),
        Some("login_required"),
        "{silent}"
    );
}

async fn confirmation_page_without_a_hint(backend: Backend) {
    let settings = logout_settings(&[BYE], None);
    let Some((app, c, b, _)) = signed_in_rp(backend, settings, "confirm@example.com").await else {
        return;
    };
    let url = end_session_url(
        &app.base,
        &[
            ("client_id", c.id.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "k"),
        ],
    );
    let Visit::Page { status, html, .. } = b.visit(&url).await else {
        panic!("a confirmation page, not a redirect");
    };
    assert_eq!(status, 200);
    assert!(html.contains("id=\"sign-out\""), "{html}");
    assert!(html.contains("confirm@example.com"));
    let csrf = hidden(&html, "csrf").expect("csrf");
    let fields = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("confirm", "yes".to_owned()),
            ("client_id", hidden(&html, "client_id").unwrap()),
            (
                "post_logout_redirect_uri",
                hidden(&html, "post_logout_redirect_uri").unwrap(),
            ),
            ("state", hidden(&html, "state").unwrap()),
        ]
    };
    // A forged confirmation (no valid token) is refused and signs nobody out.
    let forged = fields("forged");
    let pairs: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(b.post("/oauth/logout", &pairs).await.status(), 403);
    assert!(query_param(&silent_authorize(&b, &app.base, &c).await, "code").is_some());
    // Confirmed: signed out, back at the registered URI with state.
    let real = fields(&csrf);
    let pairs: Vec<(&str, &str)> = real.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = b.post("/oauth/logout", &pairs).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("{BYE}?state=k"));
    let silent = silent_authorize(&b, &app.base, &c).await;
    assert_eq!(
        query_param(&silent, "error").as_deref(),
        Some("login_required")
    );

    // Nobody signed in, no hint: nothing to confirm, the signed-out page.
    let resp = b.get(&end_session_url(&app.base, &[])).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("You are signed out."));
}

/// `sid` is in the code flow's id token and in refreshed ones; a logout revokes the family
/// without `offline_access` and keeps the one with it; an expired hint still works.
async fn sid_refresh_and_families(backend: Backend) {
    // Id tokens that expire well before the session idles out.
    let Some(app) = spawn_app_with(backend, |c| c.engine.access_token_ttl = 60).await else {
        return;
    };
    let plain = logout_client(&app, ClientLogout::default()).await;
    let offline = logout_client(&app, ClientLogout::default()).await;
    app.user("sid@example.com").await;
    let b = Browser::new(&app);
    let t1 = sign_in_to(&app, &b, &plain, "openid read", "sid@example.com").await;
    let t2 = sign_in_to(
        &app,
        &b,
        &offline,
        "openid read offline_access",
        "sid@example.com",
    )
    .await;
    let sid = jwt_claims(t1["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    assert!(sid.len() >= 22, "an opaque sid: {sid}");
    assert_eq!(
        jwt_claims(t2["id_token"].as_str().unwrap())["sid"],
        sid.as_str(),
        "one sid per session"
    );
    let r1 = t1["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = json(refresh(&app, &plain, &r1).await, 200).await;
    assert_eq!(
        jwt_claims(refreshed["id_token"].as_str().unwrap())["sid"],
        sid.as_str(),
        "sid on refresh"
    );
    let r1 = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();

    // An expired hint is accepted for logout (RP-Initiated Logout section 2).
    app.advance(120);
    let resp = b
        .get(&end_session_url(
            &app.base,
            &[("id_token_hint", t1["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(resp.status(), 200, "signed out without asking");
    assert!(resp.text().await.unwrap().contains("You are signed out."));
    let (status, error, _) = crate::helpers::error_of(refresh(&app, &plain, &r1).await).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_grant"),
        "the session's family is revoked"
    );
    let kept = json(refresh(&app, &offline, &r2).await, 200).await;
    assert_eq!(
        jwt_claims(kept["id_token"].as_str().unwrap())["sid"],
        sid.as_str()
    );
}

on_both_backends!(
    post_logout_uri_must_be_registered,
    confirmation_page_without_a_hint,
    sid_refresh_and_families,
);
