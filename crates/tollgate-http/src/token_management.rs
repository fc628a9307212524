//! RFC 7009 revocation and RFC 7662 introspection on `/oauth/revoke` and `/oauth/introspect`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tollgate_core::OAuthError;

use crate::params::{self, Authorization, BodyError, BodyType, Params};
use crate::render::{self, Dialect, NO_STORE};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
}

/// The client, the token and its hint from a form body.
struct Request {
    client: Option<tollgate_core::engine::ClientAuth>,
    token: String,
    hint: Option<String>,
}

fn parse(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Request, (Option<StatusCode>, OAuthError)> {
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
    if params::body_type(headers) != BodyType::Form {
        return Err((
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"),
        ));
    }
    let p = Params::parse(&body);
    let inner = || {
        let basic = match params::authorization(headers)? {
            Authorization::Basic(id, secret) => Some((id, secret)),
            _ => None,
        };
        let client = params::client_auth(basic, p.one("client_id")?, p.one("client_secret")?)?;
        let token = p
            .one("token")?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok::<_, OAuthError>(Request {
            client,
            token,
            hint: p.one("token_type_hint")?,
        })
    };
    inner().map_err(|e| (None, e))
}

fn fail(status: Option<StatusCode>, err: &OAuthError) -> Response {
    let mut resp = render::error(Dialect::Rfc6749, err);
    if let Some(s) = status {
        *resp.status_mut() = s;
    }
    resp
}

/// Parses, authenticates the client (rate limited) and runs `op` for it.
async fn handle<T, F>(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    op: F,
) -> Result<T, Response>
where
    F: AsyncFnOnce(&tollgate_core::model::Client, &str, Option<&str>) -> Result<T, OAuthError>,
{
    let req = parse(headers, body).map_err(|(status, e)| fail(status, &e))?;
    state
        .limited(peer, async {
            let client = state
                .engine
                .authenticate_for_token_management(req.client.as_ref())?;
            op(&client, &req.token, req.hint.as_deref()).await
        })
        .await
        .map_err(|e| fail(None, &e))
}

async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let engine = state.engine.clone();
    match handle(&state, peer, &headers, body, async |client, token, hint| {
        engine.revoke(client, token, hint).await
    })
    .await
    {
        Ok(()) => (StatusCode::OK, NO_STORE).into_response(),
        Err(resp) => resp,
    }
}

async fn introspect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let engine = state.engine.clone();
    match handle(&state, peer, &headers, body, async |client, token, hint| {
        engine.introspect(client, token, hint).await
    })
    .await
    {
        Ok(i) => (StatusCode::OK, NO_STORE, Json(i)).into_response(),
        Err(resp) => resp,
    }
}
