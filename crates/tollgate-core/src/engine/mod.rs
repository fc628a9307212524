//! Grant logic. Dialects build a [`TokenRequest`]; the engine authenticates the client, applies
//! the grant and mints tokens.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::cache::{ChangeCursor, Directory};
use crate::clock::{Clock, Rng, random_bytes};
use crate::error::OAuthError;
use crate::ids::{AccountSid, ClientId};
use crate::keys::{KeyRing, KeySealer, KeySet};
use crate::model::{Account, Client, Entity};
use crate::store::{Store, StoreResult};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

mod config;
mod signing;
mod token;

pub use crate::client_auth::ClientAuth;
pub use config::{EngineConfig, TokenRequest};
pub(crate) use signing::KEY_LEASE;
use signing::{first_key, load_key_set};

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) store: Arc<dyn Store>,
    directory: Directory,
    keys: KeyRing,
    pub(crate) sealer: Arc<KeySealer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    cursor: Mutex<ChangeCursor>,
    /// This process, as a lease holder.
    pub(crate) node: String,
    /// Revoked access tokens (`jti` → expiry), applied at once here and from the change log
    /// elsewhere, so introspection needs no store read.
    revoked: dashmap::DashMap<String, i64>,
    /// When changes made elsewhere were last applied (Unix seconds).
    last_sync: std::sync::atomic::AtomicI64,
    /// Concurrent password checks (Argon2), one per core.
    pub(crate) password_slots: Arc<tokio::sync::Semaphore>,
    /// JWT access tokens whose signature already checked out, with the signing kid:
    /// introspecting the same token again skips the signature check (never the expiry,
    /// revocation or key-still-published checks). See `introspection::VerifiedJwt`.
    pub(crate) verified: dashmap::DashMap<u64, crate::introspection::VerifiedJwt>,
    /// Keys the `verified` cache's hash with per-process randomness, so nobody outside can
    /// aim for a collision.
    pub(crate) verified_keys: std::hash::RandomState,
    /// Clients' fetched `jwks_uri` documents.
    pub(crate) jwks_cache: crate::jwks::JwksCache,
    /// Resolved Client ID Metadata Documents.
    pub(crate) documents: crate::metadata_document::DocumentCache,
    /// Every outbound fetch goes through this one fetcher and its policy (DESIGN section 14).
    pub(crate) outbound: std::sync::OnceLock<Arc<dyn crate::fetch::OutboundFetcher>>,
    /// Delivers the server's own mail (SMTP); unset, nothing is mailed.
    pub(crate) mailer: std::sync::OnceLock<Arc<dyn crate::mail::Mailer>>,
    /// Tokens this node issued, per account and minute, for the console's overview.
    pub(crate) issued: crate::activity::IssueCounts,
    /// Back-channel logout deliveries waiting for their first attempt or a retry.
    pub(crate) logouts: crate::backchannel::LogoutQueue,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

