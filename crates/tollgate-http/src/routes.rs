//! A route table whose every route is registered together with its OpenAPI operation, so the
//! description cannot drift from the routes served.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use utoipa::openapi::HttpMethod;

use crate::openapi::{Op, Spec};
use crate::state::AppState;

/// The router being built and the operation of every route in it.
pub struct Routes {
    pub router: Router<AppState>,
    pub ops: Vec<Op>,
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            router: Router::new(),
            ops: Vec::new(),
        }
    }
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `handler` on the operation's method and path, and describes it with `op`.
    pub fn route<H, T>(mut self, op: Op, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(op.path, on(filter(&op.method), handler));
        self.ops.push(op);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }

    /// Applies layers (the pages' security headers) to the routes registered so far.
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The OpenAPI description of the routes registered.
    pub fn spec(&self) -> Spec {
        Spec::of(self.ops.iter().cloned())
    }
}

fn filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}
