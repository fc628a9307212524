//! RFC 9126 pushed authorization requests, generic over the dialect (the standard dialect
//! registers it on `/oauth/par`): the client authenticates as at the token endpoint and
//! posts the authorization parameters in its dialect's names.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::DialectRequest;
use crate::render::no_store_json;
use crate::state::AppState;

pub async fn push<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    DialectRequest(input, ..): DialectRequest<D>,
) -> Result<Response, HttpError<D>> {
    let form = input.form();
    let mut client = D::client_auth(&input.auth, form)?;
    state.bind_request(&mut client, &input);
    let params = D::authorize_params(form)?;
    let proof = state.dpop_proof("POST", &input);
    let engine = &state.engine;
    // Boxed at the source, like every client authentication: its future is large.
    let check = Box::pin(engine.authenticate_for_token_management(client.as_ref()));
    let client = state.authenticated(peer, check).await?;
    let result = state
        .engine
        .push_authorization_request(&client, params, proof.as_ref())
        .await;
    let nonce_wanted = proof.is_some()
        || matches!(&result, Err(e) if e.kind == tollgate_core::ErrorKind::UseDpopNonce);
    let resp = match result {
        Ok(pushed) => no_store_json(StatusCode::CREATED, pushed),
        Err(e) => axum::response::IntoResponse::into_response(HttpError::<D>::from(e)),
    };
    Ok(state.with_dpop_nonce(resp, nonce_wanted))
}
