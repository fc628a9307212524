//! One error type per surface: [`HttpError`] for the dialects' APIs (rendered by the dialect)
//! and [`PageError`] for the HTML pages. Handlers return them with `?`.

use std::marker::PhantomData;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tollgate_core::OAuthError;

use crate::dialect::{Dialect, ErrorStyle};

/// Why a request failed on the server's side, carried on the response so the access log
/// ([`crate::observe`]) writes it in the request's one line; nothing logs it earlier.
/// Holds error messages only, never a secret.
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

impl ErrorCause {
    /// Attaches a cause to a server error (5xx); other answers need none.
    pub fn attach(mut resp: Response, cause: impl FnOnce() -> String) -> Response {
        if resp.status().is_server_error() {
            resp.extensions_mut().insert(ErrorCause(cause()));
        }
        resp
    }
}

/// An engine error on its way out in dialect `D`'s format.
pub struct HttpError<D> {
    pub error: OAuthError,
    pub style: ErrorStyle,
    dialect: PhantomData<fn() -> D>,
}

impl<D> HttpError<D> {
    pub fn new(error: OAuthError, style: ErrorStyle) -> Self {
        Self {
            error,
            style,
            dialect: PhantomData,
        }
    }
}

impl<D> std::fmt::Debug for HttpError<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpError({})", self.error)
    }
}

impl<D> From<OAuthError> for HttpError<D> {
    fn from(error: OAuthError) -> Self {
        Self::new(error, ErrorStyle::default())
    }
}

/// A request that could not be read (body too large, wrong content type, malformed header).
#[derive(Debug)]
pub struct Rejection {
    pub error: OAuthError,
    pub style: ErrorStyle,
}

impl Rejection {
    pub fn new(error: OAuthError) -> Self {
        Self {
            error,
            style: ErrorStyle::default(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.style.status = Some(status);
        self
    }
}

impl<D> From<Rejection> for HttpError<D> {
    fn from(r: Rejection) -> Self {
        Self::new(r.error, r.style)
    }
}

impl<D: Dialect> IntoResponse for HttpError<D> {
    fn into_response(self) -> Response {
        let resp = D::error_response(&self.error, self.style);
        ErrorCause::attach(resp, || self.error.to_string())
    }
}

/// What a page shows when it cannot do what was asked.
#[derive(Debug)]
pub enum PageError {
    /// A plain message page with its status.
    Message {
        status: StatusCode,
        heading: &'static str,
        text: String,
    },
    /// The CSRF token was missing or wrong.
    Csrf,
    /// Too many attempts from this address or session; retry after this many seconds.
    TooMany(&'static str, i64),
    /// The server is busy (all password checks in use); retry in a moment.
    Busy,
    /// The server failed; the cause goes to the access log, not to the page.
    Server(String),
}

impl PageError {
    pub fn bad_request(text: impl Into<String>) -> Self {
        PageError::Message {
            status: StatusCode::BAD_REQUEST,
            heading: "Invalid request",
            text: text.into(),
        }
    }
}

impl PageError {
    /// The same failure as an engine error, for API callers of a page route.
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            PageError::Message { text, .. } => OAuthError::invalid_request(text.clone()),
            PageError::Csrf => OAuthError::invalid_request("the CSRF token is missing or wrong"),
            PageError::TooMany(text, _) => OAuthError::invalid_request(*text),
            PageError::Busy => OAuthError::invalid_request("the server is busy"),
            PageError::Server(_) => OAuthError::server_error(),
        }
    }
}

impl From<OAuthError> for PageError {
    fn from(e: OAuthError) -> Self {
        if let tollgate_core::ErrorKind::TooManyRequests { .. }
        | tollgate_core::ErrorKind::TemporarilyUnavailable { .. } = e.kind
        {
            return PageError::Busy;
        }
        PageError::Server(e.to_string())
    }
}

fn with_retry_after(mut resp: Response, secs: i64) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    resp
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        use crate::page_shell::message;
        match self {
            PageError::Message {
                status,
                heading,
                text,
            } => message(status, heading, &text),
            PageError::Csrf => message(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be verified (its security token is missing or wrong). \
                 Go back, reload the page and try again.",
            ),
            PageError::TooMany(text, wait) => with_retry_after(
                message(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", text),
                wait,
            ),
            PageError::Busy => with_retry_after(
                message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "The server is busy checking other sign-ins. Try again in a moment.",
                ),
                1,
            ),
            PageError::Server(cause) => ErrorCause::attach(
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete the request. Try again later.",
                ),
                || cause,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialects::Standard;

    fn cause(resp: &Response) -> Option<String> {
        resp.extensions().get::<ErrorCause>().map(|c| c.0.clone())
    }

    /// Server errors carry their cause to the access log; client errors carry none.
    #[test]
    fn only_server_errors_carry_a_cause() {
        let server = HttpError::<Standard>::from(OAuthError::server_error()).into_response();
        assert!(cause(&server).is_some_and(|c| c.starts_with("server_error")));
        let client = HttpError::<Standard>::from(OAuthError::invalid_request("x")).into_response();
        assert_eq!(cause(&client), None);
        let page = PageError::Server("store failure: disk full".into()).into_response();
        assert_eq!(cause(&page).as_deref(), Some("store failure: disk full"));
    }
}
