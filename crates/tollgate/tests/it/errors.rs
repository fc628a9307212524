//! Every failure gets the dialect's error: status, body shape and code.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use tollgate_core::model::GrantType;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use tollgate_testkit::on_both_backends;

/// Asserts an RFC 6749 error body.
async fn rfc_error(resp: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for {error}");
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    if error == "invalid_client" {
        assert!(
            resp.headers().contains_key("www-authenticate"),
            "401 carries WWW-Authenticate"
        );
    }
    let body: Value = resp.json().await.expect("json error body");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    body
}

/// Asserts a Twilio error body.
async fn twilio_error(resp: reqwest::Response, status: u16, code: u32, rfc_code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for {rfc_code}");
    let body: Value = resp.json().await.expect("json error body");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["more_info"],
        format!("https://www.twilio.com/docs/errors/{code}")
    );
    let message = body["message"].as_str().expect("message");
    assert!(
        message.starts_with(&format!("{rfc_code}:")),
        "message {message:?} starts with {rfc_code}"
    );
    body
}

fn std_form<'a>(id: &'a str, secret: &'a str, grant: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", grant),
        ("client_id", id),
        ("client_secret", secret),
    ]
}

fn v1_form<'a>(id: &'a str, secret: &'a str, grant: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GrantType", grant),
        ("ClientSid", id),
        ("ClientSecret", secret),
    ]
}

async fn json_post(app: &TestApp, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

/// One logical token request, sent to every dialect, and the answer each must give.
struct Case<'a> {
    fields: Vec<(&'a str, &'a str)>,
    /// RFC 6749 `error` code every dialect reports.
    error: &'static str,
    /// Status for form bodies on `/oauth/token`, for JSON bodies, and for `/v1` and `/v2`.
    form_status: u16,
    json_status: u16,
    twilio: (u16, u32),
}

impl<'a> Case<'a> {
    fn new(fields: Vec<(&'a str, &'a str)>, error: &'static str) -> Self {
        let (form_status, json_status, twilio) = match error {
            "invalid_client" => (401, 401, (401, 20003)),
            "invalid_request" => (400, 400, (400, 20001)),
            _ => (400, 422, (400, 20001)),
        };
        Self {
            fields,
            error,
            form_status,
            json_status,
            twilio,
        }
    }

    /// The v1 spelling of the same request; `None` when v1 has no such parameter.
    fn v1_fields(&self) -> Option<Vec<(&'a str, &'a str)>> {
        self.fields
            .iter()
            .map(|(k, v)| {
                let name = match *k {
                    "grant_type" => "GrantType",
                    "client_id" => "ClientSid",
                    "client_secret" => "ClientSecret",
                    "scope" => "Scope",
                    _ => return None,
                };
                Some((name, *v))
            })
            .collect()
    }

    async fn check(&self, app: &TestApp) {
        rfc_error(
            app.post_form("/oauth/token", &self.fields).await,
            self.form_status,
            self.error,
        )
        .await;
        let json: serde_json::Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        rfc_error(
            json_post(app, Value::Object(json)).await,
            self.json_status,
            self.error,
        )
        .await;
        let (status, code) = self.twilio;
        twilio_error(
            app.post_form("/v2/token", &self.fields).await,
            status,
            code,
            self.error,
        )
        .await;
        if let Some(v1) = self.v1_fields() {
            twilio_error(
                app.post_form("/v1/token", &v1).await,
                status,
                code,
                self.error,
            )
            .await;
        }
    }
}

