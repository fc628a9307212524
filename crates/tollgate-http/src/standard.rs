//! The standard dialect: RFC 6749 form bodies and Optoro-style JSON bodies on `/oauth/*`,
//! discovery on `/.well-known/*`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tollgate_core::OAuthError;
use tollgate_core::engine::TokenRequest;

use crate::params::{self, Authorization, BodyError, BodyType, Params};
use crate::render::{self, Dialect};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/jwks", get(jwks))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server_metadata),
        )
        .route("/.well-known/jwks.json", get(jwks))
}

async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let kind = params::body_type(&headers);
    let dialect = if kind == BodyType::Json {
        Dialect::OptoroJson
    } else {
        Dialect::Rfc6749
    };
    let req = match parse_token_request(kind, &headers, body) {
        Ok(req) => req,
        Err((status, err)) => {
            let mut resp = render::error(dialect, &err);
            if let Some(status) = status {
                *resp.status_mut() = status;
            }
            return resp;
        }
    };
    match state.token(peer, req).await {
        Ok(issued) => render::standard_token(&issued),
        Err(e) => render::error(dialect, &e),
    }
}

type ParseError = (Option<StatusCode>, OAuthError);

fn parse_token_request(
    kind: BodyType,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenRequest, ParseError> {
    let body = params::body(body).map_err(|e| match e {
        BodyError::TooLarge => (
            Some(StatusCode::PAYLOAD_TOO_LARGE),
            OAuthError::invalid_request("request body is too large"),
        ),
        BodyError::Unreadable => (
            None,
            OAuthError::invalid_request("request body could not be read"),
        ),
    })?;
    let basic = match params::authorization(headers).map_err(|e| (None, e))? {
        Authorization::Basic(id, secret) => Some((id, secret)),
        Authorization::None | Authorization::Other => None,
    };
    match kind {
        BodyType::Form => form_request(&body, basic).map_err(|e| (None, e)),
        BodyType::Json => json_request(&body, basic).map_err(|e| (None, e)),
        BodyType::Other | BodyType::Missing => Err((
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded or application/json",
            ),
        )),
    }
}

fn form_request(body: &[u8], basic: Option<(String, String)>) -> Result<TokenRequest, OAuthError> {
    let p = Params::parse(body);
    Ok(TokenRequest {
        grant_type: p.one("grant_type")?,
        client: params::client_auth(basic, p.one("client_id")?, p.one("client_secret")?)?,
        account_auth: None,
        scope: p.one("scope")?,
        audience: p.all("audience"),
        account_sid: None,
        code: p.one("code")?,
        redirect_uri: p.one("redirect_uri")?,
        code_verifier: p.one("code_verifier")?,
        refresh_token: p.one("refresh_token")?,
        device_code: p.one("device_code")?,
        device_id: None,
    })
}

/// The Optoro body: strings only, no unknown fields, no repeated fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTokenBody {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    device_code: Option<String>,
}

fn json_request(body: &[u8], basic: Option<(String, String)>) -> Result<TokenRequest, OAuthError> {
    let b: JsonTokenBody = serde_json::from_slice(body).map_err(|e| {
        let mut msg = e.to_string();
        msg.truncate(200);
        OAuthError::invalid_request(format!("malformed JSON body: {msg}"))
    })?;
    let Some(grant_type) = b.grant_type.filter(|g| !g.is_empty()) else {
        return Err(OAuthError::invalid_request("grant_type is required"));
    };
    if basic.is_none() {
        if b.client_id.is_none() {
            return Err(OAuthError::invalid_request("client_id is required"));
        }
        if grant_type == "client_credentials" && b.client_secret.is_none() {
            return Err(OAuthError::invalid_request("client_secret is required"));
        }
    }
    Ok(TokenRequest {
        grant_type: Some(grant_type),
        client: params::client_auth(basic, b.client_id, b.client_secret)?,
        account_auth: None,
        scope: b.scope,
        audience: b.audience.into_iter().collect(),
        account_sid: None,
        code: b.code,
        redirect_uri: b.redirect_uri,
        code_verifier: b.code_verifier,
        refresh_token: b.refresh_token,
        device_code: b.device_code,
        device_id: None,
    })
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

async fn jwks(State(state): State<AppState>) -> Response {
    jwks_response(state.engine.key_set().jwks_json().to_string())
}

async fn openid_configuration(State(state): State<AppState>) -> Response {
    Json(crate::discovery::openid_configuration(&state)).into_response()
}

async fn authorization_server_metadata(State(state): State<AppState>) -> Response {
    Json(crate::discovery::authorization_server_metadata(&state)).into_response()
}
