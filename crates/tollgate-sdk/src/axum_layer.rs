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
use crate::resource_metadata::ProtectedResource;
use crate::validator::{Claims, Validator};

/// Refuses requests without a valid bearer token (RFC 6750) and hands the claims to the
/// handler through [`Authenticated`].
#[derive(Clone)]
pub struct RequireToken {
    validator: Validator,
    scopes: Arc<[String]>,
    /// RFC 9728 section 5.1: named in every challenge, so a refused client can discover the
    /// authorization server.
    resource_metadata: Option<Arc<str>>,
}

impl RequireToken {
    pub fn new(validator: Validator) -> Self {
        Self {
            validator,
            scopes: Arc::from(Vec::new()),
            resource_metadata: None,
        }
    }

    /// The layer of an API that publishes RFC 9728 metadata: its challenges carry
    /// `resource_metadata` (serve [`ProtectedResource::router`] beside it).
    pub fn for_resource(validator: Validator, resource: &ProtectedResource) -> Self {
        let mut layer = Self::new(validator);
        layer.resource_metadata = Some(Arc::from(resource.metadata_url()));
        layer
    }

    /// 403 `insufficient_scope` naming the scopes a request needs (RFC 6750 section 3), for a
    /// handler that decides per operation: the client can ask for them and retry (step-up).
    pub fn insufficient_scope(&self, needed: &[&str]) -> Response {
        let needed: Vec<String> = needed.iter().map(|s| (*s).to_owned()).collect();
        let e = ValidationError::InsufficientScope(format!(
            "this operation needs the scope {:?}",
            needed.join(" ")
        ));
        rejection(&e, &self.challenge(&needed))
    }

    fn challenge<'a>(&'a self, scopes: &'a [String]) -> Challenge<'a> {
        Challenge {
            resource_metadata: self.resource_metadata.as_deref(),
            scopes,
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
                Err(e) => Ok(rejection(&e, &guard.challenge(&guard.scopes))),
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

/// What a challenge names beside the error: where the resource's metadata is, and which scopes
/// the request needs.
struct Challenge<'a> {
    resource_metadata: Option<&'a str>,
    scopes: &'a [String],
}

/// RFC 6750 section 3: the challenge, and a JSON body for people reading it.
fn rejection(e: &ValidationError, with: &Challenge<'_>) -> Response {
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
    let quoted = |v: &str| v.replace(['"', '\\'], "'");
    let mut challenge = "Bearer realm=\"api\"".to_owned();
    if let Some(url) = with.resource_metadata {
        challenge.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
    }
    if let Some(c) = code {
        challenge.push_str(&format!(
            ", error=\"{c}\", error_description=\"{}\"",
            quoted(description)
        ));
    }
    // MCP authorization (scope selection): a 401 names the scopes to ask for too, so the
    // client's first authorization asks for what this API needs, not for everything.
    let names_scope = matches!(
        e,
        ValidationError::InsufficientScope(_)
            | ValidationError::Missing
            | ValidationError::InvalidToken(_)
    );
    if names_scope && !with.scopes.is_empty() {
        challenge.push_str(&format!(", scope=\"{}\"", quoted(&with.scopes.join(" "))));
    }
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
            .ok_or_else(|| {
                let none = Challenge {
                    resource_metadata: None,
                    scopes: &[],
                };
                rejection(&ValidationError::Missing, &none)
            })
    }
}
