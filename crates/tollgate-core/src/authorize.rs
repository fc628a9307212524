//! The authorization endpoint's request (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1, PKCE).

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::{Host, Url};

use crate::error::{ErrorKind, OAuthError};
use crate::ids::ClientId;
use crate::model::{Client, GrantType};
use crate::scope;

/// Scopes every authorization-code client may ask for without registering them.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Parameters as a dialect found them (and as a pushed request stores them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    /// RFC 8707 resource indicators.
    pub resource: Vec<String>,
    /// RFC 9126: a pushed request stands in for the other parameters.
    pub request_uri: Option<String>,
    /// OIDC Core 3.1.2.1: the longest time since sign-in the client accepts, in seconds.
    pub max_age: Option<String>,
    /// OAuth 2.0 Multiple Response Types / Form Post: how the response is delivered.
    pub response_mode: Option<String>,
    /// RFC 9449 section 10: the key thumbprint the code is bound to.
    pub dpop_jkt: Option<String>,
    /// RFC 9101: the request as a signed JWT (a request object) by value.
    pub request: Option<String>,
    /// Set by the engine alone, once these parameters came out of a verified request object.
    pub from_request_object: bool,
    /// OIDC Core section 3.1.2.1: the sign-in strengths asked for, in order of preference.
    pub acr_values: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request whose client and redirect URI are trusted.
#[derive(Debug, Clone)]
pub struct ValidAuthorization {
    pub client: Arc<Client>,
    /// Where to send the browser back.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must repeat it).
    pub redirect_uri_given: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub resources: Vec<String>,
    /// The pushed request this came from; spent when the code is issued.
    pub pushed: Option<crate::secret::SecretDigest>,
    /// OIDC Core 3.1.2.1 `max_age` (seconds).
    pub max_age: Option<i64>,
    pub response_mode: crate::oidc_params::ResponseMode,
    /// RFC 9449 section 10: the code may only be redeemed with a proof of this key.
    pub dpop_jkt: Option<String>,
    /// Requested `acr` values (a voluntary claim: a sign-in that meets none is still accepted
    /// once a fresh sign-in could not do better).
    pub acr_values: Vec<String>,
    /// The client's metadata document, when its `client_id` is the document's URL.
    pub document: Option<Arc<crate::metadata_document::DocumentClient>>,
}

/// Before the redirect URI is trusted an error is shown as a page; after, it is redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    Page(String),
    Redirect(String),
}

/// What [`check`] refuses: a page message, or an error for the (trusted) redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Page(String),
    Redirect(String, OAuthError),
}

impl From<Refusal> for AuthorizeError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Page(m) => AuthorizeError::Page(m),
            Refusal::Redirect(url, _) => AuthorizeError::Redirect(url),
        }
    }
}

impl Refusal {
    /// The error as a direct (PAR endpoint) answer.
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Refusal::Page(m) => OAuthError::invalid_request(m),
            Refusal::Redirect(_, e) => e,
        }
    }
}

const MAX_PARAM: usize = 2048;

/// RFC 8252 section 7.3: loopback redirect URIs match on any port.
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(r), Ok(q)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &Url| match u.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    };
    r.scheme() == "http"
        && q.scheme() == "http"
        && loopback(&r)
        && r.host() == q.host()
        && r.path() == q.path()
        && r.query() == q.query()
        && q.fragment().is_none()
        && q.username().is_empty()
        && q.password().is_none()
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref())
}

