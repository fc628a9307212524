//! OIDC userinfo: `/oauth/userinfo` with standard claims, `/v1/userinfo` with the v1 spec's fields.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tollgate_core::oidc::{ProfileClaims, UserInfo};
use tollgate_core::{ErrorKind, OAuthError};

use crate::params::{self, BodyType, Params};
use crate::render::{self, Dialect};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/userinfo", get(standard_get).post(standard_post))
        .route("/v1/userinfo", get(v1_get))
}

/// RFC 6750: the token from `Authorization: Bearer`, or a form body's `access_token`.
fn bearer(headers: &HeaderMap, form: Option<&Params>) -> Result<String, OAuthError> {
    let header_token = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Some(token.trim().to_owned())
            }
            _ => {
                return Err(OAuthError::new(
                    ErrorKind::InvalidRequest,
                    "use Authorization: Bearer <token>",
                ));
            }
        },
        Some(Err(_)) => {
            return Err(OAuthError::new(
                ErrorKind::InvalidRequest,
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

/// RFC 6750 section 3: errors carry a `WWW-Authenticate: Bearer` challenge.
fn bearer_error(dialect: Dialect, err: &OAuthError) -> Response {
    let mut resp = render::error(dialect, err);
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

#[derive(Serialize)]
struct StandardUserInfo {
    sub: String,
    #[serde(flatten)]
    claims: ProfileClaims,
}

async fn standard(state: &AppState, token: Result<String, OAuthError>) -> Response {
    let info = match token {
        Ok(t) => state.engine.userinfo(&t).await,
        Err(e) => Err(e),
    };
    match info {
        Ok(UserInfo { user, scopes }) => {
            let body = StandardUserInfo {
                claims: ProfileClaims::for_scopes(&user, &scopes),
                sub: user.sid.to_string(),
            };
            (StatusCode::OK, render::NO_STORE, axum::Json(body)).into_response()
        }
        Err(e) => bearer_error(Dialect::Rfc6749, &e),
    }
}

async fn standard_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    standard(&state, bearer(&headers, None)).await
}

async fn standard_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match params::body_type(&headers) {
        BodyType::Form => Some(Params::parse(&body)),
        BodyType::Missing if body.is_empty() => None,
        _ => {
            let e =
                OAuthError::invalid_request("the body must be application/x-www-form-urlencoded");
            return bearer_error(Dialect::Rfc6749, &e);
        }
    };
    standard(&state, bearer(&headers, form.as_ref())).await
}

/// The v1 spec's `oauth.v1.user_info`.
#[derive(Serialize)]
struct V1UserInfo {
    user_sid: String,
    first_name: Option<String>,
    last_name: Option<String>,
    friendly_name: Option<String>,
    email: Option<String>,
    url: String,
}

async fn v1_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let info = match bearer(&headers, None) {
        Ok(t) => state.engine.userinfo(&t).await,
        Err(e) => Err(e),
    };
    match info {
        Ok(UserInfo { user, scopes }) => {
            let has = |s: &str| scopes.iter().any(|x| x == s);
            let profile = has("profile");
            let body = V1UserInfo {
                user_sid: user.sid.to_string(),
                first_name: user.first_name.clone().filter(|_| profile),
                last_name: user.last_name.clone().filter(|_| profile),
                friendly_name: user.friendly_name.clone().filter(|_| profile),
                email: has("email").then(|| user.email.clone()),
                url: format!("{}/v1/userinfo", state.engine.issuer()),
            };
            (StatusCode::OK, render::NO_STORE, axum::Json(body)).into_response()
        }
        Err(e) => bearer_error(Dialect::Twilio, &e),
    }
}
