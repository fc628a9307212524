//! RFC 7009 revocation and RFC 7662 introspection, generic over the dialect (today only the
//! standard dialect registers them, on `/oauth/revoke` and `/oauth/introspect`).

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tollgate_core::OAuthError;
use tollgate_core::client_auth::AuthenticatedClient;
use tollgate_core::engine::ClientAuth;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::{Credentials, DialectForm};
use crate::params::{Authorization, Params};
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

/// A revocation or introspection request whose client authenticated (rate limited): the
/// client reads through the dialect, the token and hint from the form.
pub struct Managed<D> {
    client: AuthenticatedClient,
    token: String,
    hint: Option<String>,
    dialect: PhantomData<fn() -> D>,
}

impl<D: Dialect> FromRequest<AppState> for Managed<D> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Credentials(auth, ..) = Credentials::<D>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let path = parts.uri.path().to_owned();
        let DialectForm(form, ..) =
            DialectForm::<D>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        authenticate(state, peer, &auth, &form, &path)
            .await
            .map_err(|e| HttpError::<D>::from(e).into_response())
    }
}

async fn authenticate<D: Dialect>(
    state: &AppState,
    peer: SocketAddr,
    auth: &Authorization,
    form: &Params,
    path: &str,
) -> Result<Managed<D>, OAuthError> {
    let client = D::client_auth(auth, form)?;
    let mut req = TokenManagementRequest::read(client, form)?;
    if let Some(c) = &mut req.client {
        c.endpoint = Some(state.endpoint_url(path));
    }
    let engine = &state.engine;
    // Boxed at the source: client authentication's future is large, and every future that
    // held it inline would copy it each time it moved.
    let check = Box::pin(engine.authenticate_for_token_management(req.client.as_ref()));
    let client = state.authenticated(peer, check).await?;
    Ok(Managed {
        client,
        token: req.token,
        hint: req.hint,
        dialect: PhantomData,
    })
}

pub async fn revoke<D: Dialect>(
    State(state): State<AppState>,
    m: Managed<D>,
) -> Result<Response, HttpError<D>> {
    let engine = &state.engine;
    engine
        .revoke(&m.client, &m.token, m.hint.as_deref())
        .await?;
    Ok((StatusCode::OK, NO_STORE).into_response())
}

pub async fn introspect<D: Dialect>(
    State(state): State<AppState>,
    m: Managed<D>,
) -> Result<Response, HttpError<D>> {
    let engine = &state.engine;
    let info = Box::pin(engine.introspect(&m.client, &m.token, m.hint.as_deref())).await?;
    Ok(no_store_json(StatusCode::OK, info))
}
