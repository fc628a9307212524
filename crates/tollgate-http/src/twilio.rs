//! The Twilio dialects: `/v1/*` (PascalCase, 201) and `/v2/*` (snake_case, 200), both with
//! Twilio's error body.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tollgate_core::OAuthError;
use tollgate_core::engine::TokenRequest;
use tollgate_core::ids::AccountSid;

use crate::params::{self, Authorization, BodyError, BodyType, Params};
use crate::render::{self, Dialect};
use crate::standard::jwks_response;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/.well-known/openid-configuration", get(v1_discovery))
        .route("/v1/certs", get(v1_certs))
        .route("/v1/token", post(v1_token))
        .route("/v2/token", post(v2_token))
}

fn fail(err: OAuthError) -> Response {
    render::error(Dialect::Twilio, &err)
}

/// Twilio endpoints take form bodies only.
fn form_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, OAuthError> {
    let body = params::body(body).map_err(|e| match e {
        BodyError::TooLarge => OAuthError::invalid_request("request body is too large"),
        BodyError::Unreadable => OAuthError::invalid_request("request body could not be read"),
    })?;
    match params::body_type(headers) {
        BodyType::Form => Ok(Params::parse(&body)),
        BodyType::Missing if body.is_empty() => Ok(Params::default()),
        _ => Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )),
    }
}

fn is_account_sid(user: &str) -> bool {
    AccountSid::parse(user).is_ok()
}

async fn v2_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = match v2_request(query.as_deref(), &headers, body) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match state.token(peer, req).await {
        Ok(issued) => render::v2_token(&issued),
        Err(e) => fail(e),
    }
}

fn v2_request(
    query: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenRequest, OAuthError> {
    let p = form_body(headers, body)?;
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    // Twilio's SDKs send an empty Authorization header or their account credentials here.
    let basic = match params::authorization(headers)? {
        Authorization::Basic(user, _) if is_account_sid(&user) => None,
        Authorization::Basic(user, pass) => Some((user, pass)),
        Authorization::None | Authorization::Other => None,
    };
    let account_sid = match (q.one("account_sid")?, p.one("account_sid")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(OAuthError::invalid_request(
                "account_sid in the query string and in the body disagree",
            ));
        }
        (a, b) => a.or(b),
    };
    Ok(TokenRequest {
        grant_type: p.one("grant_type")?,
        client: params::client_auth(basic, p.one("client_id")?, p.one("client_secret")?)?,
        account_auth: None,
        scope: p.one("scope")?,
        audience: p.one("audience")?.into_iter().collect(),
        account_sid,
        code: p.one("code")?,
        redirect_uri: p.one("redirect_uri")?,
        code_verifier: p.one("code_verifier")?,
        refresh_token: p.one("refresh_token")?,
        device_code: p.one("device_code")?,
        device_id: p.one("device_id")?,
    })
}

async fn v1_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = match v1_request(&headers, body) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match state.token(peer, req).await {
        Ok(issued) => render::v1_token(&issued),
        Err(e) => fail(e),
    }
}

fn v1_request(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenRequest, OAuthError> {
    let p = form_body(headers, body)?;
    let (account_auth, basic) = match params::authorization(headers)? {
        Authorization::Basic(user, pass) if is_account_sid(&user) => (Some((user, pass)), None),
        Authorization::Basic(user, pass) => (None, Some((user, pass))),
        Authorization::None | Authorization::Other => (None, None),
    };
    // `ClientId` is the newer v1 spec's name for `ClientSid`.
    let client_id = p.one_of(&["ClientSid", "ClientId"])?;
    Ok(TokenRequest {
        grant_type: p.one("GrantType")?,
        client: params::client_auth(basic, client_id, p.one("ClientSecret")?)?,
        account_auth,
        scope: p.one("Scope")?,
        audience: Vec::new(),
        account_sid: None,
        code: p.one("Code")?,
        redirect_uri: p.one("RedirectUri")?,
        code_verifier: p.one("CodeVerifier")?,
        refresh_token: p.one("RefreshToken")?,
        device_code: p.one("DeviceCode")?,
        device_id: p.one("DeviceId")?,
    })
}

async fn v1_discovery(State(state): State<AppState>) -> Response {
    axum::Json(crate::discovery::v1_openid_configuration(&state)).into_response()
}

async fn v1_certs(State(state): State<AppState>) -> Response {
    let keys = state.engine.key_set();
    let url = serde_json::Value::String(format!("{}/v1/certs", state.engine.issuer()));
    jwks_response(format!(r#"{{"keys":{},"url":{url}}}"#, keys.keys_json()))
}

/// Unknown `/v1` and `/v2` paths answer in Twilio's format.
pub async fn not_found() -> Response {
    render::twilio_plain(
        20404,
        StatusCode::NOT_FOUND,
        "The requested resource was not found",
    )
}
