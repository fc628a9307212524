//! A route table that remembers what it registers, so the OpenAPI description can be checked
//! against the routes actually served.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{delete as on_delete, get as on_get, post as on_post};

use crate::state::AppState;

/// The router being built and the `(method, path)` of every route in it.
pub struct Routes {
    pub router: Router<AppState>,
    pub served: Vec<(&'static str, &'static str)>,
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            router: Router::new(),
            served: Vec::new(),
        }
    }
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on_get(handler));
        self.served.push(("GET", path));
        self
    }

    pub fn post<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on_post(handler));
        self.served.push(("POST", path));
        self
    }

    pub fn delete<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, on_delete(handler));
        self.served.push(("DELETE", path));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }

    /// Applies layers (the pages' security headers) to the routes registered so far.
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }
}
