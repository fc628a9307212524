//! What an account's administrator reviews of dynamic registration: how each registered client
//! came in, and the initial access tokens still able to register one (with revocation).

use super::{Admin, AdminResult, Caller};
use crate::ids::{AccountSid, ClientId};
use crate::model::{InitialAccessToken, RegisteredVia};
use crate::secret::SecretDigest;

impl Admin {
    /// How each client the caller may see registered itself (RFC 7591, or a metadata
    /// document); clients created by an administrator are not listed.
    pub async fn registrations(
        &self,
        caller: &Caller,
    ) -> AdminResult<Vec<(ClientId, RegisteredVia)>> {
        let mut out = Vec::new();
        for id in self.store.registered_clients(caller.scope()).await? {
            if let Some(r) = self.store.client_registration(&id).await? {
                out.push((id, r.via));
            }
        }
        Ok(out)
    }

    /// The account's initial access tokens that can still register a client.
    pub async fn initial_access_tokens(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
    ) -> AdminResult<Vec<InitialAccessToken>> {
        let account = self.policy_account(caller, account).await?;
        Ok(self
            .store
            .initial_access_tokens(&account, self.clock.now())
            .await?)
    }

    /// Revokes the initial access token whose digest is `digest_hex`; false when the account
    /// has no such token.
    pub async fn revoke_initial_access_token(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
        digest_hex: &str,
    ) -> AdminResult<bool> {
        let account = self.policy_account(caller, account).await?;
        let Some(digest) = SecretDigest::from_hex(digest_hex) else {
            return Ok(false);
        };
        Ok(self
            .store
            .delete_initial_access_token(&account, &digest)
            .await?)
    }
}
