//! What a client id URL and the document behind it must satisfy
//! (draft-ietf-oauth-client-id-metadata-document sections 3 and 4).

use serde_json::{Map, Value};

use super::DocumentError;
use crate::admin::{ClientMetadata, parse_metadata};
use crate::model::{GrantType, TokenEndpointAuthMethod};

/// A `client_id` this server would resolve as a metadata document's URL.
pub fn is_document_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// Section 3: `https`, a host, a path other than `/`, no fragment, no user info, no dot
/// segments. The URL must already be in its normal form, so that the `client_id` the client
/// sends, the one in the document and the one stored are the same string.
pub fn check_url(raw: &str) -> Result<url::Url, DocumentError> {
    let bad = |why: &'static str| Err(DocumentError::BadUrl(why));
    let Ok(url) = url::Url::parse(raw) else {
        return bad("not an absolute URL");
    };
    if url.scheme() != "https" {
        return bad("not https");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("user info");
    }
    if url.fragment().is_some() {
        return bad("a fragment");
    }
    if url.host().is_none() || url.path() == "/" || url.path().is_empty() {
        return bad("no path");
    }
    // Dot segments, an explicit default port or an upper-case host are normalised away.
    if url.as_str() != raw {
        return bad("not in normal form (dot segments, default port, case)");
    }
    Ok(url)
}

/// Whether `host` matches one of the operator's patterns (`mcp.example.com`, or
/// `*.example.com` for its subdomains); every host when there are none.
pub fn host_allowed(patterns: &[String], host: &str) -> bool {
    if patterns.is_empty() {
        return true;
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.trim().trim_end_matches('.').to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(parent) => host
                .strip_suffix(parent)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == p,
        }
    })
}

/// Checks the document fetched from `url` and reads its metadata.
pub fn parse_document(url: &str, body: &[u8]) -> Result<ClientMetadata, DocumentError> {
    let invalid = |m: &str| DocumentError::Invalid(m.to_owned());
    let mut doc: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| invalid("not a JSON object"))?;
    if doc.get("client_id").and_then(Value::as_str) != Some(url) {
        return Err(invalid("its client_id is not the URL it was fetched from"));
    }
    // Section 4.1: a document is public, so it can hold no shared secret.
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return Err(invalid("it holds a client_secret"));
    }
    let method = doc
        .entry("token_endpoint_auth_method")
        .or_insert_with(|| Value::String("none".into()));
    match method.as_str().map(str::parse::<TokenEndpointAuthMethod>) {
        Some(Ok(TokenEndpointAuthMethod::None | TokenEndpointAuthMethod::PrivateKeyJwt)) => {}
        _ => {
            return Err(invalid(
                "its token_endpoint_auth_method is not none or private_key_jwt",
            ));
        }
    }
    let meta = parse_metadata(&doc).map_err(|e| DocumentError::Invalid(e.description))?;
    if meta.auth_method == Some(TokenEndpointAuthMethod::PrivateKeyJwt)
        && meta.jwks.is_none()
        && meta.jwks_uri.is_none()
    {
        return Err(invalid("private_key_jwt without jwks or jwks_uri"));
    }
    if meta.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(invalid("client_credentials is not for such clients"));
    }
    if meta.redirect_uris.is_empty() {
        return Err(invalid("it lists no redirect_uris"));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_urls_must_be_https_with_a_path_in_normal_form() {
        assert!(check_url("https://app.example/client.json").is_ok());
        assert!(check_url("https://app.example/a/b?x=1").is_ok());
        for bad in [
            "http://app.example/client.json",
            "https://app.example/",
            "https://app.example",
            "https://app.example/client.json#frag",
            "https://u:p@app.example/client.json",
            "https://app.example/a/../client.json",
            "https://app.example/./client.json",
            "https://APP.example/client.json",
            "https://app.example:443/client.json",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_patterns_match_exact_hosts_and_subdomains() {
        let p = vec!["mcp.example.com".to_owned(), "*.apps.example".to_owned()];
        assert!(host_allowed(&p, "mcp.example.com"));
        assert!(host_allowed(&p, "a.apps.example"));
        assert!(host_allowed(&p, "b.a.apps.example"));
        assert!(!host_allowed(&p, "apps.example"));
        assert!(!host_allowed(&p, "evilapps.example"));
        assert!(!host_allowed(&p, "example.com"));
        assert!(host_allowed(&[], "anything.example"));
    }

    #[test]
    fn documents_name_themselves_and_hold_no_secret() {
        let url = "https://app.example/c.json";
        let good = serde_json::json!({
            "client_id": url, "redirect_uris": ["http://127.0.0.1:3000/cb"],
            "client_name": "App",
        });
        let meta = parse_document(url, good.to_string().as_bytes()).unwrap();
        assert_eq!(meta.auth_method, Some(TokenEndpointAuthMethod::None));
        let mut other = good.clone();
        other["client_id"] = "https://app.example/other.json".into();
        assert!(parse_document(url, other.to_string().as_bytes()).is_err());
        let mut secret = good.clone();
        secret["token_endpoint_auth_method"] = "client_secret_basic".into();
        assert!(parse_document(url, secret.to_string().as_bytes()).is_err());
        let mut jwt = good.clone();
        jwt["token_endpoint_auth_method"] = "private_key_jwt".into();
        assert!(parse_document(url, jwt.to_string().as_bytes()).is_err());
        let mut none = good;
        none["redirect_uris"] = serde_json::json!([]);
        assert!(parse_document(url, none.to_string().as_bytes()).is_err());
    }
}
