//! The token endpoint's flow: the grant type, client authentication (once), the admission
//! hook, the client's grant-type policy and DPoP proof, then the grant's own unit.

use super::{Engine, TokenRequest};
use crate::client_auth::AuthenticatedClient;
use crate::error::{ErrorKind, OAuthError};
use crate::grants;
use crate::model::{Client, GrantType};
use crate::policy::check_grant_type;
use crate::token::Issued;

impl Engine {
    pub async fn token(&self, req: TokenRequest) -> Result<Issued, OAuthError> {
        self.token_admitted(req, |_| Ok(())).await
    }

    /// As [`Engine::token`]; `admit` sees the client as soon as it has authenticated, so
    /// per-client limits, logs and metrics key on the authenticated client, never on a
    /// `client_id` the request carried.
    pub async fn token_admitted(
        &self,
        req: TokenRequest,
        admit: impl FnOnce(&AuthenticatedClient) -> Result<(), OAuthError> + Send,
    ) -> Result<Issued, OAuthError> {
        let grant = match req.grant_type.as_deref() {
            None | Some("") => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(g) => g
                .parse::<GrantType>()
                .map_err(|e| OAuthError::new(ErrorKind::UnsupportedGrantType, e.to_string()))?,
        };
        let client = self
            .authenticate_client(req.client.as_ref(), req.account_auth.as_ref())
            .await?;
        admit(&client)?;
        check_grant_type(&client, grant)?;
        let jkt = self.token_dpop(&client, &req).await?;
        let client = client.with_dpop_jkt(jkt);
        let issued = grants::dispatch(self, grant, &client, req).await;
        if issued.is_ok() {
            self.issued.record(client.account(), self.clock.now());
        }
        issued
    }

    /// The DPoP key a token request proves, when it sends a proof; required of clients
    /// registered for DPoP-bound tokens.
    async fn token_dpop(
        &self,
        client: &Client,
        req: &TokenRequest,
    ) -> Result<Option<String>, OAuthError> {
        match &req.dpop {
            Some(proof) => Ok(Some(
                self.verify_dpop_proof(proof, None, client.is_fapi())
                    .await?,
            )),
            None if client.requires_dpop() => Err(OAuthError::new(
                ErrorKind::InvalidDpopProof,
                "this client must send a DPoP proof: its tokens are DPoP-bound",
            )),
            None => Ok(None),
        }
    }
}
