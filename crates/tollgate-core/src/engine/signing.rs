//! Signing keys at start and on reload, and signing with the current one.

use std::sync::Arc;

use super::{Engine, EngineConfig, StartError};
use crate::clock::Rng;
use crate::error::OAuthError;
use crate::keys::{KeySealer, KeySet, LoadedKey};
use crate::store::{Store, StoreResult};

impl Engine {
    pub async fn reload_keys(&self) -> StoreResult<()> {
        let stored = self.store.signing_keys().await?;
        match load_key_set(stored, &self.sealer, self.clock.now()) {
            Ok(set) => self.keys.replace(set),
            Err(e) => {
                tracing::error!(error = %e, "could not load signing keys; keeping the old set")
            }
        }
        Ok(())
    }

    /// Signs claims with the current key: `typ: at+jwt` for access tokens, `JWT` otherwise.
    pub(crate) fn sign<T: serde::Serialize>(
        &self,
        claims: &T,
        access_token: bool,
    ) -> Result<String, OAuthError> {
        self.sign_as(claims, access_token, self.config.signing_algorithm)
    }

    /// Signs with the current key of `alg` (a client's id-token algorithm).
    pub(crate) fn sign_as<T: serde::Serialize>(
        &self,
        claims: &T,
        access_token: bool,
        alg: crate::keys::SigningAlgorithm,
    ) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
        let keys = self.keys.current(self.clock.now());
        let key = keys.signing_key(alg, self.clock.now()).ok_or_else(|| {
            tracing::error!(alg = alg.as_str(), "no active signing key");
            OAuthError::server_error()
        })?;
        key.sign(&json, access_token)
            .ok_or_else(OAuthError::server_error)
    }

    /// A back-channel logout token (`typ: logout+jwt`) under the server's signing algorithm.
    pub(crate) fn sign_logout_token<T: serde::Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
        let now = self.clock.now();
        let keys = self.keys.current(now);
        let key = keys
            .signing_key(self.config.signing_algorithm, now)
            .ok_or_else(OAuthError::server_error)?;
        key.sign_logout(&json).ok_or_else(OAuthError::server_error)
    }
}

/// The signing keys at start. On an empty store exactly one node creates the first key, under
/// a lease; the others wait for it.
pub(super) async fn first_key(
    config: &EngineConfig,
    store: &dyn Store,
    sealer: &KeySealer,
    rng: &dyn Rng,
    node: &str,
    now: i64,
) -> Result<Vec<crate::keys::StoredKey>, StartError> {
    // Usable: a key of every algorithm that has not been unpublished.
    let algs = config.key_algorithms();
    let usable = |keys: &[crate::keys::StoredKey]| {
        algs.iter().all(|a| {
            keys.iter()
                .any(|k| k.algorithm == *a && k.expires_at.is_none_or(|e| e > now))
        })
    };
    for _ in 0..300 {
        let stored = store.signing_keys().await?;
        if usable(&stored) {
            return Ok(stored);
        }
        if store.try_lease(KEY_LEASE, node, now, now + 30).await? {
            let stored = store.signing_keys().await?;
            for alg in &algs {
                // Only what is missing: a database from before a companion algorithm keeps
                // its keys and gains the new one.
                if stored
                    .iter()
                    .any(|k| k.algorithm == *alg && k.expires_at.is_none_or(|e| e > now))
                {
                    continue;
                }
                let key = LoadedKey::generate(*alg, sealer, rng, now, now)?;
                store.insert_signing_key(&key.stored).await?;
                tracing::info!(kid = key.kid(), alg = alg.as_str(), "created signing key");
            }
            store.release_lease(KEY_LEASE, node).await?;
            return Ok(store.signing_keys().await?);
        }
        // Another node is creating it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StartError::Key(crate::keys::KeyError::Generate))
}

/// The lease every key creation and rotation takes, so nodes never create two at once.
pub(crate) const KEY_LEASE: &str = "signing-keys";

pub(super) fn load_key_set(
    stored: Vec<crate::keys::StoredKey>,
    sealer: &KeySealer,
    now: i64,
) -> Result<KeySet, crate::keys::KeyError> {
    let mut loaded = Vec::with_capacity(stored.len());
    for k in stored {
        loaded.push(Arc::new(LoadedKey::load(k, sealer)?));
    }
    Ok(KeySet::new(loaded, now))
}
