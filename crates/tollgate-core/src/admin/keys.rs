//! Signing keys: listing, rotation and pruning.

use super::{Admin, AdminResult};
use crate::keys::{KeySealer, LoadedKey, SigningAlgorithm, StoredKey};

impl Admin {
    pub async fn keys(&self) -> AdminResult<Vec<StoredKey>> {
        Ok(self.store.signing_keys().await?)
    }

    /// Rotates signing keys: a new key of each of `algs` (the access-token algorithm first) is
    /// published now and signs from `now + publish_ahead`; current keys stop signing then and
    /// stay published until every token they signed has expired (`longest_token_ttl` after
    /// they stop). Answers the first algorithm's new key.
    pub async fn rotate_signing_key(
        &self,
        algs: &[SigningAlgorithm],
        sealer: &KeySealer,
        publish_ahead: i64,
        default_token_ttl: u32,
    ) -> AdminResult<StoredKey> {
        let first = algs
            .first()
            .ok_or_else(|| super::AdminError::Invalid("no key algorithm to rotate".into()))?;
        let now = self.clock.now();
        let longest = self
            .store
            .clients(None)
            .await?
            .iter()
            .map(|c| c.access_token_ttl.unwrap_or(default_token_ttl))
            .chain([default_token_ttl])
            .max()
            .map_or(i64::from(default_token_ttl), i64::from);
        let activates_at = now + publish_ahead.max(0);
        let key = LoadedKey::generate(*first, sealer, self.rng.as_ref(), now, activates_at)?;
        let mut companions = Vec::new();
        for alg in algs.iter().skip(1).filter(|a| *a != first) {
            companions.push(LoadedKey::generate(
                *alg,
                sealer,
                self.rng.as_ref(),
                now,
                activates_at,
            )?);
        }
        let switch_at = activates_at;
        for old in self.store.signing_keys().await? {
            if old.retires_at.is_none_or(|r| r > switch_at) {
                self.store
                    .update_signing_key(&old.kid, Some(switch_at), Some(switch_at + longest))
                    .await?;
            }
        }
        self.store.insert_signing_key(&key.stored).await?;
        for k in &companions {
            self.store.insert_signing_key(&k.stored).await?;
        }
        self.written().await?;
        Ok(key.stored.clone())
    }

    /// Deletes keys whose publication has ended.
    pub async fn prune_signing_keys(&self) -> AdminResult<usize> {
        let now = self.clock.now();
        let mut n = 0;
        for k in self.store.signing_keys().await? {
            if k.expires_at.is_some_and(|e| e <= now)
                && self.store.delete_signing_key(&k.kid).await?
            {
                n += 1;
            }
        }
        if n > 0 {
            self.written().await?;
        }
        Ok(n)
    }
}
