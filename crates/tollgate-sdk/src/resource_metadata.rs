//! RFC 9728 protected-resource metadata: how a client that was refused finds the
//! authorization server, the scopes and the audience of this API.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::error::SdkError;
use crate::validator::{Validator, ValidatorBuilder};

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// What this API publishes about itself (RFC 9728 section 2). Its `resource` is the API's own
/// URL, which is also the `aud` every token must carry (RFC 8707).
#[derive(Debug, Clone, Serialize)]
pub struct ProtectedResource {
    resource: String,
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
}

impl ProtectedResource {
    /// `resource` is this API's URL as clients name it (`https://mcp.example.com/mcp`);
    /// `issuer` the Tollgate issuer whose tokens it accepts.
    pub fn new(resource: impl Into<String>, issuer: impl Into<String>) -> Result<Self, SdkError> {
        let resource = resource.into();
        // RFC 9728 section 2: an https URL (http only on loopback, for development), without
        // a fragment; a query is allowed by the RFC but breaks the well-known URL, so refused.
        let scheme_ok = resource.starts_with("https://") || is_loopback_http(&resource);
        if !scheme_ok || resource.contains('#') || resource.contains('?') {
            return Err(SdkError::Config(format!(
                "the resource must be an https URL without query or fragment, not {resource:?}"
            )));
        }
        Ok(Self {
            resource,
            authorization_servers: vec![issuer.into()],
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header"],
            resource_name: None,
            resource_documentation: None,
        })
    }

    /// The scopes this API understands (`scopes_supported`).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A human-readable name (`resource_name`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Where people read about the API (`resource_documentation`).
    pub fn documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// A validator for this resource's tokens: the issuer's keys, and `aud` = this resource.
    pub fn validator(&self) -> ValidatorBuilder {
        let issuer = self
            .authorization_servers
            .first()
            .cloned()
            .unwrap_or_default();
        Validator::discover(issuer).audience(self.resource.clone())
    }

    /// RFC 9728 section 3.1: the well-known string goes between the host and the resource's
    /// path, so `https://h/mcp` publishes at `https://h/.well-known/oauth-protected-resource/mcp`.
    pub fn metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        format!("{origin}{}", metadata_path(path))
    }

    /// The routes serving the document: the path-suffixed form of section 3.1 and, for clients
    /// that only try the root, the bare well-known path. Merge them outside the token layer.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let (_, path) = split_origin(&self.resource);
        let body = serde_json::to_vec(self).unwrap_or_default();
        let serve = move || {
            let body = body.clone();
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                        // Browser-based clients read it from another origin.
                        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    ],
                    body,
                )
                    .into_response()
            }
        };
        let suffixed = metadata_path(path);
        let mut router = Router::new().route(&suffixed, get(serve.clone()));
        if suffixed != WELL_KNOWN {
            router = router.route(WELL_KNOWN, get(serve));
        }
        router
    }
}

fn is_loopback_http(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

/// `https://h:8443/a/b` → (`https://h:8443`, `/a/b`).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

fn metadata_path(resource_path: &str) -> String {
    let path = resource_path.trim_end_matches('/');
    format!("{WELL_KNOWN}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_string_goes_between_host_and_path() {
        let r = ProtectedResource::new("https://mcp.example.com/mcp", "https://as").unwrap();
        assert_eq!(
            r.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        let root = ProtectedResource::new("https://api.example.com", "https://as").unwrap();
        assert_eq!(
            root.metadata_url(),
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
        let port = ProtectedResource::new("http://127.0.0.1:3000/v1/mcp/", "https://as").unwrap();
        assert_eq!(
            port.metadata_url(),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/v1/mcp"
        );
    }

    #[test]
    fn only_https_or_loopback_http_without_query_or_fragment() {
        for bad in [
            "http://api.example.com/mcp",
            "https://a/mcp#x",
            "https://a/mcp?x=1",
            "ftp://a",
            "http://localhost.evil.com/",
        ] {
            assert!(ProtectedResource::new(bad, "https://as").is_err(), "{bad}");
        }
        assert!(ProtectedResource::new("http://localhost:8080/mcp", "https://as").is_ok());
    }
}
