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
pub mod openapi;
pub mod ops;
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
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::AppState;

use crate::dialect::{Dialect, Registry};
use crate::openapi::Spec;
use crate::routes::Routes;

/// The largest request body any endpoint accepts.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Every route, its OpenAPI description and the dialect registry, built from the same calls.
pub struct Surface {
    pub routes: Routes,
    pub spec: Spec,
    pub registry: Registry,
}

impl Surface {
    /// Registers a dialect: its routes, its description and what the shared pages need.
    fn with<D: Dialect>(mut self) -> Self {
        self.routes = self.routes.merge(D::routes());
        D::describe(&mut self.spec);
        self.registry.register::<D>();
        self
    }
}

pub fn surface() -> Surface {
    let mut s = Surface {
        routes: Routes::new(),
        spec: Spec::default(),
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
    pages::describe(&mut s.spec);
    pages::console::describe(&mut s.spec);
    admin_api::describe(&mut s.spec);
    ops::describe(&mut s.spec);
    s
}

pub fn app(mut state: AppState) -> Router {
    let surface = surface();
    let cors = cors::layer(state.engine.clone(), surface.registry.cors_paths());
    state.dialects = Arc::new(surface.registry);
    let document = surface.spec.build();
    state.openapi = Arc::from(document.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let proxies = state.proxies.clone();
    let router = surface
        .routes
        .router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::observe,
        ))
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

    /// Every route the router serves is documented, and every documented route is served.
    #[test]
    fn openapi_describes_exactly_the_routes_served() {
        let s = super::surface();
        let served: BTreeSet<(String, String)> = s
            .routes
            .served
            .iter()
            .map(|(m, p)| ((*p).to_owned(), (*m).to_owned()))
            .collect();
        let documented: BTreeSet<(String, String)> = s.spec.operations().into_iter().collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "served but not documented: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "documented but not served: {unserved:?}"
        );
        assert!(served.len() > 40, "{} routes", served.len());
    }
}
