//! RFC 7591 section 2 client metadata: read from the registration request's JSON object and
//! checked field by field, each problem named with its RFC 7591 section 3.2.2 error code.
//! Metadata the server does not understand is ignored, as section 2 requires.

use serde_json::{Map, Value};

use super::validate::redirect_uri_allowed;
use crate::model::{ExtraMetadata, GrantType, TokenEndpointAuthMethod};
use crate::scope;

/// The most redirect URIs (and post-logout redirect URIs, and contacts) one client may list.
const MAX_LIST: usize = 20;
const MAX_URI: usize = 2000;

/// RFC 7591 section 3.2.2 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataErrorCode {
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidSoftwareStatement,
    UnapprovedSoftwareStatement,
}

wire_names!(MetadataErrorCode {
    InvalidRedirectUri => "invalid_redirect_uri",
    InvalidClientMetadata => "invalid_client_metadata",
    InvalidSoftwareStatement => "invalid_software_statement",
    UnapprovedSoftwareStatement => "unapproved_software_statement",
});

/// What is wrong with a registration request's metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
pub struct MetadataError {
    pub code: MetadataErrorCode,
    pub description: String,
}

pub(super) fn metadata_error(description: impl Into<String>) -> MetadataError {
    MetadataError {
        code: MetadataErrorCode::InvalidClientMetadata,
        description: description.into(),
    }
}

fn redirect_error(description: impl Into<String>) -> MetadataError {
    MetadataError {
        code: MetadataErrorCode::InvalidRedirectUri,
        description: description.into(),
    }
}

/// The metadata of one registration (or RFC 7592 update), checked and with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// `None`: not given (RFC 7591 defaults to `client_secret_basic`; open registration may
    /// substitute `none`).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    pub client_name: Option<String>,
    pub scopes: Vec<String>,
    /// Inline JWKS document, as JSON text.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub extra: ExtraMetadata,
}

type Obj = Map<String, Value>;

fn string(o: &Obj, name: &str) -> Result<Option<String>, MetadataError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

fn strings(o: &Obj, name: &str) -> Result<Option<Vec<String>>, MetadataError> {
    let bad = || metadata_error(format!("{name} must be an array of strings"));
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > MAX_LIST {
                return Err(metadata_error(format!(
                    "{name} may list at most {MAX_LIST} values"
                )));
            }
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Some(_) => Err(bad()),
    }
}

/// An `http(s)` URL for people to follow (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`).
fn web_url(o: &Obj, name: &str) -> Result<Option<String>, MetadataError> {
    let Some(raw) = string(o, name)? else {
        return Ok(None);
    };
    let ok = raw.len() <= MAX_URI
        && url::Url::parse(&raw)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if !ok {
        return Err(metadata_error(format!(
            "{name} must be an http or https URL"
        )));
    }
    Ok(Some(raw))
}

/// `web` (the default) or `native`.
fn is_native(application_type: Option<&str>) -> Result<bool, MetadataError> {
    match application_type {
        None | Some("web") => Ok(false),
        Some("native") => Ok(true),
        Some(other) => Err(metadata_error(format!(
            "application_type {:?} is not web or native",
            truncate(other)
        ))),
    }
}

/// RFC 8252: a native app redirects to a loopback `http` URL (any port), a private-use
/// scheme, or a claimed `https` URL; a web client to `https` (or loopback `http`, for
/// development and command-line tools), never to a private-use scheme.
pub(super) fn check_redirect_uri(uri: &str, native: bool) -> Result<(), String> {
    if uri.len() > MAX_URI {
        return Err(format!("redirect URI longer than {MAX_URI} characters"));
    }
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("redirect URI {:?}: {e}", truncate(uri)))?;
    if parsed.fragment().is_some() {
        return Err(format!(
            "redirect URI {:?} must not have a fragment (RFC 6749 section 3.1.2)",
            truncate(uri)
        ));
    }
    redirect_uri_allowed(&parsed)
        .map_err(|why| format!("redirect URI {:?}: {why}", truncate(uri)))?;
    if !native && !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!(
            "redirect URI {:?}: a private-use scheme is for native apps (application_type native)",
            truncate(uri)
        ));
    }
    Ok(())
}

