//! Tollgate's HTTP surface. Each dialect is one unit under [`dialects`] implementing
//! [`dialect::Dialect`]; the generic handlers (`token`, `device`, `userinfo`,
//! `token_management`, `pages`) do the work for every dialect, and return [`error::HttpError`]
//! or [`error::PageError`].

pub mod admin_api;
pub mod client_ip;
pub mod cors;
pub mod device;
pub mod dialect;
pub mod dialects;
pub mod error;
pub mod extract;
pub mod limiter;
pub mod observe;
pub mod openapi;
pub mod ops;
pub mod page_shell;
pub mod pages;
pub mod par;
pub mod params;
pub mod render;
pub mod routes;
pub mod state;
pub mod throttle;
pub mod token;
pub mod token_management;
pub mod userinfo;

/// Private parsers the fuzz targets in `fuzz/` call directly; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use axum::http::HeaderMap;
    use tollgate_core::OAuthError;

    use crate::params::Params;

    /// The userinfo endpoint's RFC 6750 token lookup (header, or a form's `access_token`).
    pub fn bearer(headers: &HeaderMap, form: Option<&Params>) -> Result<String, OAuthError> {
        crate::userinfo::bearer(headers, form)
    }
}

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Uri;
use axum::response::Response;

pub use state::AppState;

use crate::dialect::{Dialect, Registry};
use crate::routes::Routes;

/// The largest request body any endpoint accepts.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Every route with its OpenAPI operation, and the dialect registry, built from the same calls.
pub struct Surface {
    pub routes: Routes,
    pub registry: Registry,
}

impl Surface {
    /// Registers a dialect: its routes with their descriptions, and what the shared pages need.
    fn with<D: Dialect>(mut self) -> Self {
        self.routes = self.routes.merge(D::routes());
        self.registry.register::<D>();
        self
    }
}

pub fn surface() -> Surface {
    let mut s = Surface {
        routes: Routes::new(),
        registry: Registry::default(),
    }
    .with::<dialects::Standard>()
    .with::<dialects::TwilioV2>()
    .with::<dialects::TwilioV1>();
    s.routes = s
        .routes
        .merge(pages::router())
        .merge(pages::console::router())
        .merge(admin_api::router())
        .merge(ops::router());
    s
}

pub fn app(mut state: AppState) -> Router {
    let surface = surface();
    let cors = cors::layer(state.engine.clone(), surface.registry.cors_paths());
    state.dialects = Arc::new(surface.registry);
    let document = surface.routes.spec().build();
    state.openapi = Arc::from(document.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let proxies = state.proxies.clone();
    let router = surface
        .routes
        .router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors)
        .layer(observe::ObserveLayer::new(&state))
        .with_state(state);
    // Every layer costs every request; this one only does something behind proxies.
    if proxies.is_empty() {
        return router;
    }
    router.layer(axum::middleware::from_fn(move |req, next| {
        client_ip::resolve(proxies.clone(), req, next)
    }))
}

async fn fallback(State(state): State<AppState>, uri: Uri) -> Response {
    state
        .dialects
        .not_found(uri.path())
        .unwrap_or_else(dialects::standard::not_found)
}

async fn method_not_allowed(State(state): State<AppState>, uri: Uri) -> Response {
    state
        .dialects
        .method_not_allowed(uri.path())
        .unwrap_or_else(<dialects::Standard as Dialect>::method_not_allowed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Routes and their descriptions are registered together; what can still go wrong is an
    /// operation described carelessly, or two registrations of one method and path.
    #[test]
    fn every_operation_is_described_fully_and_once() {
        let s = super::surface();
        let mut seen = BTreeSet::new();
        for op in &s.routes.ops {
            let method = serde_json::to_string(&op.method).unwrap_or_default();
            let at = format!("{method} {}", op.path);
            assert!(!op.summary.is_empty(), "{at}: no summary");
            assert!(!op.responses.is_empty(), "{at}: no responses");
            assert!(!op.tag.is_empty(), "{at}: no tag");
            let templated: Vec<&str> = op
                .path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(templated, op.path_params, "{at}: path parameters");
            assert!(seen.insert(at.clone()), "{at}: registered twice");
        }
        assert_eq!(s.routes.spec().operations().len(), seen.len());
        assert!(seen.len() > 40, "{} routes", seen.len());
    }
}