impl Engine {
    /// Loads clients, accounts and keys; creates the first signing key on an empty store.
    pub async fn start(
        config: EngineConfig,
        store: Arc<dyn Store>,
        sealer: KeySealer,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, StartError> {
        let latest = store.latest_change().await?;
        let directory = Directory::default();
        directory.load_all(store.as_ref()).await?;
        let now = clock.now();
        let node = URL_SAFE_NO_PAD
            .encode(random_bytes::<12>(rng.as_ref()).map_err(crate::keys::KeyError::from)?);
        let stored = first_key(&config, store.as_ref(), &sealer, rng.as_ref(), &node, now).await?;
        let set = load_key_set(stored, &sealer, now)?;
        let revoked = dashmap::DashMap::new();
        for (jti, exp) in store.revoked_access_tokens(now).await? {
            revoked.insert(jti, exp);
        }
        Ok(Self {
            config,
            store,
            directory,
            keys: KeyRing::new(set),
            sealer: Arc::new(sealer),
            clock,
            rng,
            jwks_cache: Default::default(),
            documents: Default::default(),
            outbound: std::sync::OnceLock::new(),
            mailer: std::sync::OnceLock::new(),
            cursor: Mutex::new(ChangeCursor::starting_at(latest)),
            verified: dashmap::DashMap::new(),
            verified_keys: std::hash::RandomState::new(),
            issued: crate::activity::IssueCounts::default(),
            logouts: Default::default(),
            last_sync: std::sync::atomic::AtomicI64::new(now),
            node,
            revoked,
            password_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Administrative operations on this engine's store.
    pub fn admin(&self) -> crate::admin::Admin {
        crate::admin::Admin::new(self.store.clone(), self.clock.clone(), self.rng.clone())
            .with_sealer(self.sealer.clone())
            .with_outbound_policy(self.outbound_policy())
            .with_issuer(Some(self.config.issuer.clone()))
            .with_mailroom(self.mailroom())
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A tag binding `parts` (CSRF tokens, device confirmations), valid on every node.
    pub fn page_mac(&self, parts: &[&[u8]]) -> String {
        self.sealer.mac(parts)
    }

    pub fn verify_page_mac(&self, parts: &[&[u8]], tag: &str) -> bool {
        self.sealer.verify_mac(parts, tag)
    }

    pub fn rng(&self) -> &dyn Rng {
        self.rng.as_ref()
    }

    pub fn key_set(&self) -> Arc<KeySet> {
        self.keys.current(self.clock.now())
    }

    pub fn client(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.directory.client(id)
    }

    /// The API resource registered under `identifier`, as this node knows it.
    pub fn resource(&self, identifier: &str) -> Option<Arc<crate::model::Resource>> {
        self.directory.resource(identifier)
    }

    /// Applies changes other processes made (the admin CLI, other nodes).
    pub async fn sync(&self) -> StoreResult<usize> {
        let mut cursor = self.cursor.lock().await;
        // The view is as fresh as the moment the read began, not when it returned.
        let started = self.clock.now();
        let changes = self.store.changes_since(cursor.read_from()).await?;
        let fresh = cursor.take_new(changes);
        let mut keys_changed = false;
        for change in &fresh {
            match change.entity {
                Entity::SigningKey => keys_changed = true,
                Entity::Revocation => self.remember_revocation(&change.id),
                _ => self.directory.refresh(self.store.as_ref(), change).await?,
            }
        }
        if keys_changed {
            self.reload_keys().await?;
        }
        self.last_sync
            .fetch_max(started, std::sync::atomic::Ordering::Relaxed);
        Ok(fresh.len())
    }

    /// Whether the store answers (readiness).
    pub async fn ping_store(&self) -> StoreResult<()> {
        self.store.latest_change().await.map(|_| ())
    }

    /// Whether an access token was revoked: from memory, and also from the store under
    /// `strict_revocation`.
    pub(crate) async fn access_token_revoked(&self, jti: &str) -> Result<bool, OAuthError> {
        if self.revoked.contains_key(jti) {
            return Ok(true);
        }
        // A view too old to trust (a partition from the store's change log, DESIGN section
        // 13) is not answered from: the store decides, or the caller gets a 503.
        if self.config.strict_revocation || self.view_is_stale(self.clock.now()) {
            return Ok(self.store.access_token_revoked(jti).await?);
        }
        Ok(false)
    }

    /// Revokes an access token: stored (and logged for other nodes) and applied here before
    /// the caller answers.
    pub(crate) async fn revoke_access_token(&self, jti: &str, exp: i64) -> Result<(), OAuthError> {
        self.store.revoke_access_token(jti, exp).await?;
        self.revoked.insert(jti.to_owned(), exp);
        Ok(())
    }

    /// A change-log revocation id is `<expires_at>:<jti>`.
    fn remember_revocation(&self, id: &str) {
        if let Some((exp, jti)) = id.split_once(':')
            && let Ok(exp) = exp.parse::<i64>()
        {
            self.revoked.insert(jti.to_owned(), exp);
        }
    }

    /// Forgets revocations of tokens that have expired anyway (and issue counts older than a
    /// day).
    pub fn prune_revocations(&self, now: i64) {
        self.issued.prune(now);
        self.revoked.retain(|_, exp| *exp > now);
        metrics::gauge!("tollgate_cache_entries", "cache" => "revocations")
            .set(self.revoked.len() as f64);
    }

    /// Seconds since changes made elsewhere were last applied.
    pub fn sync_lag(&self, now: i64) -> Option<i64> {
        let at = self.last_sync.load(std::sync::atomic::Ordering::Relaxed);
        Some((now - at).max(0))
    }

    /// Whether this node's view of the change log is older than `max_staleness_secs`.
    pub fn view_is_stale(&self, now: i64) -> bool {
        let bound = i64::from(self.config.max_staleness_secs);
        bound > 0 && self.sync_lag(now).is_some_and(|lag| lag > bound)
    }

    /// Clients and accounts held in memory, for metrics.
    pub fn directory_sizes(&self) -> (usize, usize) {
        self.directory.sizes()
    }

    /// Whether a browser app at `origin` may call the token endpoints (CORS).
    pub fn is_client_origin(&self, origin: &str) -> bool {
        self.directory.is_client_origin(origin)
    }

    /// A client by id: from memory, or read through to the store on a miss.
    pub async fn find_client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, OAuthError> {
        let load = self.store.client(id);
        Ok(self
            .directory
            .clients
            .or_load(id, self.clock.now(), load)
            .await?)
    }

    /// An account by SID, read through like [`Engine::find_client`].
    pub async fn find_account(&self, sid: &AccountSid) -> Result<Option<Arc<Account>>, OAuthError> {
        let load = self.store.account(sid);
        Ok(self
            .directory
            .accounts
            .or_load(sid, self.clock.now(), load)
            .await?)
    }

    /// A random, URL-safe identifier of `N` bytes.
    pub(crate) fn random_id<const N: usize>(&self) -> Result<String, OAuthError> {
        Ok(URL_SAFE_NO_PAD.encode(random_bytes::<N>(self.rng.as_ref())?))
    }
}