/// RFC 7636 section 4.1: 43 to 128 unreserved characters.
pub fn valid_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Appends parameters to a redirect URI, keeping any query it already has.
pub fn redirect_with(base: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(base) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

impl ValidAuthorization {
    /// Where to send the browser with an error.
    pub fn error_redirect(&self, issuer: &str, err: &OAuthError) -> String {
        let mut params = vec![
            ("error", err.kind.code()),
            ("error_description", err.description.as_ref()),
        ];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        params.push(("iss", issuer));
        self.response_mode.deliver(&self.redirect_uri, &params)
    }
}

pub(crate) fn check(
    params: &AuthorizeParams,
    lookup: impl Fn(&ClientId) -> Option<Arc<Client>>,
    may_name_resource: impl Fn(&Client, &str) -> bool,
    issuer: &str,
) -> Result<ValidAuthorization, Refusal> {
    let (client, redirect_uri, given) =
        trusted_redirect(params, lookup).map_err(|m| Refusal::Page(m.to_owned()))?;
    let mut valid = ValidAuthorization::trusted(params, client, redirect_uri, given);
    if valid.state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(Refusal::Page("The state parameter is too long.".to_owned()));
    }
    // Once the redirect URI is trusted, errors too go back in the requested mode.
    valid.response_mode = crate::oidc_params::response_mode(params)
        .map_err(|m| valid.refusal(issuer, ErrorKind::InvalidRequest, m))?;
    check_response_type(params, &valid, issuer)?;
    if !valid.client.allows(GrantType::AuthorizationCode) {
        return Err(valid.refusal(
            issuer,
            ErrorKind::UnauthorizedClient,
            "this client may not use the authorization_code grant",
        ));
    }
    valid.scopes = allowed_scopes(params, &valid, issuer)?;
    check_request_details(params, &mut valid)
        .map_err(|m| valid.refusal(issuer, ErrorKind::InvalidRequest, m))?;
    valid.resources = named_resources(params, &valid, may_name_resource, issuer)?;
    crate::oidc_params::extend(params, &mut valid)
        .map_err(|m| valid.refusal(issuer, ErrorKind::InvalidRequest, m))?;
    Ok(valid)
}

impl ValidAuthorization {
    /// The request's own values, with the client and redirect URI just trusted; the rest is
    /// filled in as [`check`] accepts each parameter.
    fn trusted(
        params: &AuthorizeParams,
        client: Arc<Client>,
        redirect_uri: String,
        redirect_uri_given: bool,
    ) -> Self {
        ValidAuthorization {
            client,
            redirect_uri,
            redirect_uri_given,
            scopes: Vec::new(),
            state: params.state.clone().filter(|s| !s.is_empty()),
            nonce: params.nonce.clone().filter(|s| !s.is_empty()),
            code_challenge: None,
            prompt: Prompt::default(),
            resources: Vec::new(),
            pushed: None,
            max_age: None,
            response_mode: crate::oidc_params::ResponseMode::default(),
            dpop_jkt: None,
            acr_values: Vec::new(),
            document: None,
        }
    }

    /// An error sent back to the (trusted) redirect URI.
    fn refusal(&self, issuer: &str, kind: ErrorKind, msg: &str) -> Refusal {
        let err = OAuthError::new(kind, msg.to_owned());
        Refusal::Redirect(self.error_redirect(issuer, &err), err)
    }
}

/// The requested scopes, each one the client registered or an OpenID Connect scope.
fn allowed_scopes(
    params: &AuthorizeParams,
    valid: &ValidAuthorization,
    issuer: &str,
) -> Result<Vec<String>, Refusal> {
    let scopes = scope::parse(params.scope.as_deref().unwrap_or_default())
        .map_err(|e| valid.refusal(issuer, ErrorKind::InvalidScope, &e.to_string()))?;
    if let Some(bad) = scopes
        .iter()
        .find(|s| !valid.client.scopes.contains(s) && !OIDC_SCOPES.contains(&s.as_str()))
    {
        return Err(valid.refusal(
            issuer,
            ErrorKind::InvalidScope,
            &format!("scope {bad:?} is not allowed for this client"),
        ));
    }
    Ok(scopes)
}

/// `nonce`, PKCE, `prompt` and `acr_values`; the `invalid_request` description otherwise.
fn check_request_details(
    params: &AuthorizeParams,
    valid: &mut ValidAuthorization,
) -> Result<(), &'static str> {
    if valid.nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
        return Err("nonce is too long");
    }
    valid.code_challenge = code_challenge(params, &valid.client)?;
    valid.prompt = prompt(params)?;
    let acr_values = params.acr_values.as_deref().unwrap_or_default();
    if acr_values.len() > MAX_PARAM {
        return Err("acr_values is too long");
    }
    valid.acr_values = crate::scope::tokens(acr_values);
    Ok(())
}

/// RFC 8707: the resources named (each once), every one the client may ask for.
fn named_resources(
    params: &AuthorizeParams,
    valid: &ValidAuthorization,
    may_name_resource: impl Fn(&Client, &str) -> bool,
    issuer: &str,
) -> Result<Vec<String>, Refusal> {
    let mut resources: Vec<String> = Vec::new();
    for r in params.resource.iter().filter(|r| !r.is_empty()) {
        if !may_name_resource(&valid.client, r) {
            return Err(valid.refusal(
                issuer,
                ErrorKind::InvalidTarget,
                "resource is not registered for this client",
            ));
        }
        if !resources.contains(r) {
            resources.push(r.clone());
        }
    }
    Ok(resources)
}

