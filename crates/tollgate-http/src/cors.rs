//! CORS (DESIGN section 2): browser apps call the token, revocation, introspection and userinfo
//! endpoints from the origins of their registered redirect URIs; the public documents (JWKS,
//! discovery) may be read from anywhere. Everything else gets no CORS headers.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tollgate_core::Engine;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Documents anyone may read.
fn is_public_document(path: &str) -> bool {
    matches!(path, "/oauth/jwks" | "/v1/certs" | "/.well-known/jwks.json")
        || path.ends_with("/.well-known/openid-configuration")
        || path == "/.well-known/oauth-authorization-server"
}

/// Endpoints a registered browser app may call.
fn is_client_endpoint(path: &str) -> bool {
    matches!(
        path,
        "/oauth/token"
            | "/v1/token"
            | "/v2/token"
            | "/oauth/revoke"
            | "/oauth/introspect"
            | "/oauth/userinfo"
            | "/v1/userinfo"
    )
}

pub fn layer(engine: Arc<Engine>) -> CorsLayer {
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, parts| {
        let path = parts.uri.path();
        if is_public_document(path) {
            return true;
        }
        is_client_endpoint(path) && origin.to_str().is_ok_and(|o| engine.is_client_origin(o))
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
            HeaderName::from_static("dpop-nonce"),
        ])
        .max_age(Duration::from_secs(600))
}
