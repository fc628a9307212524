//! How each dialect spells success and failure.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use tollgate_core::token::Issued;
use tollgate_core::{ErrorKind, OAuthError};

/// Token responses and their errors must not be cached (RFC 6749 section 5.1).
pub const NO_STORE: [(HeaderName, HeaderValue); 2] = [
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (header::PRAGMA, HeaderValue::from_static("no-cache")),
];

/// The three error shapes Tollgate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 6749 body and statuses (form bodies on `/oauth/*`).
    Rfc6749,
    /// RFC 6749 body with the Optoro statuses (JSON bodies on `/oauth/token`).
    OptoroJson,
    /// `{code, message, more_info, status}` on `/v1/*` and `/v2/*`.
    Twilio,
}

#[derive(Serialize)]
struct RfcErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

#[derive(Serialize)]
struct TwilioErrorBody<'a> {
    code: u32,
    message: String,
    more_info: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    throttled_until: Option<String>,
    #[serde(skip)]
    _d: std::marker::PhantomData<&'a ()>,
}

pub fn error(dialect: Dialect, err: &OAuthError) -> Response {
    let mut resp = match dialect {
        Dialect::Rfc6749 | Dialect::OptoroJson => {
            let status = rfc_status(dialect, err.kind);
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
            resp
        }
        Dialect::Twilio => {
            let (code, status) = twilio_code(err.kind);
            let body = TwilioErrorBody {
                code,
                message: err.to_string(),
                more_info: format!("https://www.twilio.com/docs/errors/{code}"),
                status: status.as_u16(),
                throttled_until: match err.kind {
                    ErrorKind::TooManyRequests { until } => {
                        OffsetDateTime::from_unix_timestamp(until)
                            .ok()
                            .and_then(|t| t.format(&Rfc3339).ok())
                    }
                    _ => None,
                },
                _d: std::marker::PhantomData,
            };
            (status, Json(body)).into_response()
        }
    };
    if let ErrorKind::TooManyRequests { until } = err.kind {
        let wait = (until - OffsetDateTime::now_utc().unix_timestamp()).max(1);
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp.headers_mut().extend(NO_STORE);
    resp
}

fn rfc_status(dialect: Dialect, kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidClient | ErrorKind::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorKind::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorKind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
        _ if dialect == Dialect::OptoroJson => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Twilio error code and HTTP status for an engine error.
pub fn twilio_code(kind: ErrorKind) -> (u32, StatusCode) {
    match kind {
        ErrorKind::InvalidClient | ErrorKind::InvalidToken => (20003, StatusCode::UNAUTHORIZED),
        ErrorKind::InsufficientScope => (20403, StatusCode::FORBIDDEN),
        ErrorKind::TooManyRequests { .. } => (20429, StatusCode::TOO_MANY_REQUESTS),
        ErrorKind::ServerError => (20500, StatusCode::INTERNAL_SERVER_ERROR),
        _ => (20001, StatusCode::BAD_REQUEST),
    }
}

/// A Twilio error that is not an OAuth error (unknown route, wrong method).
pub fn twilio_plain(code: u32, status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

/// RFC 6749 success, plus the Optoro `created_at`.
#[derive(Serialize)]
struct StandardToken<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

pub fn standard_token(issued: &Issued) -> Response {
    let body = StandardToken {
        access_token: &issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: &issued.scope,
        created_at: issued.issued_at,
        refresh_token: issued.refresh_token.as_deref(),
        id_token: issued.id_token.as_deref(),
    };
    (StatusCode::OK, NO_STORE, Json(body)).into_response()
}

/// Twilio v2: every field present, `null` when not issued.
#[derive(Serialize)]
struct V2Token<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    token_type: &'static str,
    expires_in: i64,
}

pub fn v2_token(issued: &Issued) -> Response {
    let body = V2Token {
        access_token: &issued.access_token,
        refresh_token: issued.refresh_token.as_deref(),
        id_token: issued.id_token.as_deref(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
    };
    (StatusCode::OK, NO_STORE, Json(body)).into_response()
}

/// Twilio v1: 201 with RFC 2822 expiry dates in GMT.
#[derive(Serialize)]
struct V1Token<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    access_token_expires_at: Option<String>,
    refresh_token_expires_at: Option<String>,
}

pub fn rfc2822(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc2822)
        .ok()
}

pub fn v1_token(issued: &Issued) -> Response {
    let body = V1Token {
        access_token: &issued.access_token,
        refresh_token: issued.refresh_token.as_deref(),
        id_token: issued.id_token.as_deref(),
        access_token_expires_at: rfc2822(issued.access_token_expires_at()),
        refresh_token_expires_at: issued.refresh_token_expires_at.and_then(rfc2822),
    };
    (StatusCode::CREATED, NO_STORE, Json(body)).into_response()
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
