//! `Authorization` header parsing: HTTP Basic client credentials (`params::authorization`,
//! with Twilio's account split) and RFC 6750 bearer tokens (the userinfo lookup).
//!
//! Properties: nothing panics; a missing header is no credentials, a repeated one is refused;
//! Basic is only read from a `Basic` scheme and is then split by Account SID; a bearer token is
//! never empty or padded and comes from exactly one place; credentials rendered into a header
//! (form-encoded, base64, any scheme case) parse back to the same user, password and token.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use tollgate_core::ErrorKind;
use tollgate_core::ids::AccountSid;
use tollgate_http::fuzzing::bearer;
use tollgate_http::params::{Authorization, Params, authorization};

#[derive(Arbitrary, Debug)]
struct Case {
    /// Raw `Authorization` values (zero, one or several).
    values: Vec<Vec<u8>>,
    /// A form body for the bearer lookup (`access_token=…`).
    form: Option<Vec<u8>>,
    /// Credentials to render into a header and read back.
    user: String,
    pass: String,
    token: String,
    scheme_case: u8,
    spaces: u8,
}

fn headers_of(values: &[Vec<u8>]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values.iter().take(3) {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            h.append(header::AUTHORIZATION, v);
        }
    }
    h
}

/// A single header, if `value` is one a client can send as text (visible ASCII).
fn one_header(value: &str) -> Option<HeaderMap> {
    let v = HeaderValue::from_str(value).ok()?;
    v.to_str().ok()?;
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, v);
    Some(h)
}

fn scheme(name: &str, case: u8) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            if case >> (i % 8) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The first `Authorization` header as text, or "".
fn header_text(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn check_raw(case: &Case) {
    let headers = headers_of(&case.values);
    let count = headers.get_all(header::AUTHORIZATION).iter().count();
    check_basic(&headers, count);
    let form = case.form.as_deref().map(Params::parse);
    check_bearer(&headers, count, form.as_ref());
}

/// Basic credentials: only from a `Basic` scheme, never from a repeated header, split by
/// Account SID.
fn check_basic(headers: &HeaderMap, count: usize) {
    let parsed = authorization(headers);
    match &parsed {
        Ok(Authorization::Basic(..)) => {
            let v = header_text(headers);
            assert!(
                v.trim().len() > 5 && v.trim()[..5].eq_ignore_ascii_case("basic"),
                "Basic read from {v:?}"
            );
        }
        Ok(_) => {}
        Err(e) => assert!(
            matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::InvalidClient),
            "{e}"
        ),
    }
    match count {
        0 => assert_eq!(parsed, Ok(Authorization::None)),
        1 => {}
        _ => assert!(parsed.is_err(), "a repeated Authorization header was read"),
    }
    if let Ok(auth) = &parsed {
        check_account_split(auth);
    }
}

/// Basic credentials whose user is an Account SID are the account's, any others the client's.
fn check_account_split(auth: &Authorization) {
    let (account, client) = auth.split_account();
    match auth {
        Authorization::Basic(user, pass) => {
            assert_eq!(auth.basic(), Some((user.clone(), pass.clone())));
            if AccountSid::parse(user).is_ok() {
                assert_eq!(account, Some((user.clone(), pass.clone())));
                assert_eq!(client, None);
            } else {
                assert_eq!(account, None);
                assert_eq!(client, Some((user.clone(), pass.clone())));
            }
        }
        Authorization::None | Authorization::Other => {
            assert_eq!((account, client, auth.basic()), (None, None, None));
        }
    }
}

/// A bearer token is never empty or padded and comes from exactly one place.
fn check_bearer(headers: &HeaderMap, count: usize, form: Option<&Params>) {
    match bearer(headers, form) {
        Ok(token) => {
            assert!(!token.is_empty(), "empty bearer token");
            // A blank `access_token=` counts as none.
            let from_form = form
                .and_then(|f| f.one("access_token").ok().flatten())
                .filter(|t| !t.trim().is_empty());
            match from_form {
                Some(t) => {
                    assert_eq!(t, token);
                    assert_eq!(count, 0, "a token in the header and in the form");
                }
                None => {
                    assert_eq!(token, token.trim(), "padded bearer token");
                    let v = header_text(headers);
                    assert!(v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
                    assert_eq!(v[7..].trim(), token);
                }
            }
        }
        Err(e) => assert!(
            matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::InvalidToken),
            "{e}"
        ),
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn check_round_trip(case: &Case) {
    let pad = " ".repeat(usize::from(case.spaces % 3));
    let raw = STANDARD.encode(format!("{}:{}", encode(&case.user), encode(&case.pass)));
    let basic = format!("{pad}{} {raw}{pad}", scheme("Basic", case.scheme_case));
    if let Some(h) = one_header(&basic) {
        assert_eq!(
            authorization(&h),
            Ok(Authorization::Basic(case.user.clone(), case.pass.clone())),
            "{basic:?}"
        );
    }

    let token = case.token.trim();
    if token.is_empty() {
        return;
    }
    let value = format!("{} {pad}{token}{pad}", scheme("Bearer", case.scheme_case));
    if let Some(h) = one_header(&value) {
        assert_eq!(bearer(&h, None).ok().as_deref(), Some(token), "{value:?}");
        assert_eq!(authorization(&h), Ok(Authorization::Other));
        let form = Params::parse(format!("access_token={}", encode(token)).as_bytes());
        let both = bearer(&h, Some(&form));
        assert!(both.is_err(), "a token in the header and in the form");
        assert_eq!(
            bearer(&HeaderMap::new(), Some(&form)).ok().as_deref(),
            Some(token)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_raw(&case);
    check_round_trip(&case);
});
