//! The form parser (`params::Params`) with repeated keys, and every dialect's readers on top of
//! it: the token, authorization and device requests.
//!
//! Properties: nothing panics; `one` refuses exactly the names that repeat and returns the
//! single value otherwise; `all` lists the values in order; a form rendered from the parsed
//! pairs parses back to the same pairs; a dialect refuses a request whose single-valued field
//! repeats, and what it accepts is the value sent.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tollgate_core::ErrorKind;
use tollgate_http::dialect::Dialect;
use tollgate_http::dialects::{Standard, TwilioV1, TwilioV2};
use tollgate_http::extract::{Body, Input};
use tollgate_http::params::{Authorization, Params};

/// How often each name occurs, and its values in order, as `form_urlencoded` decodes them.
fn reference(data: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(data) {
        names
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    names
}

fn check_params(p: &Params, names: &BTreeMap<String, Vec<String>>) {
    for (name, values) in names.iter().take(64) {
        assert_eq!(&p.all(name), values, "all({name:?})");
        match p.one(name) {
            Ok(Some(v)) => {
                assert_eq!(values.len(), 1, "one({name:?}) accepted a repeat");
                assert_eq!(v, values[0]);
            }
            Ok(None) => panic!("one({name:?}) lost a present parameter"),
            Err(e) => {
                assert!(values.len() > 1, "one({name:?}) refused a single value");
                assert_eq!(e.kind, ErrorKind::InvalidRequest);
            }
        }
    }
    let absent = "\u{1}absent\u{1}";
    if !names.contains_key(absent) {
        assert!(matches!(p.one(absent), Ok(None)));
        assert!(p.all(absent).is_empty());
    }
}

/// The single value of `name` if it occurs once; `Err` if it repeats.
fn single(names: &BTreeMap<String, Vec<String>>, name: &str) -> Result<Option<String>, ()> {
    match names.get(name).map(Vec::as_slice) {
        None => Ok(None),
        Some([one]) => Ok(Some(one.clone())),
        Some(_) => Err(()),
    }
}

fn repeats(names: &BTreeMap<String, Vec<String>>, fields: &[&str]) -> bool {
    fields
        .iter()
        .any(|f| names.get(*f).is_some_and(|v| v.len() > 1))
}

const STANDARD_TOKEN: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "device_code",
];
const V1_TOKEN: &[&str] = &[
    "GrantType",
    "ClientSid",
    "ClientId",
    "ClientSecret",
    "Scope",
    "Audience",
    "Code",
    "RedirectUri",
    "CodeVerifier",
    "RefreshToken",
    "DeviceCode",
    "DeviceId",
];
const SNAKE_AUTHORIZE: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
];

fn check_dialects(data: &[u8], names: &BTreeMap<String, Vec<String>>) {
    let input = Input {
        auth: Authorization::None,
        query: Params::parse(data),
        body: Body::Form(Params::parse(data)),
        dpop: None,
        path: "/oauth/token".into(),
    };
    check_token_requests(&input, names);
    check_authorize_requests(&input, names);
    check_device_requests(&input, names);
}

/// Every dialect's token request: repeats refused, accepted values the ones sent.
fn check_token_requests(input: &Input, names: &BTreeMap<String, Vec<String>>) {
    let standard = Standard::token_request(input);
    if repeats(names, STANDARD_TOKEN) {
        assert!(standard.is_err(), "standard accepted a repeated field");
    }
    if let Ok(req) = &standard {
        assert_eq!(Ok(req.grant_type.clone()), single(names, "grant_type"));
        assert_eq!(Ok(req.scope.clone()), single(names, "scope"));
        assert_eq!(
            req.audience,
            names.get("audience").cloned().unwrap_or_default()
        );
        assert_eq!(
            req.client.as_ref().map(|c| c.client_id.clone()),
            single(names, "client_id").unwrap_or_default()
        );
    }

    let v2 = TwilioV2::token_request(input);
    if repeats(names, STANDARD_TOKEN) || repeats(names, &["audience", "account_sid", "device_id"]) {
        assert!(v2.is_err(), "twilio v2 accepted a repeated field");
    }
    if let Ok(req) = &v2 {
        assert_eq!(Ok(req.grant_type.clone()), single(names, "grant_type"));
        // The same form is the query here, so the two account_sid sources always agree.
        assert_eq!(Ok(req.account_sid.clone()), single(names, "account_sid"));
    }

    let v1 = TwilioV1::token_request(input);
    if repeats(names, V1_TOKEN) {
        assert!(v1.is_err(), "twilio v1 accepted a repeated field");
    }
    if let Ok(req) = &v1 {
        assert_eq!(Ok(req.grant_type.clone()), single(names, "GrantType"));
        let sid = single(names, "ClientSid").ok().flatten();
        let id = single(names, "ClientId").ok().flatten();
        if let (Some(a), Some(b)) = (&sid, &id) {
            assert_eq!(a, b, "v1 accepted ClientSid and ClientId that disagree");
        }
        assert_eq!(req.client.as_ref().map(|c| c.client_id.clone()), sid.or(id));
    }
}

/// Every dialect's authorization request parameters.
fn check_authorize_requests(input: &Input, names: &BTreeMap<String, Vec<String>>) {
    for (parsed, name) in [
        (Standard::authorize_params(&input.query), "standard"),
        (TwilioV2::authorize_params(&input.query), "twilio v2"),
    ] {
        if repeats(names, SNAKE_AUTHORIZE) {
            assert!(
                parsed.is_err(),
                "{name} authorize accepted a repeated field"
            );
        }
        if let Ok(a) = parsed {
            assert_eq!(Ok(a.client_id), single(names, "client_id"));
            assert_eq!(Ok(a.state), single(names, "state"));
            assert_eq!(Ok(a.redirect_uri), single(names, "redirect_uri"));
        }
    }
    if let Ok(a) = TwilioV1::authorize_params(&input.query) {
        assert_eq!(Ok(a.state), single(names, "State"));
    }
}

/// The device authorization requests of the dialects that read their own.
fn check_device_requests(input: &Input, names: &BTreeMap<String, Vec<String>>) {
    if let Ok(d) = Standard::device_request(input) {
        assert_eq!(
            d.audiences,
            names.get("audience").cloned().unwrap_or_default()
        );
    }
    if let Ok(d) = TwilioV1::device_request(input) {
        assert_eq!(d.scopes, names.get("Scopes").cloned().unwrap_or_default());
        assert!(d.scopes.iter().any(|s| !s.trim().is_empty()));
    }
}

fuzz_target!(|data: &[u8]| {
    let names = reference(data);
    let parsed = Params::parse(data);
    check_params(&parsed, &names);

    // Render the decoded pairs as a form again: it parses back to the same pairs.
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(form_urlencoded::parse(data));
    let rendered = form.finish();
    assert_eq!(
        reference(rendered.as_bytes()),
        names,
        "re-encoded form differs"
    );
    check_params(&Params::parse(rendered.as_bytes()), &names);

    check_dialects(data, &names);
});
