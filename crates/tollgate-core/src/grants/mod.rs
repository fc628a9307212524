//! The token endpoint's grants, one unit each (RFC 6749 section 4 and the extensions).
//!
//! A grant reads its typed parameters from a [`TokenRequest`] and issues for an
//! [`AuthenticatedClient`]. Client authentication, the grant-type check and the DPoP proof run
//! before it (`Engine::token`); the client's scope and audience policy is one call it makes
//! (`Engine::client_policy`); every user grant ends in one shared tail ([`UserGrant`]).
//!
//! A new grant is a new file here implementing [`Grant`] and one arm in [`dispatch`] (plus its
//! `GrantType` variant, which clients register).

mod authorization_code;
mod client_credentials;
mod device_code;
mod mint;
mod refresh_token;
mod user_grant;

use std::future::Future;

use crate::client_auth::AuthenticatedClient;
use crate::engine::{Engine, TokenRequest};
use crate::error::OAuthError;
use crate::model::GrantType;
use crate::token::Issued;

pub(crate) use user_grant::{NewFamily, UserGrant};

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use device_code::DeviceCodeGrant;
pub use refresh_token::RefreshTokenGrant;

/// One grant type of the token endpoint.
pub trait Grant {
    /// The `grant_type` it handles.
    const TYPE: GrantType;
    /// The parameters it reads, taken out of the request.
    type Params: Send;

    /// Reads and checks the parameters (`invalid_request` when one is missing).
    fn params(req: TokenRequest) -> Result<Self::Params, OAuthError>;

    /// Issues tokens for the authenticated client.
    fn issue(
        engine: &Engine,
        client: &AuthenticatedClient,
        params: Self::Params,
    ) -> impl Future<Output = Result<Issued, OAuthError>> + Send;
}

async fn run<G: Grant>(
    engine: &Engine,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<Issued, OAuthError> {
    let params = G::params(req)?;
    G::issue(engine, client, params).await
}

/// The registry: a grant type to its unit.
pub(crate) async fn dispatch(
    engine: &Engine,
    grant: GrantType,
    client: &AuthenticatedClient,
    req: TokenRequest,
) -> Result<Issued, OAuthError> {
    match grant {
        GrantType::ClientCredentials => run::<ClientCredentialsGrant>(engine, client, req).await,
        GrantType::AuthorizationCode => run::<AuthorizationCodeGrant>(engine, client, req).await,
        GrantType::RefreshToken => run::<RefreshTokenGrant>(engine, client, req).await,
        GrantType::DeviceCode => run::<DeviceCodeGrant>(engine, client, req).await,
    }
}

/// A required, non-empty parameter.
pub(crate) fn required(value: Option<String>, name: &str) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

pub(crate) fn invalid_grant(msg: &'static str) -> OAuthError {
    OAuthError::new(crate::error::ErrorKind::InvalidGrant, msg)
}