fn grant_types(o: &Obj) -> Result<Vec<GrantType>, MetadataError> {
    let Some(names) = strings(o, "grant_types")? else {
        return Ok(vec![GrantType::AuthorizationCode]);
    };
    let mut out = Vec::new();
    for n in names {
        let g = n.parse::<GrantType>().map_err(|_| {
            metadata_error(format!("grant type {:?} is not supported", truncate(&n)))
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    if out.is_empty() {
        return Err(metadata_error("grant_types must not be empty"));
    }
    out.sort();
    Ok(out)
}

/// RFC 7591 section 2.1: `code` goes with `authorization_code`, and only it is supported.
fn check_response_types(o: &Obj, grants: &[GrantType]) -> Result<(), MetadataError> {
    let code_grant = grants.contains(&GrantType::AuthorizationCode);
    let types = strings(o, "response_types")?
        .unwrap_or_else(|| code_grant.then(|| "code".to_owned()).into_iter().collect());
    if let Some(bad) = types.iter().find(|t| *t != "code") {
        return Err(metadata_error(format!(
            "response type {:?} is not supported (only code)",
            truncate(bad)
        )));
    }
    let code = types.iter().any(|t| t == "code");
    if code != code_grant {
        return Err(metadata_error(
            "response_types code and grant_types authorization_code go together",
        ));
    }
    Ok(())
}

/// Reads and checks the metadata of a registration request's JSON object.
pub fn parse_metadata(o: &Obj) -> Result<ClientMetadata, MetadataError> {
    if o.contains_key("software_statement") {
        return Err(MetadataError {
            code: MetadataErrorCode::UnapprovedSoftwareStatement,
            description: "this server accepts no software statements".into(),
        });
    }
    let application_type = string(o, "application_type")?;
    let native = is_native(application_type.as_deref())?;
    let grants = grant_types(o)?;
    check_response_types(o, &grants)?;
    let redirect_uris = redirect_uris(o, native, &grants)?;
    let auth_method = match string(o, "token_endpoint_auth_method")? {
        None => None,
        Some(m) => Some(
            m.parse::<TokenEndpointAuthMethod>()
                .map_err(metadata_error)?,
        ),
    };
    let (jwks, jwks_uri) = key_set(o)?;
    let scopes = match string(o, "scope")? {
        None => Vec::new(),
        Some(raw) if raw.trim().is_empty() => Vec::new(),
        Some(raw) => scope::parse(&raw).map_err(|e| metadata_error(format!("scope: {e}")))?,
    };
    let client_name = string(o, "client_name")?;
    if let Some(n) = &client_name {
        super::validate::check_text("client_name", n).map_err(|e| metadata_error(e.to_string()))?;
    }
    Ok(ClientMetadata {
        redirect_uris,
        grant_types: grants,
        auth_method,
        client_name,
        scopes,
        jwks,
        jwks_uri,
        extra: extra(o, application_type, native)?,
    })
}

/// The redirect URIs, each one allowed for the application type; required for the
/// authorization_code grant.
fn redirect_uris(
    o: &Obj,
    native: bool,
    grants: &[GrantType],
) -> Result<Vec<String>, MetadataError> {
    let redirect_uris = strings(o, "redirect_uris")
        .map_err(|e| redirect_error(e.description))?
        .unwrap_or_default();
    for uri in &redirect_uris {
        check_redirect_uri(uri, native).map_err(redirect_error)?;
    }
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(redirect_error(
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    Ok(redirect_uris)
}

/// The client's keys: a `jwks` document (as text) or a `jwks_uri`, at most one of them.
fn key_set(o: &Obj) -> Result<(Option<String>, Option<String>), MetadataError> {
    let jwks = match o.get("jwks") {
        None | Some(Value::Null) => None,
        Some(doc @ Value::Object(_)) => {
            let text = doc.to_string();
            crate::jose::parse_jwks(&text).map_err(|e| metadata_error(format!("jwks: {e}")))?;
            Some(text)
        }
        Some(_) => return Err(metadata_error("jwks must be a JSON Web Key Set object")),
    };
    let jwks_uri = string(o, "jwks_uri")?;
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(metadata_error("give jwks or jwks_uri, not both"));
    }
    Ok((jwks, jwks_uri))
}

fn extra(
    o: &Obj,
    application_type: Option<String>,
    native: bool,
) -> Result<ExtraMetadata, MetadataError> {
    let post_logout_redirect_uris = strings(o, "post_logout_redirect_uris")?.unwrap_or_default();
    for uri in &post_logout_redirect_uris {
        check_redirect_uri(uri, native)
            .map_err(|e| metadata_error(format!("post_logout_redirect_uris: {e}")))?;
    }
    let backchannel_logout_uri = string(o, "backchannel_logout_uri")?;
    if let Some(uri) = &backchannel_logout_uri {
        let ok = uri.len() <= MAX_URI
            && url::Url::parse(uri)
                .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.fragment().is_none());
        if !ok {
            return Err(metadata_error(
                "backchannel_logout_uri must be an absolute URL without a fragment",
            ));
        }
    }
    let session_required = match o.get("backchannel_logout_session_required") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(metadata_error(
                "backchannel_logout_session_required must be a boolean",
            ));
        }
    };
    let contacts = strings(o, "contacts")?.unwrap_or_default();
    if contacts.iter().any(|c| c.is_empty() || c.len() > 320) {
        return Err(metadata_error("contacts must be non-empty strings"));
    }
    let short = |name: &str| -> Result<Option<String>, MetadataError> {
        let v = string(o, name)?;
        if let Some(s) = &v {
            super::validate::check_text(name, s).map_err(|e| metadata_error(e.to_string()))?;
        }
        Ok(v)
    };
    Ok(ExtraMetadata {
        client_uri: web_url(o, "client_uri")?,
        logo_uri: web_url(o, "logo_uri")?,
        tos_uri: web_url(o, "tos_uri")?,
        policy_uri: web_url(o, "policy_uri")?,
        contacts,
        software_id: short("software_id")?,
        software_version: short("software_version")?,
        application_type,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        backchannel_logout_session_required: session_required,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ClientMetadata, MetadataError> {
        parse_metadata(v.as_object().unwrap())
    }

    #[test]
    fn native_apps_get_loopback_and_private_use_schemes_web_apps_do_not() {
        assert!(check_redirect_uri("http://127.0.0.1:4711/cb", true).is_ok());
        assert!(check_redirect_uri("http://[::1]/cb", true).is_ok());
        assert!(check_redirect_uri("com.example.app:/cb", true).is_ok());
        assert!(check_redirect_uri("com.example.app:/cb", false).is_err());
        assert!(check_redirect_uri("http://example.com/cb", true).is_err());
        assert!(check_redirect_uri("https://example.com/cb#x", false).is_err());
        assert!(check_redirect_uri("myapp:/cb", true).is_err());
    }

    #[test]
    fn defaults_follow_rfc_7591() {
        let m = parse(json!({"redirect_uris": ["https://app.example/cb"]})).unwrap();
        assert_eq!(m.grant_types, [GrantType::AuthorizationCode]);
        assert_eq!(m.auth_method, None);
        assert!(m.scopes.is_empty());
    }

    #[test]
    fn each_problem_has_its_error_code() {
        let code = |v: Value| parse(v).unwrap_err().code;
        assert_eq!(
            code(json!({"redirect_uris": ["javascript:alert(1)"]})),
            MetadataErrorCode::InvalidRedirectUri
        );
        assert_eq!(code(json!({})), MetadataErrorCode::InvalidRedirectUri);
        assert_eq!(
            code(json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]})),
            MetadataErrorCode::InvalidClientMetadata
        );
        assert_eq!(
            code(json!({"software_statement": "x.y.z"})),
            MetadataErrorCode::UnapprovedSoftwareStatement
        );
        assert!(parse(json!({"grant_types": ["client_credentials"]})).is_ok());
        assert_eq!(
            code(json!({"grant_types": ["client_credentials"], "response_types": ["code"]})),
            MetadataErrorCode::InvalidClientMetadata
        );
    }
}
