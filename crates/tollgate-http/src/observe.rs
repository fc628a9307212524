//! The one request layer every route has: the request id (echoed or fresh), the access-log
//! line, the request metrics, and `X-Content-Type-Options: nosniff` on every answer.
//!
//! A hand-written tower service rather than `axum::middleware::from_fn` and a header layer:
//! axum clones a route's whole layered service for every request, and `from_fn` clones its
//! inner stack again, boxes it and boxes its future. This layer calls the inner service in
//! place and wraps its future without a box, so a request pays for none of that.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use metrics::{Counter, Histogram};
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::dialect::Registry;
use crate::error::ErrorCause;
use crate::ops::{LoggedClient, REQUEST_ID};
use crate::state::AppState;

/// Wraps every route (and the fallbacks) in [`Observe`].
#[derive(Clone)]
pub struct ObserveLayer {
    dialects: Arc<Registry>,
    prefix: Arc<str>,
}

impl ObserveLayer {
    /// The registry must be the final one (`state.dialects`), for the `dialect` label.
    pub fn new(state: &AppState) -> Self {
        Self {
            dialects: state.dialects.clone(),
            prefix: Arc::from(id_prefix(state).as_str()),
        }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            dialects: self.dialects.clone(),
            prefix: self.prefix.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    dialects: Arc<Registry>,
    prefix: Arc<str>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .filter(|v| acceptable_id(v))
            .cloned()
            .unwrap_or_else(|| new_request_id(&self.prefix));
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| RouteName::Matched(m.clone()))
            .unwrap_or(RouteName::Unmatched);
        let dialect = self.dialects.dialect_of(req.uri().path());
        let method = req.method().clone();
        let client = LoggedClient::default();
        req.extensions_mut().insert(client.clone());
        let span = tracing::info_span!("request", id = request_id.to_str().unwrap_or_default());
        let inner = self.inner.call(req).instrument(span);
        ObserveFuture {
            inner,
            done: Some(Done {
                started,
                request_id,
                route,
                dialect,
                method,
                client,
            }),
        }
    }
}

enum RouteName {
    Matched(MatchedPath),
    Unmatched,
}

impl RouteName {
    fn as_str(&self) -> &str {
        match self {
            Self::Matched(m) => m.as_str(),
            Self::Unmatched => "unmatched",
        }
    }
}

/// What the answer's bookkeeping needs from the request.
struct Done {
    started: Instant,
    request_id: HeaderValue,
    route: RouteName,
    dialect: &'static str,
    method: Method,
    client: LoggedClient,
}

pin_project_lite::pin_project! {
    pub struct ObserveFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        done: Option<Done>,
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Ok(mut resp) = std::task::ready!(this.inner.as_mut().poll(cx));
        let Some(done) = this.done.take() else {
            return Poll::Ready(Ok(resp));
        };
        let status = resp.status().as_u16();
        let elapsed = done.started.elapsed();
        let route = done.route.as_str();
        let client_id = done.client.0.get().map_or("-", String::as_str);
        let cause = resp.extensions().get::<ErrorCause>().map(|c| c.0.as_str());
        let span = this.inner.span();
        span.in_scope(|| access_log(&done.method, route, status, elapsed, client_id, cause));
        let (requests, duration) = route_metrics(route, done.dialect, status);
        requests.increment(1);
        duration.record(elapsed.as_secs_f64());
        let headers = resp.headers_mut();
        headers.insert(REQUEST_ID, done.request_id);
        headers
            .entry(header::X_CONTENT_TYPE_OPTIONS)
            .or_insert(HeaderValue::from_static("nosniff"));
        Poll::Ready(Ok(resp))
    }
}

/// This process's random prefix of request ids, drawn once.
fn id_prefix(state: &AppState) -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX
        .get_or_init(
            || match tollgate_core::clock::random_bytes::<4>(state.engine.rng()) {
                Ok(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
                Err(_) => "00000000".to_owned(),
            },
        )
        .clone()
}

/// A fresh id: this process's random prefix and a counter. Ids need not be secret, only
/// unique, and a counter costs no system call per request.
fn new_request_id(prefix: &str) -> HeaderValue {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("{prefix}{n:012x}");
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// An incoming id we may echo: short, and only characters that cannot forge a log line.
fn acceptable_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// The request metrics' handles by route, dialect and status, registered once: a request
/// then builds no label strings and makes no registry lookup. The keys are bounded: routes
/// are the router's patterns ("unmatched" for the rest), statuses a handful.
type RouteHandles = Vec<((String, &'static str, u16), (Counter, Histogram))>;
static ROUTE_METRICS: OnceLock<RwLock<HashMap<u64, RouteHandles>>> = OnceLock::new();

fn route_metrics(route: &str, dialect: &'static str, status: u16) -> (Counter, Histogram) {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let key = BuildHasherDefault::<DefaultHasher>::default().hash_one((route, dialect, status));
    let map = ROUTE_METRICS.get_or_init(RwLock::default);
    let same = |((r, d, s), _): &&((String, &'static str, u16), _)| {
        r == route && *d == dialect && *s == status
    };
    let found = map
        .read()
        .ok()
        .and_then(|m| m.get(&key)?.iter().find(same).map(|(_, h)| h.clone()));
    if let Some(handles) = found {
        return handles;
    }
    let labels = [
        ("route", route.to_owned()),
        ("dialect", dialect.to_owned()),
        ("status", status.to_string()),
    ];
    let handles = (
        metrics::counter!("tollgate_http_requests_total", &labels),
        metrics::histogram!("tollgate_http_request_duration_seconds", "route" => route.to_owned()),
    );
    if let Ok(mut m) = map.write() {
        let bucket = m.entry(key).or_default();
        if !bucket.iter().any(|entry| same(&entry)) {
            bucket.push(((route.to_owned(), dialect, status), handles.clone()));
        }
    }
    handles
}

/// The request's one log line; a server error's cause ([`ErrorCause`]) is logged here and
/// nowhere else, at error level.
fn access_log(
    method: &Method,
    route: &str,
    status: u16,
    elapsed: Duration,
    client_id: &str,
    cause: Option<&str>,
) {
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // The same event either way; a failed request's is an error and carries the cause.
    macro_rules! access {
        ($level:ident $(, $error:ident)?) => {
            tracing::$level!(
                target: "tollgate::access",
                method = %method,
                route = %route,
                status,
                latency_ms,
                client_id,
                $($error,)?
                "request"
            )
        };
    }
    match cause {
        Some(error) => access!(error, error),
        None => access!(info),
    }
}
