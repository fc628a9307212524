//! OIDC userinfo, generic over the dialect: the token comes from `Authorization: Bearer` (or,
//! on POST, a form body's `access_token`); the dialect shapes the body.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tollgate_core::{ErrorKind, OAuthError};

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::params::{self, BodyType, Params};
use crate::state::AppState;

/// An error with RFC 6750 section 3's `WWW-Authenticate: Bearer` challenge.
pub struct BearerError<D>(HttpError<D>);

impl<D> From<OAuthError> for BearerError<D> {
    fn from(e: OAuthError) -> Self {
        Self(e.into())
    }
}

impl<D: Dialect> IntoResponse for BearerError<D> {
    fn into_response(self) -> Response {
        let err = self.0.error.clone();
        let mut resp = self.0.into_response();
        let challenge = match err.kind {
            ErrorKind::InvalidToken | ErrorKind::InsufficientScope | ErrorKind::InvalidRequest => {
                format!(
                    "Bearer realm=\"tollgate\", error=\"{}\", error_description=\"{}\"",
                    err.kind.code(),
                    err.description.replace(['"', '\\'], "'")
                )
            }
            _ => "Bearer realm=\"tollgate\"".to_owned(),
        };
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// RFC 6750: the token from `Authorization: Bearer`, or a form body's `access_token`.
pub(crate) fn bearer(headers: &HeaderMap, form: Option<&Params>) -> Result<String, OAuthError> {
    let header_token = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Some(token.trim().to_owned())
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "use Authorization: Bearer <token>",
                ));
            }
        },
        Some(Err(_)) => {
            return Err(OAuthError::invalid_request(
                "malformed Authorization header",
            ));
        }
    };
    let body_token = match form {
        Some(p) => p.one("access_token")?,
        None => None,
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("send the access token once")),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(OAuthError::new(
            ErrorKind::InvalidToken,
            "an access token is required",
        )),
    }
}

async fn answer<D: Dialect>(state: &AppState, token: String) -> Result<Response, BearerError<D>> {
    let info = state.engine.userinfo(&token).await?;
    Ok(D::userinfo_response(&info, state.engine.issuer()))
}

pub async fn get<D: Dialect>(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, BearerError<D>> {
    answer(&state, bearer(&headers, None)?).await
}

pub async fn post<D: Dialect>(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, BearerError<D>> {
    let headers = req.headers().clone();
    let body = crate::extract::read_bytes(req, &())
        .await
        .map_err(|r| BearerError(HttpError::from(r)))?;
    let form = match params::body_type(&headers) {
        BodyType::Form => Some(Params::parse(&body)),
        BodyType::Missing if body.is_empty() => None,
        _ => {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .into());
        }
    };
    answer(&state, bearer(&headers, form.as_ref())?).await
}
