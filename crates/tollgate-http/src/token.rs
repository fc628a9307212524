//! The token endpoint (RFC 6749 section 3.2), generic over the dialect.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::Response;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::DialectRequest;
use crate::state::AppState;

pub async fn token<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    DialectRequest(input, ..): DialectRequest<D>,
) -> Result<Response, HttpError<D>> {
    let style = input.style();
    let fail = |e| HttpError::new(e, style);
    let req = D::token_request(&input).map_err(fail)?;
    let issued = state.token(peer, req).await.map_err(fail)?;
    Ok(D::token_response(&issued))
}
