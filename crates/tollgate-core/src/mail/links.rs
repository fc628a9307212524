//! Single-use links: `<secret>.<mac>`. The MAC (keyed with the key-encryption key, bound to
//! the purpose) turns away forged links before the store is asked; the store keeps the
//! secret's digest and spends it once, before its expiry on the injected clock.

use super::{EmailPurpose, EmailToken, Mailroom};
use crate::error::OAuthError;
use crate::model::User;
use crate::secret::{Secret, SecretDigest};

impl Mailroom {
    fn link_mac(&self, purpose: EmailPurpose, secret: &str) -> String {
        self.sealer.mac(&[
            b"email-link",
            purpose.as_str().as_bytes(),
            secret.as_bytes(),
        ])
    }

    /// A fresh link value and the record to store for it (not yet stored).
    pub(crate) fn new_link(
        &self,
        purpose: EmailPurpose,
        user: &User,
        ttl: i64,
    ) -> Result<(String, EmailToken), OAuthError> {
        let secret = Secret::generate(self.rng.as_ref()).map_err(|_| OAuthError::server_error())?;
        let value = format!(
            "{}.{}",
            secret.expose(),
            self.link_mac(purpose, secret.expose())
        );
        let now = self.clock.now();
        let token = EmailToken {
            digest: secret.digest(),
            purpose,
            user_sid: user.sid.clone(),
            email: user.email.clone(),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        Ok((value, token))
    }

    /// The digest a well-formed, authentic link stands for.
    fn authentic(&self, purpose: EmailPurpose, value: &str) -> Option<SecretDigest> {
        let (secret, mac) = value.split_once('.')?;
        if secret.len() != 43 || mac.is_empty() || mac.len() > 64 {
            return None;
        }
        let parts: [&[u8]; 3] = [
            b"email-link",
            purpose.as_str().as_bytes(),
            secret.as_bytes(),
        ];
        self.sealer
            .verify_mac(&parts, mac)
            .then(|| SecretDigest::of(secret))
    }

    /// Whether the link would be accepted now (unused, unexpired), without spending it.
    pub async fn link_usable(
        &self,
        purpose: EmailPurpose,
        value: &str,
    ) -> Result<bool, OAuthError> {
        let Some(digest) = self.authentic(purpose, value) else {
            return Ok(false);
        };
        let now = self.clock.now();
        Ok(self
            .store
            .email_token(&digest)
            .await?
            .is_some_and(|t| t.purpose == purpose && t.used_at.is_none() && t.expires_at > now))
    }

    /// Spends the link; `None` when it is forged, unknown, used, expired or for another
    /// purpose (one answer for all).
    pub(crate) async fn spend_link(
        &self,
        purpose: EmailPurpose,
        value: &str,
    ) -> Result<Option<EmailToken>, OAuthError> {
        let Some(digest) = self.authentic(purpose, value) else {
            return Ok(None);
        };
        let now = self.clock.now();
        Ok(self.store.use_email_token(&digest, purpose, now).await?)
    }
}