async fn client_authentication_failures(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let unknown = "OQ00000000000000000000000000000000";
    for (id, secret) in [(unknown, "x"), (c.id.as_str(), "wrong"), ("not-a-sid", "x")] {
        Case::new(std_form(id, secret, "client_credentials"), "invalid_client")
            .check(&app)
            .await;
    }
    // No credentials at all.
    rfc_error(
        app.post_form("/oauth/token", &[("grant_type", "client_credentials")])
            .await,
        401,
        "invalid_client",
    )
    .await;
    // Basic with a wrong secret.
    let resp = app
        .post_basic(
            "/oauth/token",
            (c.id.as_str(), "nope"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    rfc_error(resp, 401, "invalid_client").await;
    // Malformed Basic.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .header(AUTHORIZATION, "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    rfc_error(resp, 401, "invalid_client").await;
    // Both Basic and body secret.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(c.id.as_str(), Some(&c.secret))
        .form(&std_form(c.id.as_str(), &c.secret, "client_credentials"))
        .send()
        .await
        .expect("request");
    rfc_error(resp, 400, "invalid_request").await;
}

async fn grant_and_scope_failures(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let (id, secret) = (c.id.as_str(), c.secret.as_str());
    let code_only = app
        .client_with(|s| s.grant_types = vec![GrantType::AuthorizationCode])
        .await;
    let with = |extra: (&'static str, &'static str)| {
        let mut f = std_form(id, secret, "client_credentials");
        f.push(extra);
        f
    };
    let cases = [
        Case::new(std_form(id, secret, "password"), "unsupported_grant_type"),
        // A grant this client is not registered for.
        Case::new(
            std_form(
                code_only.id.as_str(),
                &code_only.secret,
                "client_credentials",
            ),
            "unauthorized_client",
        ),
        // A scope the client does not have, and one that is not even a scope token.
        Case::new(with(("scope", "read admin")), "invalid_scope"),
        Case::new(with(("scope", "bad\"scope")), "invalid_scope"),
        // An audience that is not registered (v1 has no audience parameter).
        Case::new(
            with(("audience", "https://elsewhere.example")),
            "invalid_target",
        ),
        Case::new(
            vec![("client_id", id), ("client_secret", secret)],
            "invalid_request",
        ),
    ];
    for case in cases {
        case.check(&app).await;
    }
}

/// Each raw POST is refused as `invalid_request`: on `/oauth/token` with an RFC 6749 body and
/// `oauth_status`, on the Twilio routes with a 400 and code 20001.
async fn refused_raw(app: &TestApp, oauth_status: u16, cases: [(&str, &str, String); 3]) {
    for (path, content_type, body) in cases {
        let resp = raw_post(app, path, content_type, body).await;
        if path == "/oauth/token" {
            rfc_error(resp, oauth_status, "invalid_request").await;
        } else {
            twilio_error(resp, 400, 20001, "invalid_request").await;
        }
    }
}

async fn malformed_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let (id, secret) = (c.id.as_str(), c.secret.as_str());
    const FORM: &str = "application/x-www-form-urlencoded";

    // Repeated parameters.
    let dup = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=read&scope=write"
    );
    let dup_v1 = format!(
        "GrantType=client_credentials&ClientSid={id}&ClientSecret={secret}&ClientSecret={secret}"
    );
    let cases = [
        ("/oauth/token", FORM, dup.clone()),
        ("/v2/token", FORM, dup),
        ("/v1/token", FORM, dup_v1),
    ];
    refused_raw(&app, 400, cases).await;
    // account_sid disagreeing between query and body.
    let resp = app
        .http
        .post(app.url("/v2/token?account_sid=AC00000000000000000000000000000000"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("account_sid", app.account.sid.as_str()),
        ])
        .send()
        .await
        .expect("request");
    twilio_error(resp, 400, 20001, "invalid_request").await;

    // Wrong content type.
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let cases = [
        ("/oauth/token", "text/plain", form.clone()),
        ("/v2/token", "application/json", "{}".to_owned()),
        ("/v1/token", "text/plain", form),
    ];
    refused_raw(&app, 415, cases).await;

    // JSON: unparsable, unknown field, missing field, wrong type, repeated key.
    let cases = [
        "{\"grant_type\": \"client_credentials\"".to_owned(),
        json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "colour": "red"}).to_string(),
        json!({"grant_type": "client_credentials", "client_id": id}).to_string(),
        json!({"client_id": id, "client_secret": secret}).to_string(),
        json!({"grant_type": "client_credentials", "client_id": 42, "client_secret": secret}).to_string(),
        format!("{{\"grant_type\":\"client_credentials\",\"client_id\":\"{id}\",\"client_id\":\"{id}\",\"client_secret\":\"{secret}\"}}"),
        "[]".to_owned(),
        String::new(),
    ];
    for body in cases {
        rfc_error(
            raw_post(&app, "/oauth/token", "application/json", body).await,
            400,
            "invalid_request",
        )
        .await;
    }

    // Oversized bodies.
    let huge = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&pad={}",
        "a".repeat(20_000)
    );
    let cases = [
        ("/oauth/token", FORM, huge.clone()),
        ("/v2/token", FORM, huge.clone()),
        ("/v1/token", FORM, huge),
    ];
    refused_raw(&app, 413, cases).await;

    // Unknown routes and methods keep the dialect.
    let resp = app.get("/v1/nothing-here").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], 20404);
    let resp = app.get("/v2/token").await;
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], 20004);
    assert_eq!(app.get("/oauth/token").await.status(), 405);
}

