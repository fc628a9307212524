//! Response shapes shared by several dialects: the RFC 6749 error body, Twilio's error body,
//! JWKS documents and the no-store headers. Which dialect uses which is the dialect's choice.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};
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

#[derive(Serialize)]
struct TwilioErrorBody {
    code: u32,
    message: String,
    more_info: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    throttled_until: Option<String>,
}

/// Twilio error code and HTTP status for an engine error.
pub fn twilio_code(kind: ErrorKind) -> (u32, StatusCode) {
    match kind {
        ErrorKind::InvalidClient | ErrorKind::InvalidToken => (20003, StatusCode::UNAUTHORIZED),
        ErrorKind::InsufficientScope => (20403, StatusCode::FORBIDDEN),
        ErrorKind::TooManyRequests { .. } => (20429, StatusCode::TOO_MANY_REQUESTS),
        ErrorKind::ServerError => (20500, StatusCode::INTERNAL_SERVER_ERROR),
        ErrorKind::TemporarilyUnavailable { .. } => (20503, StatusCode::SERVICE_UNAVAILABLE),
        _ => (20001, StatusCode::BAD_REQUEST),
    }
}

/// `{code, message, more_info, status}`; `message` begins with the RFC 6749 code.
pub fn twilio_error(err: &OAuthError) -> Response {
    let (code, status) = twilio_code(err.kind);
    let throttled_until = match err.kind {
        ErrorKind::TooManyRequests { until, .. } => OffsetDateTime::from_unix_timestamp(until)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok()),
        _ => None,
    };
    let body = TwilioErrorBody {
        code,
        message: err.to_string(),
        more_info: more_info(code),
        status: status.as_u16(),
        throttled_until,
    };
    finish_error((status, Json(body)).into_response(), err)
}

fn more_info(code: u32) -> String {
    format!("https://www.twilio.com/docs/errors/{code}")
}

/// A Twilio error that is not an OAuth error (unknown route, wrong method).
pub fn twilio_plain(code: u32, status: StatusCode, message: &str) -> Response {
    let body = TwilioErrorBody {
        code,
        message: message.to_owned(),
        more_info: more_info(code),
        status: status.as_u16(),
        throttled_until: None,
    };
    (status, Json(body)).into_response()
}

pub fn twilio_not_found() -> Response {
    twilio_plain(
        20404,
        StatusCode::NOT_FOUND,
        "The requested resource was not found",
    )
}

pub fn twilio_method_not_allowed() -> Response {
    twilio_plain(20004, StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// The Twilio authorize answer: `302 Found` with `Location` and the v2 spec's
/// `{"redirect_to": …}` body, so a browser follows it and an SDK reads it. Relative targets
/// (the sign-in page) are made absolute on the issuer.
pub fn twilio_redirect(url: &str, issuer: &str) -> Response {
    let absolute = if url.starts_with('/') {
        format!("{issuer}{url}")
    } else {
        url.to_owned()
    };
    let Ok(location) = HeaderValue::from_str(&absolute) else {
        return twilio_plain(20500, StatusCode::INTERNAL_SERVER_ERROR, "bad redirect");
    };
    let body = serde_json::json!({ "redirect_to": absolute });
    (
        StatusCode::FOUND,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// No-store, and `Retry-After` on 429s.
fn finish_error(mut resp: Response, err: &OAuthError) -> Response {
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
pub fn no_store_json<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, NO_STORE, Json(body)).into_response()
}

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
