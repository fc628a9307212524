//! RFC 7009 revocation and RFC 7662 introspection, generic over the dialect (today only the
//! standard dialect registers them, on `/oauth/revoke` and `/oauth/introspect`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tollgate_core::OAuthError;
use tollgate_core::client_auth::AuthenticatedClient;
use tollgate_core::engine::ClientAuth;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::{Credentials, DialectForm};
use crate::params::Params;
use crate::render::{NO_STORE, no_store_json};
use crate::state::AppState;

/// The client, the token and its hint from a form body.
struct TokenManagementRequest {
    client: Option<ClientAuth>,
    token: String,
    hint: Option<String>,
}

impl TokenManagementRequest {
    fn read(client: Option<ClientAuth>, p: &Params) -> Result<Self, OAuthError> {
        let token = p
            .one("token")?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        Ok(Self {
            client,
            token,
            hint: p.one("token_type_hint")?,
        })
    }
}

/// Authenticates the client (rate limited) and hands it the request.
async fn authenticated(
    state: &AppState,
    peer: SocketAddr,
    client: Option<ClientAuth>,
    form: &Params,
    path: &str,
) -> Result<(AuthenticatedClient, TokenManagementRequest), OAuthError> {
    let mut req = TokenManagementRequest::read(client, form)?;
    if let Some(c) = &mut req.client {
        c.endpoint = Some(state.endpoint_url(path));
    }
    let engine = &state.engine;
    let client = state
        .authenticated(
            peer,
            engine.authenticate_for_token_management(req.client.as_ref()),
        )
        .await?;
    Ok((client, req))
}

pub async fn revoke<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    Credentials(auth, ..): Credentials<D>,
    DialectForm(form, ..): DialectForm<D>,
) -> Result<Response, HttpError<D>> {
    let client = D::client_auth(&auth, &form)?;
    let (client, req) = authenticated(&state, peer, client, &form, uri.path()).await?;
    let engine = &state.engine;
    engine
        .revoke(&client, &req.token, req.hint.as_deref())
        .await?;
    Ok((StatusCode::OK, NO_STORE).into_response())
}

pub async fn introspect<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    Credentials(auth, ..): Credentials<D>,
    DialectForm(form, ..): DialectForm<D>,
) -> Result<Response, HttpError<D>> {
    let client = D::client_auth(&auth, &form)?;
    let (client, req) = authenticated(&state, peer, client, &form, uri.path()).await?;
    let engine = &state.engine;
    let info = engine
        .introspect(&client, &req.token, req.hint.as_deref())
        .await?;
    Ok(no_store_json(StatusCode::OK, info))
}
