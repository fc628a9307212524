//! The RFC 8628 device authorization endpoint, generic over the dialect. The page where a
//! person enters the code is in `pages::device`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::Response;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::DialectRequest;
use crate::state::AppState;

pub async fn device_authorization<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    DialectRequest(input, ..): DialectRequest<D>,
) -> Result<Response, HttpError<D>> {
    let mut req = D::device_request(&input)?;
    state.bind_request(&mut req.client, &input);
    let engine = &state.engine;
    // Boxed at the source, like every client authentication: its future is large.
    let check = Box::pin(engine.authenticate_device_client(&req));
    let client = state.authenticated(peer, check).await?;
    let granted = engine.authorize_device(&client, req).await?;
    Ok(D::device_response(&granted))
}
