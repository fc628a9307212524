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
pub mod ops;
pub mod pages;
pub mod params;
pub mod render;
pub mod state;
pub mod throttle;
pub mod token;
pub mod token_management;
pub mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::AppState;

use crate::dialect::{Dialect, Registry};

/// The largest request body any endpoint accepts.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Collects the dialects' routes and registrations.
struct Dialects {
    router: Router<AppState>,
    registry: Registry,
}

impl Dialects {
    fn with<D: Dialect>(mut self) -> Self {
        self.router = self.router.merge(D::routes());
        self.registry.register::<D>();
        self
    }
}

pub fn app(mut state: AppState) -> Router {
    let dialects = Dialects {
        router: Router::new(),
        registry: Registry::default(),
    }
    .with::<dialects::Standard>()
    .with::<dialects::TwilioV2>()
    .with::<dialects::TwilioV1>();
    state.dialects = Arc::new(dialects.registry);
    let cors = cors::layer(state.engine.clone());
    dialects
        .router
        .merge(pages::router())
        .merge(admin_api::router())
        .route("/healthz", axum::routing::get(ops::healthz))
        .route("/readyz", axum::routing::get(ops::readyz))
        .route("/metrics", axum::routing::get(ops::metrics_text))
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
        .layer(axum::middleware::from_fn({
            let trusted = state.trusted_proxies.clone();
            move |req, next| client_ip::resolve(trusted.clone(), req, next)
        }))
        .with_state(state)
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
