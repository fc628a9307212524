//! Request parsing shared by the dialects: form bodies with repeated-parameter detection,
//! HTTP Basic credentials, content types.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::ids::AccountSid;

/// Decoded `application/x-www-form-urlencoded` pairs, in order.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub const fn empty() -> Self {
        Self(Vec::new())
    }

    pub fn parse(raw: &[u8]) -> Self {
        Self(
            raw.split(|b| *b == b'&')
                .filter(|pair| !pair.is_empty())
                .map(decode_pair)
                .collect(),
        )
    }

    /// The one value of a parameter. RFC 6749 section 3.2: parameters must not repeat.
    pub fn one(&self, name: &str) -> Result<Option<String>, OAuthError> {
        let mut found = self.0.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.clone());
        if found.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(first)
    }

    /// The first of several names that is present (synonyms); two different values are refused.
    pub fn one_of(&self, names: &[&str]) -> Result<Option<String>, OAuthError> {
        let mut value: Option<String> = None;
        for name in names {
            if let Some(v) = self.one(name)? {
                match &value {
                    Some(prev) if prev != &v => {
                        return Err(OAuthError::invalid_request(format!(
                            "parameters {} disagree",
                            names.join(" and ")
                        )));
                    }
                    _ => value = Some(v),
                }
            }
        }
        Ok(value)
    }

    /// The one value of each of several parameters, read in order.
    pub fn ones<const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<[Option<String>; N], OAuthError> {
        let mut values = [const { None }; N];
        for (value, name) in values.iter_mut().zip(names) {
            *value = self.one(name)?;
        }
        Ok(values)
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// One `name=value` pair. Tokens, ids and secrets rarely need decoding, so a pair with no
/// `%` or `+` is copied as it is; any other goes through `form_urlencoded`, which the
/// result always equals.
fn decode_pair(pair: &[u8]) -> (String, String) {
    if memchr::memchr2(b'%', b'+', pair).is_none()
        && let Ok(text) = std::str::from_utf8(pair)
    {
        let (k, v) = text.split_once('=').unwrap_or((text, ""));
        return (k.to_owned(), v.to_owned());
    }
    form_urlencoded::parse(pair)
        .next()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .unwrap_or_default()
}

/// An authorization request in RFC 6749's snake_case names (the standard and v2 dialects).
pub fn snake_case_authorize(p: &Params) -> Result<AuthorizeParams, OAuthError> {
    let names = [
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "prompt",
        "code_challenge",
        "code_challenge_method",
        "resource",
        "acr_values",
    ];
    let base = authorize_request(p, names, || p.one("client_id"), Some("request_uri"))?;
    Ok(AuthorizeParams {
        max_age: p.one("max_age")?,
        response_mode: p.one("response_mode")?,
        dpop_jkt: p.one("dpop_jkt")?,
        request: p.one("request")?,
        ..base
    })
}

/// An authorization request's fields as a dialect names them: `response_type`,
/// `redirect_uri`, `scope`, `state`, `nonce`, `prompt`, `code_challenge`,
/// `code_challenge_method`, `resource` and `acr_values`. `client_id` reads the client's id
/// after the response type; `request_uri` (RFC 9126) is read where the dialect has one.
pub fn authorize_request(
    p: &Params,
    names: [&str; 10],
    client_id: impl FnOnce() -> Result<Option<String>, OAuthError>,
    request_uri: Option<&str>,
) -> Result<AuthorizeParams, OAuthError> {
    let [response_type, redirect, scope, state, nonce, rest @ ..] = names;
    let [prompt, challenge, method, resource, acr] = rest;
    let response_type = p.one(response_type)?;
    let client_id = client_id()?;
    let read = [redirect, scope, state, nonce, challenge, method, prompt];
    let [redirect_uri, scope, state, nonce, challenge, method, prompt] = p.ones(read)?;
    Ok(AuthorizeParams {
        response_type,
        client_id,
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: method,
        prompt,
        resource: p.all(resource),
        request_uri: request_uri.map(|n| p.one(n)).transpose()?.flatten(),
        acr_values: p.one(acr)?,
        ..AuthorizeParams::default()
    })
}

/// RFC 6749's token request fields in snake_case, as [`token_request`] takes them.
pub const SNAKE_CASE_TOKEN: [&str; 9] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "device_code",
    "scope",
    "audience",
    "resource",
];

