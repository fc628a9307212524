//! One tower layer and one axum extractor: the whole resource-side API.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::ValidationError;
use crate::validator::{Claims, Validator};

/// Refuses requests without a valid bearer token (RFC 6750) and hands the claims to the
/// handler through [`Authenticated`].
#[derive(Clone)]
pub struct RequireToken {
    validator: Validator,
    scopes: Arc<[String]>,
}

impl RequireToken {
    pub fn new(validator: Validator) -> Self {
        Self {
            validator,
            scopes: Arc::from(Vec::new()),
        }
    }

    /// Scopes every request under this layer must carry (403 `insufficient_scope` otherwise).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService {
            inner,
            guard: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequireTokenService<S> {
    inner: S,
    guard: RequireToken,
}

impl<S> Service<Request<Body>> for RequireTokenService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // The clone is not ready; keep the ready one for this call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let result = match bearer(req.headers().get(header::AUTHORIZATION)) {
                Ok(token) => guard.validator.validate(token, &guard.scopes).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(claims) => {
                    req.extensions_mut().insert(claims);
                    inner.call(req).await
                }
                Err(e) => Ok(rejection(&e)),
            }
        })
    }
}

fn bearer(value: Option<&HeaderValue>) -> Result<&str, ValidationError> {
    let Some(value) = value else {
        return Err(ValidationError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| ValidationError::InvalidToken("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ValidationError::InvalidToken(
            "use Authorization: Bearer <token>".into(),
        )),
    }
}

/// RFC 6750 section 3: the challenge, and a JSON body for people reading it.
fn rejection(e: &ValidationError) -> Response {
    let (status, code, description) = match e {
        ValidationError::Missing => (StatusCode::UNAUTHORIZED, None, "a bearer token is required"),
        ValidationError::InvalidToken(d) => {
            (StatusCode::UNAUTHORIZED, Some("invalid_token"), d.as_str())
        }
        ValidationError::InvalidDpopProof(d) => (
            StatusCode::UNAUTHORIZED,
            Some("invalid_dpop_proof"),
            d.as_str(),
        ),
        ValidationError::InsufficientScope(d) => (
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            d.as_str(),
        ),
        ValidationError::Unavailable(d) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable"),
            d.as_str(),
        ),
    };
    let safe = description.replace(['"', '\\'], "'");
    let challenge = match code {
        Some(c) => format!("Bearer realm=\"api\", error=\"{c}\", error_description=\"{safe}\""),
        None => "Bearer realm=\"api\"".to_owned(),
    };
    let body = serde_json::json!({
        "error": code.unwrap_or("invalid_request"),
        "error_description": description,
    });
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// The accepted token's claims, in a handler under [`RequireToken`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Claims>()
            .cloned()
            .map(Authenticated)
            // Used without the layer: nothing was checked, so nothing is let through.
            .ok_or_else(|| rejection(&ValidationError::Missing))
    }
}
