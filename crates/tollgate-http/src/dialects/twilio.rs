//! What Twilio's OAuth v1 and v2 APIs and its account (admin) API share: the error body
//! `{code, message, more_info, status}`, the authorize redirect with `{redirect_to}`, and their
//! OpenAPI shapes. Not a dialect: the two Twilio dialect units and the admin API use it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_core::{ErrorKind, OAuthError};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ContentBuilder, Response as Doc, ResponseBuilder};

use crate::error::ErrorCause;

/// The [`crate::dialect::Dialect`] methods both Twilio dialects answer alike: Twilio errors,
/// 404s and 405s, and the `{redirect_to}` authorize redirect. Expands inside an `impl Dialect`.
macro_rules! twilio_answers {
    () => {
        fn authorize_redirect(url: &str, issuer: &str) -> axum::response::Response {
            $crate::dialects::twilio::redirect(url, issuer)
        }

        fn authorize_error(err: &tollgate_core::OAuthError) -> Option<axum::response::Response> {
            Some($crate::dialects::twilio::error(err))
        }

        fn error_response(
            err: &tollgate_core::OAuthError,
            _style: $crate::dialect::ErrorStyle,
        ) -> axum::response::Response {
            $crate::dialects::twilio::error(err)
        }

        fn not_found() -> axum::response::Response {
            $crate::dialects::twilio::not_found()
        }

        fn method_not_allowed() -> axum::response::Response {
            $crate::dialects::twilio::method_not_allowed()
        }
    };
}
use crate::openapi::{Op, html, integer, json, object, redirect_with_body, string};
use crate::render::finish_error;
pub(crate) use twilio_answers;

#[derive(Serialize)]
struct TwilioErrorBody {
    code: u32,
    message: String,
    more_info: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    throttled_until: Option<String>,
}

/// Twilio's error code and HTTP status for an engine error.
fn code(kind: ErrorKind) -> (u32, StatusCode) {
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
pub fn error(err: &OAuthError) -> Response {
    let (code, status) = code(err.kind);
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
pub fn plain(code: u32, status: StatusCode, message: &str) -> Response {
    let body = TwilioErrorBody {
        code,
        message: message.to_owned(),
        more_info: more_info(code),
        status: status.as_u16(),
        throttled_until: None,
    };
    (status, Json(body)).into_response()
}

pub fn not_found() -> Response {
    plain(
        20404,
        StatusCode::NOT_FOUND,
        "The requested resource was not found",
    )
}

pub fn method_not_allowed() -> Response {
    plain(20004, StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// The Twilio authorize answer: `302 Found` with `Location` and the v2 spec's
/// `{"redirect_to": …}` body, so a browser follows it and an SDK reads it. Relative targets
/// (the sign-in page) are made absolute on the issuer.
pub fn redirect(url: &str, issuer: &str) -> Response {
    let absolute = if url.starts_with('/') {
        format!("{issuer}{url}")
    } else {
        url.to_owned()
    };
    let Ok(location) = HeaderValue::from_str(&absolute) else {
        let resp = plain(20500, StatusCode::INTERNAL_SERVER_ERROR, "bad redirect");
        return ErrorCause::attach(resp, || "the redirect is not a valid Location".into());
    };
    let body = serde_json::json!({ "redirect_to": absolute });
    (
        StatusCode::FOUND,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// `{code, message, more_info, status}`, with `throttled_until` on 429.
pub fn error_schema() -> Schema {
    object(vec![
        ("code", integer(), true),
        ("message", string(), true),
        ("more_info", string(), true),
        ("status", integer(), true),
        ("throttled_until", string(), false),
    ])
}

/// The error statuses of a Twilio route.
pub const ERRORS: &[&str] = &["400", "401", "429", "503"];

/// The Twilio authorize redirect: `Location` and `{"redirect_to": …}`.
pub fn redirect_to() -> Doc {
    let body = object(vec![("redirect_to", string(), true)]);
    redirect_with_body("Redirect; the body repeats the target for SDKs", body)
}

/// A Twilio error for API callers, the error page for browsers.
pub fn error_or_page() -> Doc {
    ResponseBuilder::new()
        .description("Twilio error (an HTML page when the caller asks for text/html)")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(error_schema())).build(),
        )
        .content(
            "text/html; charset=utf-8",
            ContentBuilder::new().schema(Some(string())).build(),
        )
        .build()
}

/// `GET <path>`: an authorization endpoint taking `query`, answering Twilio's redirect.
pub fn authorize_op(path: &'static str, tag: &'static str, summary: &'static str) -> Op {
    Op::get(path, tag)
        .summary(summary)
        .respond("200", html("Consent page"))
        .respond("302", redirect_to())
        .respond("400", error_or_page())
}

/// An operation's Twilio error answers.
pub fn errors(op: Op, statuses: &[&'static str]) -> Op {
    op.respond_all(statuses, &json("Twilio error", error_schema()))
}
