//! Requests the tests make again and again: authorize URLs, code redemption, refresh, token
//! requests with and without DPoP, and reading the answers.

use serde_json::Value;
use tollgate_core::authorize::s256;

use tollgate::config::Config;

use super::{
    Backend, Browser, REDIRECT, TestApp, TestClient, VERIFIER, query_param, spawn_app_with,
};

pub fn authorize_url(path: &str, client: &TestClient, extra: &[(&str, &str)]) -> String {
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
pub async fn get_code(
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

pub async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    redeem_to(app, client, code, REDIRECT, verifier).await
}

/// `redeem` for a code sent to `redirect_uri` (on any node of the server).
pub async fn redeem_to(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
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

pub async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> reqwest::Response {
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

/// A server, an authorization-code app (`TestApp::code_client(false)`), the user `email`
/// and a browser.
pub async fn code_flow(backend: Backend, email: &str) -> Option<(TestApp, TestClient, Browser)> {
    code_flow_with(backend, email, |_| {}).await
}

/// `code_flow` on a server configured by `tweak`.
pub async fn code_flow_with(
    backend: Backend,
    email: &str,
    tweak: impl FnOnce(&mut Config),
) -> Option<(TestApp, TestClient, Browser)> {
    let app = spawn_app_with(backend, tweak).await?;
    let client = app.code_client(false).await;
    app.user(email).await;
    let browser = Browser::new(&app);
    Some((app, client, browser))
}

/// `get_code` on `/oauth/authorize` for the scope `read`.
pub async fn read_code(browser: &Browser, client: &TestClient, email: &str) -> String {
    get_code(browser, "/oauth/authorize", client, "read", email).await
}

/// `read_code` as `email`, redeemed with `VERIFIER`: the refresh token.
pub async fn code_refresh_token(
    app: &TestApp,
    client: &TestClient,
    browser: &Browser,
    email: &str,
) -> String {
    let code = read_code(browser, client, email).await;
    refresh_token_in(redeem(app, client, &code, Some(VERIFIER)).await).await
}

/// A refresh of `token` by `client`, refused with `invalid_grant`.
pub async fn assert_refresh_refused(app: &TestApp, client: &TestClient, token: &str) {
    let err = json(refresh(app, client, token).await, 400).await;
    assert_eq!(err["error"], "invalid_grant");
}

/// The refresh token of a token response, which must be a 200.
pub async fn refresh_token_in(resp: reqwest::Response) -> String {
    json(resp, 200).await["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

/// A refresh's status and the refresh token it answered with, if any.
pub async fn rotated(resp: reqwest::Response) -> (u16, Option<String>) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("json");
    (status, body["refresh_token"].as_str().map(str::to_owned))
}

/// Awaits refreshes of one token run at once, each of which must be answered with a 200
/// (`what` says why): the refresh tokens they returned.
pub async fn successors(
    tasks: Vec<tokio::task::JoinHandle<(u16, Option<String>)>>,
    what: &str,
) -> Vec<String> {
    let mut successors = Vec::new();
    for t in tasks {
        let (status, next) = t.await.expect("task");
        assert_eq!(status, 200, "{what}");
        successors.extend(next);
    }
    successors
}

/// An answer with `status` and a `Retry-After` header (`what` names it): its JSON body.
pub async fn retry_later(resp: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(resp.status(), status, "{what}");
    assert!(resp.headers().contains_key("retry-after"), "{what}");
    resp.json().await.expect("json")
}

/// The claims of a JWT, unverified.
pub fn jwt_claims(jwt: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims::<Value>(jwt).expect("claims")
}

/// The body of a response with the status `status`, as JSON.
pub async fn json(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    resp.json().await.expect("json")
}

impl TestApp {
    /// A form client_credentials request on `/oauth/token` with `client_secret_post`.
    pub async fn client_credentials(&self, id: &str, secret: &str) -> reqwest::Response {
        self.client_credentials_at("/oauth/token", id, secret).await
    }

    /// `client_credentials` on another token route (`/v2/token`).
    pub async fn client_credentials_at(
        &self,
        path: &str,
        id: &str,
        secret: &str,
    ) -> reqwest::Response {
        self.post_form(
            path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
        )
        .await
    }

    /// The status of a client_credentials request by `c` on `/oauth/token`.
    pub async fn token_status(&self, c: &TestClient) -> u16 {
        let resp = self.client_credentials(c.id.as_str(), &c.secret).await;
        resp.status().as_u16()
    }

    /// RFC 7009 revocation of `token` by `caller` (`client_secret_post`), with a
    /// `token_type_hint` when given: the status.
    pub async fn revocation_status(
        &self,
        caller: &TestClient,
        token: &str,
        hint: Option<&str>,
    ) -> u16 {
        let mut form = vec![
            ("token", token),
            ("client_id", caller.id.as_str()),
            ("client_secret", caller.secret.as_str()),
        ];
        if let Some(h) = hint {
            form.push(("token_type_hint", h));
        }
        self.post_form("/oauth/revoke", &form)
            .await
            .status()
            .as_u16()
    }

    /// `revocation_status` without a hint, which must be a 200.
    pub async fn revoke(&self, caller: &TestClient, token: &str) {
        assert_eq!(self.revocation_status(caller, token, None).await, 200);
    }

    /// RFC 7662 introspection of `token` by `caller`, authenticated with HTTP Basic.
    pub async fn introspect(&self, caller: &TestClient, token: &str) -> reqwest::Response {
        let caller = (caller.id.as_str(), caller.secret.as_str());
        self.post_basic("/oauth/introspect", caller, &[("token", token)])
            .await
    }

    /// `introspect`'s answer, which must be a 200: its body.
    pub async fn introspection(&self, caller: &TestClient, token: &str) -> Value {
        json(self.introspect(caller, token).await, 200).await
    }

    /// A client_credentials access token for `c`.
    pub async fn access_token(&self, c: &TestClient) -> String {
        let body = json(self.client_credentials(c.id.as_str(), &c.secret).await, 200).await;
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// POSTs a form and returns the JSON body, which must come with `status`.
    pub async fn form_json(&self, path: &str, form: &[(&str, &str)], status: u16) -> Value {
        json(self.post_form(path, form).await, status).await
    }

    /// A plain GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.http.get(self.url(path))).await
    }

    /// Whether `/readyz` answers `status` (false when nothing answers).
    pub async fn readyz_is(&self, status: u16) -> bool {
        let resp = self.http.get(self.url("/readyz")).send().await;
        resp.is_ok_and(|r| r.status() == status)
    }

    /// A GET with one header `name: value`.
    pub async fn get_with_header(&self, path: &str, name: &str, value: &str) -> reqwest::Response {
        send(self.http.get(self.url(path)).header(name, value)).await
    }

    /// A GET with a bearer token.
    pub async fn get_with_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        send(self.http.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        send(self.http.post(self.url(path)).form(form)).await
    }

    /// POSTs a form whose values are owned.
    pub async fn post_pairs(&self, path: &str, form: &[(&str, String)]) -> reqwest::Response {
        send(self.http.post(self.url(path)).form(form)).await
    }

    /// POSTs a form with HTTP Basic client authentication.
    pub async fn post_basic(
        &self,
        path: &str,
        (id, secret): (&str, &str),
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        post_basic(&self.http, self.url(path), (id, secret), form).await
    }
}

impl TestApp {
    /// POSTs a form, optionally with a DPoP proof.
    pub async fn post_dpop(
        &self,
        path: &str,
        proof: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).form(form);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send().await.expect("request")
    }

    /// client_credentials with a private_key_jwt assertion and an optional DPoP proof.
    pub async fn assertion_token(&self, assertion: &str, proof: Option<&str>) -> reqwest::Response {
        self.post_dpop(
            "/oauth/token",
            proof,
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    tollgate_core::client_assertion::JWT_BEARER,
                ),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    /// RFC 9207: the redirect `back` names this server as its `iss`.
    pub fn assert_iss(&self, back: &str) {
        let iss = query_param(back, "iss");
        assert_eq!(iss.as_deref(), Some(self.base.as_str()), "{back}");
    }

    /// Claims of a JWT, unverified (the server's signature is checked elsewhere).
    pub fn claims(&self, jwt: &str) -> Value {
        jwt_claims(jwt)
    }
}

/// Sends a request; only a transport failure fails here.
pub async fn send(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.expect("request")
}

/// POSTs a form to `url` (on any node) with HTTP Basic client authentication.
pub async fn post_basic(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> reqwest::Response {
    send(http.post(url).basic_auth(id, Some(secret)).form(form)).await
}

/// POSTs `form` to `path` on the server at `base` (any node) with HTTP Basic client
/// authentication: the JSON body, whatever the status.
pub async fn basic_json(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> Value {
    let resp = post_basic(http, format!("{base}{path}"), client, form).await;
    resp.json().await.expect("json")
}

/// RFC 7662 introspection of `token` on the server at `base` (any node): `basic_json`.
pub async fn introspect_at(
    http: &reqwest::Client,
    base: &str,
    client: (&str, &str),
    token: &str,
) -> Value {
    let form = [("token", token)];
    basic_json(http, base, "/oauth/introspect", client, &form).await
}

/// An RFC 6749 error body's `error`, with the status.
pub async fn error_of(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}
