//! Extractors whose rejections are already in the dialect's format, so handlers are a few
//! lines of `?`: [`DialectRequest`] (form, or JSON where the dialect takes it),
//! [`DialectForm`] (form only) and [`Credentials`] (the `Authorization` header).

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use tollgate_core::OAuthError;

use crate::dialect::{Dialect, ErrorStyle};
use crate::error::{HttpError, Rejection};
use crate::params::{self, Authorization, BodyType, Params};

/// A request body as the dialect accepted it.
#[derive(Debug)]
pub enum Body {
    Form(Params),
    Json(Bytes),
}

/// What a dialect reads a request from: credentials, query string and body.
#[derive(Debug)]
pub struct Input {
    pub auth: Authorization,
    pub query: Params,
    pub body: Body,
    /// RFC 9449 `DPoP` header.
    pub dpop: Option<String>,
    /// The request path, for the URL a DPoP proof or an assertion's `aud` names.
    pub path: String,
}

impl Input {
    /// The form body, or no parameters for a JSON body.
    pub fn form(&self) -> &Params {
        static EMPTY: Params = Params::empty();
        match &self.body {
            Body::Form(p) => p,
            Body::Json(_) => &EMPTY,
        }
    }

    /// Errors about a JSON body use the JSON statuses.
    pub fn style(&self) -> ErrorStyle {
        ErrorStyle {
            status: None,
            json: matches!(self.body, Body::Json(_)),
        }
    }

    /// HTTP Basic credentials, if any.
    pub fn basic(&self) -> Option<(String, String)> {
        self.auth.basic()
    }
}

/// The whole request of dialect `D`.
pub struct DialectRequest<D>(pub Input, pub PhantomData<fn() -> D>);

impl<D: Dialect, S: Send + Sync> FromRequest<S> for DialectRequest<D> {
    type Rejection = HttpError<D>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        let query = Params::parse(req.uri().query().unwrap_or_default().as_bytes());
        let path = req.uri().path().to_owned();
        let kind = params::body_type(headers);
        let json = D::JSON_BODIES && kind == BodyType::Json;
        let style = ErrorStyle { status: None, json };
        // Read from the headers before the body takes the request (no copy of the headers);
        // their errors still come after the body's, as before.
        let auth = params::authorization(headers);
        let dpop = params::dpop_header(headers);
        let bytes = read_bytes(req, state).await.map_err(|r| styled(r, json))?;
        let body = if json {
            Body::Json(bytes)
        } else {
            Body::Form(form::<D>(kind, &bytes)?)
        };
        let auth = auth.map_err(|e| HttpError::new(e, style))?;
        let dpop = dpop.map_err(|e| HttpError::new(e, style))?;
        Ok(Self(
            Input {
                auth,
                query,
                body,
                dpop,
                path,
            },
            PhantomData,
        ))
    }
}

/// A form body of dialect `D`.
pub struct DialectForm<D>(pub Params, pub PhantomData<fn() -> D>);

impl<D: Dialect, S: Send + Sync> FromRequest<S> for DialectForm<D> {
    type Rejection = HttpError<D>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let kind = params::body_type(req.headers());
        let bytes = read_bytes(req, state).await?;
        Ok(Self(form::<D>(kind, &bytes)?, PhantomData))
    }
}

/// The `Authorization` header, parsed; a repeated or malformed header is refused in `D`'s
/// format.
pub struct Credentials<D>(pub Authorization, pub PhantomData<fn() -> D>);

impl<D: Dialect, S: Send + Sync> FromRequestParts<S> for Credentials<D> {
    type Rejection = HttpError<D>;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(params::authorization(&parts.headers)?, PhantomData))
    }
}

fn styled(mut r: Rejection, json: bool) -> Rejection {
    r.style.json = json;
    r
}

/// The body, within the router's size limit (413 otherwise).
pub async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Rejection> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Rejection::new(OAuthError::invalid_request("request body is too large"))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            Rejection::new(OAuthError::invalid_request(
                "request body could not be read",
            ))
        }
    })
}

fn form<D: Dialect>(kind: BodyType, bytes: &[u8]) -> Result<Params, Rejection> {
    match kind {
        BodyType::Form => Ok(Params::parse(bytes)),
        BodyType::Missing if D::EMPTY_BODY_IS_FORM && bytes.is_empty() => Ok(Params::default()),
        _ => Err(
            Rejection::new(OAuthError::invalid_request(if D::JSON_BODIES {
                "the body must be application/x-www-form-urlencoded or application/json"
            } else {
                "the body must be application/x-www-form-urlencoded"
            }))
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ),
    }
}

/// A JSON body that must be an object; serde's message is kept short and cut on a character
/// boundary.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, OAuthError> {
    // An object starts with `{`; serde then reads it once, refusing repeated keys.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(OAuthError::invalid_request(
            "malformed JSON body: the body must be a JSON object",
        ));
    }
    // Deserialize from the bytes, not the value, so repeated keys are still refused.
    serde_json::from_slice(bytes).map_err(malformed)
}

fn malformed(e: serde_json::Error) -> OAuthError {
    let msg: String = e.to_string().chars().take(200).collect();
    OAuthError::invalid_request(format!("malformed JSON body: {msg}"))
}

/// A JSON body for endpoints outside the dialects (the admin API): empty means none.
pub fn json_body<T: DeserializeOwned + Default>(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<T, Rejection> {
    if bytes.is_empty() {
        return Ok(T::default());
    }
    if params::body_type(headers) != BodyType::Json {
        return Err(Rejection::new(OAuthError::invalid_request(
            "the body must be application/json",
        )));
    }
    json_object(bytes).map_err(Rejection::new)
}
