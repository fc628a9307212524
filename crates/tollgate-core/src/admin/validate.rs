//! What makes a client's or a user's settings acceptable, field by field, so a form can show
//! each problem next to its field and the service can refuse the first one.

use super::clients::ClientSpec;
use super::users::UserSpec;
use super::{AdminError, AdminResult};
use crate::model::{Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat};
use crate::scope;

/// The longest access-token lifetime a client may ask for: 30 days.
pub const MAX_ACCESS_TOKEN_TTL: u32 = 30 * 24 * 3600;

pub(super) fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub(super) fn normalise_grants(spec: &ClientSpec) -> AdminResult<Vec<GrantType>> {
    let mut grants = spec.grant_types.clone();
    if grants.is_empty() {
        grants = if spec.public {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            vec![GrantType::ClientCredentials]
        };
    }
    grants.sort();
    grants.dedup();
    Ok(grants)
}

pub(super) fn auth_method(spec: &ClientSpec) -> AdminResult<TokenEndpointAuthMethod> {
    let default = match (spec.public, spec.profile) {
        (true, _) => TokenEndpointAuthMethod::None,
        (false, ClientProfile::Fapi2) => TokenEndpointAuthMethod::PrivateKeyJwt,
        (false, ClientProfile::Default) => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let method = spec.auth_method.unwrap_or(default);
    if spec.public != (method == TokenEndpointAuthMethod::None) {
        return Err(AdminError::Invalid(
            "token_endpoint_auth_method none is for public clients, and only for them".into(),
        ));
    }
    check_security(
        method,
        spec.jwks.as_deref(),
        spec.jwks_uri.as_deref(),
        spec.profile,
        spec.token_format,
    )?;
    Ok(method)
}

/// Keys for private_key_jwt, and what the FAPI 2.0 profile demands of a client.
pub(super) fn check_client_security(c: &Client) -> AdminResult<()> {
    check_security(
        c.auth_method,
        c.jwks.as_deref(),
        c.jwks_uri.as_deref(),
        c.profile,
        c.token_format,
    )
}

fn check_security(
    method: TokenEndpointAuthMethod,
    jwks: Option<&str>,
    jwks_uri: Option<&str>,
    profile: ClientProfile,
    format: TokenFormat,
) -> AdminResult<()> {
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(AdminError::Invalid(
            "give jwks or jwks_uri, not both".into(),
        ));
    }
    if let Some(doc) = jwks {
        crate::jose::parse_jwks(doc).map_err(AdminError::Invalid)?;
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(AdminError::Invalid(
            "private_key_jwt needs the client's public keys: jwks or jwks_uri".into(),
        ));
    }
    if profile == ClientProfile::Fapi2 {
        if method != TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(AdminError::Invalid(
                "the fapi2 profile allows only private_key_jwt client authentication".into(),
            ));
        }
        if format != TokenFormat::Jwt {
            return Err(AdminError::Invalid(
                "the fapi2 profile issues DPoP-bound JWT access tokens, not opaque ones".into(),
            ));
        }
    }
    Ok(())
}

pub(super) fn check_text(what: &str, s: &str) -> AdminResult<()> {
    if s.trim().is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{what} must be 1 to 255 printable characters"
        )));
    }
    Ok(())
}

/// RFC 8252 and the OAuth security BCP: `https`; `http` only on a loopback host; or a native
/// app's private-use scheme (reverse domain name, with a dot). Script, data and file URLs and
/// plain http to other hosts are refused.
pub fn redirect_uri_allowed(uri: &url::Url) -> Result<(), &'static str> {
    match uri.scheme() {
        "https" => Ok(()),
        "http" => match uri.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("plain http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)"),
        },
        "javascript" | "data" | "file" | "blob" | "vbscript" | "about" | "ws" | "wss" => {
            Err("this scheme cannot be a redirect target")
        }
        s if s.contains('.') => Ok(()),
        _ => Err(
            "use https, http on a loopback host, or a private-use scheme such as com.example.app",
        ),
    }
}

/// What is wrong with one field of a client or user, by the admin API's field name, so a form
/// can show each problem next to its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

fn text_problem(field: &'static str, what: &str, s: &str) -> Option<FieldError> {
    check_text(what, s)
        .err()
        .map(|e| problem(field, e.to_string()))
}