/// The client and the redirect URI to trust, with whether the request named it; the message
/// of the page to show when either cannot be trusted.
fn trusted_redirect(
    params: &AuthorizeParams,
    lookup: impl Fn(&ClientId) -> Option<Arc<Client>>,
) -> Result<(Arc<Client>, String, bool), &'static str> {
    let client_id = params
        .client_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or("The request has no client_id.")?;
    let client = ClientId::parse(client_id)
        .ok()
        .and_then(|id| lookup(&id))
        .ok_or("The application that sent you here is not registered.")?;
    match params.redirect_uri.as_deref().filter(|s| !s.is_empty()) {
        Some(uri) => {
            if uri.len() > MAX_PARAM
                || !client
                    .redirect_uris
                    .iter()
                    .any(|r| redirect_uri_matches(r, uri))
            {
                return Err("The redirect URI is not registered for this application.");
            }
            Ok((client, uri.to_owned(), true))
        }
        None => match client.redirect_uris.as_slice() {
            [only] => {
                let only = only.clone();
                Ok((client, only, false))
            }
            _ => Err("The request has no redirect_uri."),
        },
    }
}

/// Only `response_type=code`; any other goes back as `unsupported_response_type`.
fn check_response_type(
    params: &AuthorizeParams,
    valid: &ValidAuthorization,
    issuer: &str,
) -> Result<(), Refusal> {
    match params.response_type.as_deref() {
        Some("code") => Ok(()),
        None | Some("") => Err(valid.refusal(
            issuer,
            ErrorKind::InvalidRequest,
            "response_type is required",
        )),
        Some(_) => {
            let err = OAuthError::new(
                ErrorKind::InvalidRequest,
                "only response_type=code is supported",
            );
            let url = valid.response_mode.deliver(
                &valid.redirect_uri,
                &[
                    ("error", "unsupported_response_type"),
                    ("error_description", &err.description),
                    ("state", valid.state.as_deref().unwrap_or_default()),
                    ("iss", issuer),
                ],
            );
            Err(Refusal::Redirect(url, err))
        }
    }
}

/// The S256 PKCE challenge, if any; the `invalid_request` description otherwise.
fn code_challenge(
    params: &AuthorizeParams,
    client: &Client,
) -> Result<Option<String>, &'static str> {
    match (
        params.code_challenge.as_deref().filter(|s| !s.is_empty()),
        params.code_challenge_method.as_deref(),
    ) {
        (_, Some("plain")) => Err("code_challenge_method plain is not allowed; use S256"),
        (_, Some(m)) if m != "S256" => Err("code_challenge_method must be S256"),
        // RFC 7636 section 4.3: without a method the challenge is `plain`, which is not
        // allowed; refuse rather than reinterpret it as S256.
        (Some(_), None) => Err("code_challenge_method is required (S256); plain is not allowed"),
        (Some(c), Some(_)) => {
            if c.len() != 43 || !valid_pkce_string_lenient(c) {
                return Err("code_challenge is not a base64url SHA-256 value");
            }
            Ok(Some(c.to_owned()))
        }
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (None, None) if client.requires_pkce() => {
            Err("this client must use PKCE (code_challenge with S256)")
        }
        (None, None) => Ok(None),
    }
}

/// The `prompt` values; the `invalid_request` description when one is unknown or `none` is
/// combined with another.
fn prompt(params: &AuthorizeParams) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    for p in params
        .prompt
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        match p {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per session: choosing an account means signing in again, as
            // Keycloak treats it.
            "select_account" => prompt.login = true,
            _ => return Err("unknown prompt value"),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

fn valid_pkce_string_lenient(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_may_vary_but_nothing_else() {
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53111/cb"
        ));
        assert!(redirect_uri_matches(
            "http://[::1]:80/cb",
            "http://[::1]:9/cb"
        ));
        assert!(redirect_uri_matches(
            "https://app.example/cb",
            "https://app.example/cb"
        ));
        assert!(!redirect_uri_matches(
            "https://app.example/cb",
            "https://app.example:444/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.2/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://evil@127.0.0.1/cb"
        ));
        assert!(!redirect_uri_matches(
            "https://app.example/cb",
            "https://app.example/cb/../x"
        ));
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
