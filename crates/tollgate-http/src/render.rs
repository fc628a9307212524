//! Response shapes shared by several dialects: the RFC 6749 error body, JWKS documents, the
//! device authorization body and the no-store headers (Twilio's shapes are in
//! [`crate::dialects::twilio`]). Which dialect uses which is the dialect's choice.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use tollgate_core::{ErrorKind, OAuthError};

/// Token responses and their errors must not be cached (RFC 6749 section 5.1).
pub const NO_STORE: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

#[derive(Serialize)]
struct RfcErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// `{error, error_description}` with the given status; failed client authentication adds the
/// `WWW-Authenticate` challenge of RFC 6749 section 5.2.
pub fn rfc6749_error(status: StatusCode, err: &OAuthError) -> Response {
    let body = RfcErrorBody {
        error: err.kind.code(),
        error_description: &err.description,
    };
    let mut resp = (status, Json(body)).into_response();
    if err.kind == ErrorKind::InvalidClient {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tollgate\", charset=\"UTF-8\""),
        );
    }
    finish_error(resp, err)
}

/// The RFC 6749 status of an error kind; `unacceptable` is the status for well-formed but
/// refused values (400 in RFC 6749, 422 in the Optoro JSON dialect).
pub fn rfc6749_status(kind: ErrorKind, unacceptable: StatusCode) -> StatusCode {
    match kind {
        ErrorKind::InvalidClient | ErrorKind::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorKind::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorKind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::TemporarilyUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        _ => unacceptable,
    }
}

/// No-store, and `Retry-After` on 429s.
pub(crate) fn finish_error(mut resp: Response, err: &OAuthError) -> Response {
    let retry_after = match err.kind {
        ErrorKind::TooManyRequests { retry_after, .. }
        | ErrorKind::TemporarilyUnavailable { retry_after } => Some(retry_after),
        _ => None,
    };
    if let Some(retry_after) = retry_after
        && let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp.headers_mut().extend(NO_STORE);
    resp
}

/// RFC 8628 section 3.2's device authorization response body.
#[derive(Serialize)]
pub struct DeviceBody<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    verification_uri_complete: &'a str,
    expires_in: i64,
    interval: i64,
}

impl<'a> DeviceBody<'a> {
    pub fn of(d: &'a tollgate_core::device::DeviceAuthorization) -> Self {
        Self {
            device_code: &d.device_code,
            user_code: &d.user_code,
            verification_uri: &d.verification_uri,
            verification_uri_complete: &d.verification_uri_complete,
            expires_in: d.expires_in,
            interval: d.interval,
        }
    }
}

pub fn rfc2822(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc2822)
        .ok()
}

/// JWKS responses may be cached briefly; keys are published well before they sign.
pub fn jwks_response(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A JSON success body that must not be cached.
///
/// Written into a buffer that holds a token answer at once: axum's `Json` starts at 128 bytes
/// and grew three times for every token and introspection answer.
pub fn no_store_json<T: Serialize>(status: StatusCode, body: T) -> Response {
    let mut buf = Vec::with_capacity(ANSWER_CAPACITY);
    if let Err(e) = serde_json::to_writer(&mut buf, &body) {
        // Only a Serialize impl that fails can get here; ours do not.
        tracing::error!(error = %e, "a JSON answer could not be written");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let json = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    (status, NO_STORE, json, buf).into_response()
}

/// Bytes reserved for a JSON answer: a token answer with its 600-byte JWT fits.
const ANSWER_CAPACITY: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2822_is_gmt() {
        assert_eq!(
            rfc2822(1_656_518_368).as_deref(),
            Some("Wed, 29 Jun 2022 15:59:28 +0000")
        );
    }
}
