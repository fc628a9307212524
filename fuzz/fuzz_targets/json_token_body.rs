//! The Optoro JSON token body of the standard dialect (`POST /oauth/token` with
//! `application/json`), read through `Standard::token_request` as the token endpoint reads it.
//!
//! Properties: nothing panics; an accepted body is a JSON object of known fields whose values
//! are strings (or null), and the request carries exactly those values; refusals are
//! `invalid_request`/`invalid_client` with a bounded description and render as RFC 6749 JSON;
//! a body rendered from fields parses back to them; repeated, unknown and non-string fields
//! are refused.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tollgate_core::ErrorKind;
use tollgate_core::engine::TokenRequest;
use tollgate_fuzz::{Rendered, str_field};
use tollgate_http::dialect::{Dialect, ErrorStyle};
use tollgate_http::dialects::Standard;
use tollgate_http::extract::{Body, Input};
use tollgate_http::params::{Authorization, Params};

const FIELDS: [&str; 10] = [
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "audience",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "device_code",
];

fn read(body: &[u8], auth: Authorization) -> Result<TokenRequest, tollgate_core::OAuthError> {
    let input = Input {
        auth,
        query: Params::empty(),
        body: Body::Json(Bytes::copy_from_slice(body)),
        dpop: None,
        path: "/oauth/token".into(),
    };
    Standard::token_request(&input)
}

fn field(req: &TokenRequest, name: &str) -> Option<String> {
    match name {
        "grant_type" => req.grant_type.clone(),
        "scope" => req.scope.clone(),
        "audience" => req.audience.first().cloned(),
        "code" => req.code.clone(),
        "redirect_uri" => req.redirect_uri.clone(),
        "code_verifier" => req.code_verifier.clone(),
        "refresh_token" => req.refresh_token.clone(),
        "device_code" => req.device_code.clone(),
        _ => None,
    }
}

/// An accepted body: an object of known, string-or-null fields, carried over unchanged.
fn check_accepted(body: &[u8], req: &TokenRequest, basic: bool) {
    let map: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => panic!("accepted a body that is not a JSON object: {e}"),
    };
    for (k, v) in &map {
        assert!(FIELDS.contains(&k.as_str()), "accepted unknown field {k:?}");
        assert!(
            v.is_string() || v.is_null(),
            "accepted non-string {k:?}: {v}"
        );
    }
    let value = |name: &str| str_field(&Value::Object(map.clone()), name).map(str::to_owned);
    assert!(req.grant_type.as_deref().is_some_and(|g| !g.is_empty()));
    for name in FIELDS {
        if name != "client_id" && name != "client_secret" {
            assert_eq!(field(req, name), value(name), "field {name}");
        }
    }
    assert!(req.audience.len() <= 1);
    assert!(req.account_auth.is_none() && req.account_sid.is_none());
    if !basic {
        let client = req.client.as_ref().map(|c| c.client_id.clone());
        assert_eq!(client, value("client_id"));
        assert_eq!(
            req.client.as_ref().and_then(|c| c.secret.clone()),
            value("client_secret")
        );
    }
}

/// A refusal is a bounded `invalid_request`/`invalid_client` and renders as RFC 6749 JSON.
fn check_refused(err: &tollgate_core::OAuthError) {
    assert!(
        matches!(
            err.kind,
            ErrorKind::InvalidRequest | ErrorKind::InvalidClient
        ),
        "unexpected kind {:?}",
        err.kind
    );
    assert!(err.description.chars().count() <= 300, "long description");
    let style = ErrorStyle {
        status: None,
        json: true,
    };
    let r = Rendered::of(Standard::error_response(err, style));
    assert!(r.status == 400 || r.status == 401, "status {}", r.status);
    let v = r.json();
    assert_eq!(str_field(&v, "error"), Some(err.kind.code()));
    assert_eq!(str_field(&v, "error_description"), Some(&*err.description));
}

fn check(body: &[u8], auth: Authorization) {
    let basic = matches!(auth, Authorization::Basic(..));
    match read(body, auth) {
        Ok(req) => check_accepted(body, &req, basic),
        Err(e) => check_refused(&e),
    }
}

#[derive(Arbitrary, Debug)]
struct Fields {
    values: Vec<(u8, Option<String>)>,
    basic: Option<(String, String)>,
    mutation: Mutation,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    None,
    RepeatFirst,
    Unknown(String),
    Number(u8),
}

/// Builds a body from fields, checks it round trips, then breaks it and checks it is refused.
fn structured(fields: Fields) {
    let mut map = Map::new();
    for (i, v) in fields.values.into_iter().take(16) {
        let name = FIELDS[usize::from(i) % FIELDS.len()];
        map.insert(name.to_owned(), v.map_or(Value::Null, Value::String));
    }
    let auth = fields
        .basic
        .clone()
        .map_or(Authorization::None, |(u, p)| Authorization::Basic(u, p));
    let rendered = Value::Object(map.clone()).to_string();
    let complete = ["grant_type", "client_id", "client_secret"]
        .iter()
        .all(|n| map.get(*n).and_then(Value::as_str).is_some())
        && map
            .get("grant_type")
            .and_then(Value::as_str)
            .is_some_and(|g| !g.is_empty());
    match read(rendered.as_bytes(), auth.clone()) {
        Ok(req) => check_accepted(rendered.as_bytes(), &req, fields.basic.is_some()),
        Err(e) => {
            assert!(
                !(complete && fields.basic.is_none()),
                "refused a complete body {rendered}: {e}"
            );
            check_refused(&e);
        }
    }
    let broken = match fields.mutation {
        Mutation::None => return,
        Mutation::RepeatFirst => {
            let Some((k, v)) = map.iter().next() else {
                return;
            };
            let inner = rendered.trim_start_matches('{').trim_end_matches('}');
            format!("{{{inner},{}:{v}}}", Value::String(k.clone()))
        }
        Mutation::Unknown(name) => {
            if FIELDS.contains(&name.as_str()) {
                return;
            }
            let mut m = map.clone();
            m.insert(name, Value::String("x".into()));
            Value::Object(m).to_string()
        }
        Mutation::Number(i) => {
            let mut m = map.clone();
            m.insert(
                FIELDS[usize::from(i) % FIELDS.len()].to_owned(),
                Value::from(7),
            );
            Value::Object(m).to_string()
        }
    };
    match read(broken.as_bytes(), auth) {
        Ok(_) => panic!("accepted a broken body {broken}"),
        Err(e) => check_refused(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, Authorization::None);
    check(data, Authorization::Basic("client".into(), "secret".into()));
    if let Ok(fields) = Fields::arbitrary_take_rest(Unstructured::new(data)) {
        structured(fields);
    }
});