/// Hostile input never produces a 5xx and never issues a token.
async fn hostile_input_never_fails_the_server(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.client().await;
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x41],
        b"%%%%&&&===".to_vec(),
        format!(
            "grant_type=client_credentials&client_id={}%00&client_secret={}",
            c.id, c.secret
        )
        .into_bytes(),
        format!(
            "grant_type=client_credentials&client_id={}&client_secret=%FF%FE",
            c.id
        )
        .into_bytes(),
        "grant_type=client_credentials&client_id="
            .repeat(300)
            .into_bytes(),
        format!("{}=1", "k".repeat(15_000)).into_bytes(),
        b"\x7b\x22grant_type\x22: \x22\xc3\x28\x22}".to_vec(),
    ];
    for path in ["/oauth/token", "/v2/token", "/v1/token"] {
        for ct in [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=x",
        ] {
            for body in &bodies {
                let resp = raw_post(&app, path, ct, body.clone()).await;
                let status = resp.status().as_u16();
                assert!(
                    (400..500).contains(&status),
                    "{path} {ct} answered {status}"
                );
                let body: Value = resp.json().await.expect("error body is JSON");
                assert!(body.get("access_token").is_none());
            }
        }
    }
    for authz in ["Basic", "Basic =", "Bearer x", "Basic Og==", "Digest a=b"] {
        let resp = app
            .http
            .post(app.url("/oauth/token"))
            .header(AUTHORIZATION, authz)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request");
        assert!((400..500).contains(&resp.status().as_u16()), "{authz}");
    }
}

async fn failed_authentication_is_rate_limited(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.auth_failures_per_minute = 3).await else {
        return;
    };
    let c = app.client().await;
    let bad = std_form(c.id.as_str(), "wrong", "client_credentials");
    for _ in 0..3 {
        rfc_error(
            app.post_form("/oauth/token", &bad).await,
            401,
            "invalid_client",
        )
        .await;
    }
    let resp = app.post_form("/v2/token", &bad).await;
    assert!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    let body = twilio_error(resp, 429, 20429, "too_many_requests").await;
    let until = body["throttled_until"].as_str().expect("throttled_until");
    assert!(
        time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339).is_ok(),
        "{until}"
    );

    // While blocked even the right secret is refused, so guesses cannot be confirmed.
    let good = std_form(c.id.as_str(), &c.secret, "client_credentials");
    rfc_error(
        app.post_form("/oauth/token", &good).await,
        429,
        "too_many_requests",
    )
    .await;
    twilio_error(
        app.post_form(
            "/v1/token",
            &v1_form(c.id.as_str(), &c.secret, "client_credentials"),
        )
        .await,
        429,
        20429,
        "too_many_requests",
    )
    .await;
}

on_both_backends!(
    client_authentication_failures,
    grant_and_scope_failures,
    malformed_requests,
    hostile_input_never_fails_the_server,
    failed_authentication_is_rate_limited,
);
