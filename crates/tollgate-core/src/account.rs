//! What the account page does for the signed-in person: their sessions (end one or all
//! others), the apps they granted (withdraw consent and revoke the app's refresh tokens),
//! and a password change that ends every other session.

use crate::engine::Engine;
use crate::error::OAuthError;
use crate::ids::ClientId;
use crate::model::BrowserSession;
use crate::secret::{Secret, SecretDigest};
use crate::session::SignedIn;

/// An app the person granted.
#[derive(Debug, Clone)]
pub struct GrantedApp {
    pub client_id: ClientId,
    pub name: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

/// Why a password change was refused (shown to the person).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the current password is wrong")]
    WrongCurrent,
    #[error("{0}")]
    Policy(String),
}

impl Engine {
    /// The person's unexpired sessions, newest first.
    pub async fn account_sessions(
        &self,
        who: &SignedIn,
    ) -> Result<Vec<BrowserSession>, OAuthError> {
        let now = self.clock.now();
        Ok(self.store.user_sessions(&who.user.sid, now).await?)
    }

    /// Ends one of the person's own sessions, named by its digest; false when it is not one
    /// of theirs.
    pub async fn end_account_session(
        &self,
        who: &SignedIn,
        digest_hex: &str,
    ) -> Result<bool, OAuthError> {
        let Some(digest) = SecretDigest::from_hex(digest_hex) else {
            return Ok(false);
        };
        let theirs = self
            .account_sessions(who)
            .await?
            .iter()
            .any(|s| s.digest == digest);
        if theirs {
            // As a logout: its clients are told and its refresh families revoked.
            self.end_session_by_digest(&digest).await?;
        }
        Ok(theirs)
    }

    /// Ends every session of the person but this one, each as a logout.
    pub async fn end_other_sessions(&self, who: &SignedIn) -> Result<u64, OAuthError> {
        let mut ended = 0;
        for s in self.account_sessions(who).await? {
            if s.digest != who.session.digest
                && self.end_session_by_digest(&s.digest).await?.is_some()
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    pub async fn granted_apps(&self, who: &SignedIn) -> Result<Vec<GrantedApp>, OAuthError> {
        let mut apps = Vec::new();
        for (client_id, scopes, granted_at) in self.store.user_consents(&who.user.sid).await? {
            let name = self
                .find_client(&client_id)
                .await?
                .map_or_else(|| client_id.to_string(), |c| c.friendly_name.clone());
            apps.push(GrantedApp {
                client_id,
                name,
                scopes,
                granted_at,
            });
        }
        Ok(apps)
    }

    /// Withdraws consent to the app and revokes its refresh tokens for the person.
    pub async fn revoke_app(&self, who: &SignedIn, client: &ClientId) -> Result<bool, OAuthError> {
        let now = self.clock.now();
        Ok(self
            .store
            .revoke_user_grant(&who.user.sid, client, now)
            .await?)
    }

    /// Checks the current password, stores the new one (every session of the person ends
    /// with it) and opens a new session for this browser, as strong as the one it had.
    pub async fn change_password(
        &self,
        who: &SignedIn,
        current: &str,
        new: &str,
    ) -> Result<Result<(Secret, SignedIn), PasswordChangeError>, OAuthError> {
        let checked = self.check_password(&who.user.email, current).await?;
        if checked.is_none_or(|u| u.sid != who.user.sid) {
            return Ok(Err(PasswordChangeError::WrongCurrent));
        }
        if let Err(why) = crate::password::check_policy(new) {
            return Ok(Err(PasswordChangeError::Policy(why)));
        }
        let salt: [u8; 16] = crate::clock::random_bytes(self.rng.as_ref())?;
        let hash = crate::password::hash_off_runtime(new.to_owned(), salt)
            .await
            .ok_or_else(OAuthError::server_error)?;
        let now = self.clock.now();
        self.store
            .set_user_password(&who.user.sid, &hash, now)
            .await?;
        Ok(Ok(self.open_session(who.user.clone(), who.authn()).await?))
    }
}
