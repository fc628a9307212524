//! Tollgate's HTTP surface. Each dialect module owns its routes and maps engine results to
//! its own status codes and bodies; handlers stay thin.

pub mod admin_api;
pub mod device;
pub mod discovery;
pub mod limiter;
pub mod pages;
pub mod params;
pub mod render;
pub mod standard;
pub mod state;
pub mod token_management;
pub mod twilio;
pub mod userinfo;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

pub use state::AppState;

/// The largest request body any endpoint accepts.
pub const BODY_LIMIT: usize = 16 * 1024;

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(standard::router())
        .merge(twilio::router())
        .merge(pages::router())
        .merge(userinfo::router())
        .merge(device::api_router())
        .merge(token_management::router())
        .merge(admin_api::router())
        .route("/healthz", axum::routing::get(healthz))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

fn is_twilio(uri: &Uri) -> bool {
    let p = uri.path();
    p.starts_with("/v1/") || p.starts_with("/v2/")
}

async fn fallback(uri: Uri) -> Response {
    if is_twilio(&uri) {
        return twilio::not_found().await;
    }
    let body = serde_json::json!({"error": "not_found", "error_description": "no such endpoint"});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn method_not_allowed(uri: Uri) -> Response {
    if is_twilio(&uri) {
        return render::twilio_plain(20004, StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    let body =
        serde_json::json!({"error": "invalid_request", "error_description": "method not allowed"});
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