/// A token request's fields as a dialect names them: `grant_type`, `code`, `redirect_uri`,
/// `code_verifier`, `refresh_token`, `device_code`, `scope`, `audience` and `resource`
/// (the grant's fields, then what the token is for). `client`
/// reads the client's credentials after the grant type; an `audience` that may repeat is a
/// list (RFC 8707), else one value; `device_id` is read where the dialect has one.
pub fn token_request(
    p: &Params,
    names: [&str; 9],
    client: impl FnOnce() -> Result<Option<ClientAuth>, OAuthError>,
    audiences: bool,
    device_id: Option<&str>,
) -> Result<TokenRequest, OAuthError> {
    let [
        grant_type,
        code,
        redirect_uri,
        verifier,
        refresh,
        device,
        rest @ ..,
    ] = names;
    let [scope, audience, resource] = rest;
    Ok(TokenRequest {
        grant_type: p.one(grant_type)?,
        client: client()?,
        scope: p.one(scope)?,
        audience: if audiences {
            p.all(audience)
        } else {
            p.one(audience)?.into_iter().collect()
        },
        code: p.one(code)?,
        redirect_uri: p.one(redirect_uri)?,
        code_verifier: p.one(verifier)?,
        refresh_token: p.one(refresh)?,
        device_code: p.one(device)?,
        device_id: device_id.map(|n| p.one(n)).transpose()?.flatten(),
        resource: p.all(resource),
        ..TokenRequest::default()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Form,
    Json,
    Other,
    Missing,
}

pub fn body_type(headers: &HeaderMap) -> BodyType {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return BodyType::Missing;
    };
    let Ok(ct) = ct.to_str() else {
        return BodyType::Other;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => BodyType::Form,
        "application/json" => BodyType::Json,
        _ => BodyType::Other,
    }
}

/// An HTTP Basic user and password.
pub type UserPass = (String, String);

/// What the `Authorization` header carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    None,
    /// HTTP Basic, user and password already form-decoded (RFC 6749 section 2.3.1).
    Basic(String, String),
    /// Another scheme; the token endpoints ignore it.
    Other,
}

impl Authorization {
    /// HTTP Basic user and password, if that is what the header carried.
    pub fn basic(&self) -> Option<(String, String)> {
        match self {
            Authorization::Basic(user, pass) => Some((user.clone(), pass.clone())),
            _ => None,
        }
    }

    /// Twilio's rule for HTTP Basic: a user that is an Account SID carries account
    /// credentials (`AccountSid:AuthToken`); any other user is a client. Returns
    /// `(account credentials, client credentials)`.
    pub fn split_account(&self) -> (Option<UserPass>, Option<UserPass>) {
        match self {
            Authorization::Basic(user, pass) if AccountSid::parse(user).is_ok() => {
                (Some((user.clone(), pass.clone())), None)
            }
            Authorization::Basic(user, pass) => (None, Some((user.clone(), pass.clone()))),
            Authorization::None | Authorization::Other => (None, None),
        }
    }
}

pub fn authorization(headers: &HeaderMap) -> Result<Authorization, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(Authorization::None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "the Authorization header is repeated",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?
        .trim();
    if value.is_empty() {
        return Ok(Authorization::None);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(Authorization::Other);
    }
    let malformed = || OAuthError::invalid_client("malformed HTTP Basic credentials");
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (user, pass) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Authorization::Basic(form_decode(user), form_decode(pass)))
}