/// The first of `uris` that is no absolute redirect URI we accept; `fragment_rule` cites why a
/// fragment is refused.
fn uri_problem(
    field: &'static str,
    what: &str,
    fragment_rule: &str,
    uris: &[String],
) -> Option<FieldError> {
    uris.iter().find_map(|uri| {
        let found = match url::Url::parse(uri) {
            Err(e) => format!("{what} {uri:?}: {e}"),
            Ok(parsed) if parsed.fragment().is_some() => {
                format!("{what} {uri:?} must not have a fragment{fragment_rule}")
            }
            Ok(parsed) => format!("{what} {uri:?}: {}", redirect_uri_allowed(&parsed).err()?),
        };
        Some(problem(field, found))
    })
}

/// Every problem with a client's settings (the grants as they will be stored).
pub fn client_problems(spec: &ClientSpec) -> Vec<FieldError> {
    let grants = normalise_grants(spec).unwrap_or_default();
    let mut out: Vec<FieldError> = Vec::new();
    out.extend(text_problem("friendly_name", "name", &spec.friendly_name));
    if spec.public && grants.contains(&GrantType::ClientCredentials) {
        out.push(problem(
            "grant_types",
            "a public client cannot use the client_credentials grant",
        ));
    }
    out.extend(uri_problem(
        "redirect_uris",
        "redirect URI",
        " (RFC 6749 section 3.1.2)",
        &spec.redirect_uris,
    ));
    out.extend(uri_problem(
        "post_logout_redirect_uris",
        "post-logout redirect URI",
        "",
        &spec.logout.post_logout_redirect_uris,
    ));
    if let Some(s) = spec.scopes.iter().find(|s| !scope::is_scope_token(s)) {
        out.push(problem(
            "scopes",
            format!("scope {s:?} is not a valid scope token"),
        ));
    }
    out.extend(audiences_problem(&spec.audiences));
    if let Some(ttl) = spec.access_token_ttl
        && (ttl == 0 || ttl > MAX_ACCESS_TOKEN_TTL)
    {
        out.push(problem(
            "access_token_ttl",
            format!("access token lifetime must be 1 to {MAX_ACCESS_TOKEN_TTL} seconds"),
        ));
    }
    if let Some(alg) = spec.oidc.id_token_signed_response_alg
        && !crate::model::ID_TOKEN_ALGORITHMS.contains(&alg)
    {
        out.push(problem(
            "id_token_signed_response_alg",
            format!(
                "id_token_signed_response_alg {} is not offered; use ES256 or RS256",
                alg.as_str()
            ),
        ));
    }
    out
}

/// The first audience that is no single token of plain text.
fn audiences_problem(audiences: &[String]) -> Option<FieldError> {
    audiences.iter().find_map(|a| {
        text_problem("audiences", "audience", a).or_else(|| {
            a.contains(' ').then(|| {
                problem(
                    "audiences",
                    format!("audience {a:?} must not contain spaces"),
                )
            })
        })
    })
}

/// Every problem with a new user's details.
pub fn user_problems(spec: &UserSpec) -> Vec<FieldError> {
    let mut out = Vec::new();
    let email = spec.email.trim().to_lowercase();
    if email.len() > 320
        || !email.contains('@')
        || email.starts_with('@')
        || email.ends_with('@')
        || email.contains(char::is_whitespace)
    {
        out.push(problem(
            "email",
            format!("{:?} is not an email address", spec.email),
        ));
    }
    if let Err(m) = crate::password::check_policy(&spec.password) {
        out.push(problem("password", m));
    }
    for (field, what, v) in [
        ("first_name", "first name", &spec.first_name),
        ("last_name", "last name", &spec.last_name),
        ("friendly_name", "friendly name", &spec.friendly_name),
    ] {
        if let Some(v) = v {
            out.extend(text_problem(field, what, v));
        }
    }
    out
}

pub(super) fn first_problem(problems: Vec<FieldError>) -> AdminResult<()> {
    match problems.into_iter().next() {
        Some(p) => Err(AdminError::Invalid(p.message)),
        None => Ok(()),
    }
}

pub(super) fn validate_spec(spec: &ClientSpec) -> AdminResult<()> {
    first_problem(client_problems(spec))
}
