//! What every HTML answer shares: the pages' security headers and CSP, rendering a template
//! into a response, and the plain message page. Base modules (errors) render through this and
//! `pages` builds on it, so the dependency points one way only.

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ErrorCause;
use crate::state::AppState;

pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The pages' security headers, for page routes a dialect registers (its authorize route).
pub fn secured(router: Router<AppState>) -> Router<AppState> {
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CACHE_CONTROL, "no-store"))
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub heading: &'a str,
    pub message: &'a str,
    pub logout_csrf: Option<&'a str>,
    /// Offer a link to the console (the reader is an administrator).
    pub console: bool,
}

pub(crate) fn html(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => ErrorCause::attach(
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            || format!("template failed: {e}"),
        ),
    }
}

pub(crate) fn message(status: StatusCode, heading: &str, text: &str) -> Response {
    let page = MessagePage {
        heading,
        message: text,
        logout_csrf: None,
        console: false,
    };
    html(status, page.render())
}