fn form_decode(s: &str) -> String {
    // Nothing to decode (the usual case): skip the parser's allocation and formatting.
    if memchr::memchr3(b'%', b'+', b'&', s.as_bytes()).is_none() {
        return s.to_owned();
    }
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Combines HTTP Basic (`client_secret_basic`) with body credentials (`client_secret_post`).
/// Using both methods at once is refused (RFC 6749 section 2.3).
pub fn client_auth(
    basic: Option<(String, String)>,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> Result<Option<ClientAuth>, OAuthError> {
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "client credentials were sent both in the Authorization header and in the body; use one method",
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => Err(OAuthError::invalid_request(
            "client_id in the body does not match the Authorization header",
        )),
        (Some((id, secret)), _, None) => Ok(Some(ClientAuth::with_secret(id, Some(secret)))),
        (None, Some(id), secret) => Ok(Some(ClientAuth::with_secret(id, secret))),
        (None, None, Some(_)) => Err(OAuthError::invalid_client(
            "client_secret given without client_id",
        )),
        (None, None, None) => Ok(None),
    }
}

/// [`client_auth`], or an RFC 7523 `client_assertion` (with its `client_assertion_type`),
/// which excludes every other method.
pub fn client_auth_or_assertion(
    basic: Option<(String, String)>,
    body_id: Option<String>,
    body_secret: Option<String>,
    assertion_type: Option<String>,
    assertion: Option<String>,
) -> Result<Option<ClientAuth>, OAuthError> {
    use tollgate_core::client_assertion::JWT_BEARER;
    if assertion.is_none() && assertion_type.is_none() {
        return client_auth(basic, body_id, body_secret);
    }
    if basic.is_some() || body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "a client_assertion excludes other client credentials; use one method",
        ));
    }
    if assertion_type.as_deref() != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_request(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let assertion = assertion
        .filter(|a| !a.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
    Ok(Some(ClientAuth {
        client_id: body_id.unwrap_or_default(),
        secret: None,
        assertion: Some(assertion),
        endpoint: None,
    }))
}

/// Client credentials in RFC 6749's snake_case form names, assertions included.
pub fn snake_case_client(
    basic: Option<(String, String)>,
    p: &Params,
) -> Result<Option<ClientAuth>, OAuthError> {
    client_auth_or_assertion(
        basic,
        p.one("client_id")?,
        p.one("client_secret")?,
        p.one("client_assertion_type")?,
        p.one("client_assertion")?,
    )
}

/// The `DPoP` header (RFC 9449 section 4.1): at most one.
pub fn dpop_header(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            tollgate_core::ErrorKind::InvalidDpopProof,
            "send one DPoP header",
        ));
    }
    let v = first.to_str().map_err(|_| {
        OAuthError::new(
            tollgate_core::ErrorKind::InvalidDpopProof,
            "the DPoP header is not a JWT",
        )
    })?;
    Ok(Some(v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_form_parsing_agrees_with_form_urlencoded() {
        for raw in [
            "a=b&c=d",
            "a=b%20c&d=e+f",
            "&&a=&=b&c&d==e&",
            "token=eyJhbGciOi.eyJzdWIi.sig-_&x=%E2%82%AC",
            "bad=%ff%fe&ok=1",
            "k%3D=v%26",
        ] {
            let ours = super::Params::parse(raw.as_bytes()).0;
            let theirs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, theirs, "{raw}");
        }
    }

    proptest::proptest! {
        /// Any body, including broken escapes and invalid UTF-8, parses as form_urlencoded does.
        #[test]
        fn form_parsing_equals_form_urlencoded(raw in proptest::collection::vec(
            proptest::sample::select(b"ab=&%+2F0\xff\xc3\xa9".to_vec()), 0..40)) {
            let ours = super::Params::parse(&raw).0;
            let theirs: Vec<(String, String)> = form_urlencoded::parse(&raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn repeated_parameter_is_refused_but_repeatable_ones_are_listed() {
        let p = Params::parse(b"a=1&b=2&a=3&Scopes=x&Scopes=y");
        assert!(p.one("a").is_err());
        assert_eq!(p.one("b").ok().flatten().as_deref(), Some("2"));
        assert_eq!(p.all("Scopes"), vec!["x", "y"]);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let raw = STANDARD.encode("OQ%2Bx:s%3Ae+t");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {raw}")).unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(
            authorization(&h).ok(),
            Some(Authorization::Basic("OQ+x".into(), "s:e t".into()))
        );
    }

    #[test]
    fn basic_credentials_without_escapes_pass_through() {
        for (raw, user, pass) in [
            ("OQabc:s3cr.t_-~=", "OQabc", "s3cr.t_-~="),
            // A bare `&` ends the value, as a form parser reads it.
            ("OQabc:a&b", "OQabc", "a"),
        ] {
            let mut h = HeaderMap::new();
            let value = format!("Basic {}", STANDARD.encode(raw));
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("")),
            );
            assert_eq!(
                authorization(&h).ok(),
                Some(Authorization::Basic(user.into(), pass.into())),
                "{raw}"
            );
        }
    }
}
