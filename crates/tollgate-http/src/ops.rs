//! What an operator watches: `/healthz`, `/readyz`, `/metrics` (Prometheus). The request layer
//! that gives every request an id, an access-log line and its metrics is [`crate::observe`].

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use utoipa::openapi::{ContentBuilder, ResponseBuilder};

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often pending histogram samples are folded into their buckets (not domain time).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Turns recording off for this process: no recorder is installed, so every `metrics` macro
/// is a no-op and `/metrics` answers 404.
pub fn disable_metrics() {
    let _ = PROMETHEUS.set(None);
}

/// Installs the process-wide Prometheus recorder (once; later servers in the same process
/// share it).
pub fn install_metrics() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // Histogram samples are held until they are folded into the buckets; without a
            // scrape that is never, and every request's samples stayed in memory (over 100 MB
            // after a million tokens). Fold them in on a schedule instead.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("tollgate-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(METRICS_UPKEEP);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The operations routes.
pub fn router() -> crate::routes::Routes {
    use crate::openapi::{Op, html, json, object, string, text};
    let status = json("Status", object(vec![("status", string(), true)]));
    let op = |path| Op::get(path, "operations");
    crate::routes::Routes::new()
        .route(
            op("/healthz")
                .summary("The process is alive")
                .respond("200", status.clone()),
            healthz,
        )
        .route(
            op("/readyz")
                .summary("The store answers and a signing key is loaded")
                .respond("200", status.clone())
                .respond("503", status),
            readyz,
        )
        .route(
            op("/metrics").summary("Prometheus metrics").respond(
                "200",
                text("Prometheus text format", "text/plain; version=0.0.4"),
            ),
            metrics_text,
        )
        .route(
            op("/openapi.json").summary("This description").respond(
                "200",
                json("OpenAPI 3.1", object(vec![("openapi", string(), true)])),
            ),
            openapi_json,
        )
        .route(
            op("/docs")
                .summary("This description as a page (no network needed)")
                .respond("200", html("API reference")),
            docs,
        )
        .route(
            op("/docs.js").summary("The script of /docs").respond(
                "200",
                ResponseBuilder::new()
                    .description("JavaScript")
                    .content("text/javascript", ContentBuilder::new().build())
                    .build(),
            ),
            docs_js,
        )
}

pub async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.openapi.to_string(),
    )
        .into_response()
}

/// A page that renders `/openapi.json` with a small embedded script: no CDN, no network.
pub async fn docs() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                     form-action 'none'",
                ),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        include_str!("docs.html"),
    )
        .into_response()
}

/// The script of `/docs`, served from here so the page's CSP allows no inline script.
pub async fn docs_js() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        )],
        include_str!("docs.js"),
    )
        .into_response()
}

/// `/metrics`; with `metrics_token` set, only for `Authorization: Bearer <token>` (compared in
/// constant time), so the OAuth listener does not publish traffic figures to anyone.
pub async fn metrics_text(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(expected) = &state.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), expected.as_bytes()).into();
        if !same {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "metrics need the configured bearer token (metrics_token)",
            )
                .into_response();
        }
    }
    match install_metrics() {
        Some(h) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            h.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are turned off (metrics = false)",
        )
            .into_response(),
    }
}

pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Ready when the store answers within a second and a signing key is loaded.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let engine = &state.engine;
    let store_ok = tokio::time::timeout(Duration::from_secs(1), engine.ping_store())
        .await
        .is_ok_and(|r| r.is_ok());
    let keys_ok = engine
        .key_set()
        .signing_key(engine.config().signing_algorithm, state.now())
        .is_some();
    // A node whose view of the change log is too old leaves the load balancer's rotation
    // (DESIGN section 13); a store that answers gets one chance to bring the view up to date.
    let mut fresh = !engine.view_is_stale(engine.clock().now());
    if !fresh && store_ok {
        let synced = tokio::time::timeout(Duration::from_secs(1), engine.sync()).await;
        fresh = synced.is_ok_and(|r| r.is_ok()) && !engine.view_is_stale(engine.clock().now());
    }
    let ready = store_ok && keys_ok && fresh;
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "unreachable" },
        "signing_key": if keys_ok { "ok" } else { "missing" },
        "change_log": if fresh { "current" } else { "stale" },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// Set by handlers that learn the client, for the access log.
#[derive(Clone, Default)]
pub struct LoggedClient(pub(crate) Arc<OnceLock<String>>);

impl LoggedClient {
    pub fn set(&self, client_id: &str) {
        let _ = self.0.set(client_id.chars().take(64).collect());
    }
}
