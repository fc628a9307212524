//! CORS (DESIGN section 2): browser apps call the token, revocation, introspection and userinfo
//! endpoints from the origins of their registered redirect URIs; the public documents (JWKS,
//! discovery) may be read from anywhere. Everything else gets no CORS headers.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tollgate_core::Engine;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The paths each dialect declared (`Dialect::CORS_CLIENT_PATHS`, `CORS_PUBLIC_PATHS`).
#[derive(Debug, Clone, Default)]
pub struct CorsPaths {
    pub client: Vec<&'static str>,
    pub public: Vec<&'static str>,
}

pub fn layer(engine: Arc<Engine>, paths: CorsPaths) -> CorsLayer {
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, parts| {
        let path = parts.uri.path();
        if paths.public.contains(&path) {
            return true;
        }
        paths.client.contains(&path) && origin.to_str().is_ok_and(|o| engine.is_client_origin(o))
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
