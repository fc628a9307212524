//! Housekeeping every node runs: applying changes made elsewhere, scheduled key rotation,
//! pruning expired state. The binary only starts [`Maintenance::run`].

use std::sync::Arc;
use std::time::Duration;

use crate::admin::AdminError;
use crate::engine::{Engine, KEY_LEASE};
use crate::keys::StoredKey;

/// When signing keys rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate when the newest key is this old (0: never).
    pub every_secs: i64,
    /// A new key is published this long before it signs.
    pub publish_ahead_secs: i64,
}

/// Something else that forgets old entries on the prune schedule (rate limiters).
pub type PruneHook = Box<dyn Fn(i64) + Send + Sync>;

pub struct Maintenance {
    engine: Arc<Engine>,
    rotation: RotationPolicy,
    sync_every: Duration,
    prune_every_secs: i64,
    hooks: Vec<PruneHook>,
}

impl Maintenance {
    pub fn new(engine: Arc<Engine>, rotation: RotationPolicy, sync_every: Duration) -> Self {
        Self {
            engine,
            rotation,
            sync_every,
            prune_every_secs: 60,
            hooks: Vec::new(),
        }
    }

    pub fn on_prune(mut self, hook: PruneHook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Syncs on every NOTIFY (PostgreSQL) and every `sync_every` in any case; prunes and
    /// rotates once a minute. Never returns.
    pub async fn run(self) {
        let wake = Arc::new(tokio::sync::Notify::new());
        let watcher = {
            let (engine, wake) = (self.engine.clone(), wake.clone());
            tokio::spawn(async move {
                if let Err(e) = engine.store.watch_changes(wake).await {
                    tracing::warn!(error = %e, "change notifications stopped; polling");
                }
            })
        };
        let _stop_watching = AbortOnDrop(watcher);
        let mut ticker = tokio::time::interval(self.sync_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune = i64::MIN;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = wake.notified() => {}
                () = self.engine.logout_wake().notified() => {}
            }
            // Back-channel logouts go out on their own task: a slow client never stalls sync.
            self.engine.deliver_due_logouts();
            if let Err(e) = self.engine.sync().await {
                metrics::counter!("tollgate_sync_errors_total").increment(1);
                tracing::warn!(error = %e, "could not read changes from the store");
            }
            let now = self.engine.clock().now();
            self.record_gauges(now);
            if now.saturating_sub(last_prune) >= self.prune_every_secs {
                last_prune = now;
                self.prune(now).await;
                if let Err(e) = self.rotate_if_due(now).await {
                    tracing::warn!(error = %e, "key rotation failed");
                }
            }
        }
    }

    fn record_gauges(&self, now: i64) {
        let (clients, accounts) = self.engine.directory_sizes();
        metrics::gauge!("tollgate_cache_entries", "cache" => "clients").set(clients as f64);
        metrics::gauge!("tollgate_cache_entries", "cache" => "accounts").set(accounts as f64);
        if let Some(lag) = self.engine.sync_lag(now) {
            metrics::gauge!("tollgate_sync_lag_seconds").set(lag as f64);
        }
        let alg = self.engine.config().signing_algorithm;
        if let Some(key) = self.engine.key_set().signing_key(alg, now) {
            let age = now - key.stored.created_at;
            metrics::gauge!("tollgate_signing_key_age_seconds").set(age as f64);
        }
    }

    /// Forgets expired codes, tokens, sessions, old change-log rows and idle limiter entries.
    pub async fn prune(&self, now: i64) {
        for hook in &self.hooks {
            hook(now);
        }
        self.engine.prune_revocations(now);
        let store = &self.engine.store;
        if let Err(e) = store.prune_changes(now - 3600).await {
            tracing::warn!(error = %e, "could not prune the change log");
        }
        if let Err(e) = store.prune_expired(now).await {
            tracing::warn!(error = %e, "could not prune expired codes and tokens");
        }
    }

    /// Rotates the signing key when the newest one is older than the policy allows.
    pub async fn rotate_if_due(&self, now: i64) -> Result<Option<StoredKey>, AdminError> {
        self.engine.admin().prune_signing_keys().await?;
        self.engine.rotate_if_due(self.rotation, now).await
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Engine {
    /// Rotates when the newest key is older than the policy allows. Every node may call this at
    /// the same moment: under the key lease, with the age checked again inside it, exactly one
    /// new key is created.
    pub async fn rotate_if_due(
        &self,
        rotation: RotationPolicy,
        now: i64,
    ) -> Result<Option<StoredKey>, AdminError> {
        if rotation.every_secs <= 0 {
            return Ok(None);
        }
        let due = |keys: &[StoredKey]| {
            let newest = keys.iter().map(|k| k.created_at).max();
            newest.is_none_or(|n| n + rotation.every_secs <= now)
        };
        if !due(&self.admin().keys().await?) {
            return Ok(None);
        }
        let store = &self.store;
        if !store
            .try_lease(KEY_LEASE, &self.node, now, now + 60)
            .await?
        {
            return Ok(None);
        }
        let result = async {
            if !due(&self.admin().keys().await?) {
                return Ok(None);
            }
            let key = self.rotate_signing_key(rotation.publish_ahead_secs).await?;
            tracing::info!(kid = %key.kid, "rotated the signing key on schedule");
            Ok(Some(key))
        }
        .await;
        store.release_lease(KEY_LEASE, &self.node).await?;
        result
    }

    /// Rotates to new keys of every algorithm (the configured one's is answered), published
    /// `publish_ahead` seconds before they sign, and reloads the key set.
    pub async fn rotate_signing_key(&self, publish_ahead: i64) -> Result<StoredKey, AdminError> {
        let key = self
            .admin()
            .rotate_signing_key(
                &self.config.key_algorithms(),
                &self.sealer,
                publish_ahead,
                self.config.access_token_ttl,
            )
            .await?;
        self.reload_keys().await?;
        Ok(key)
    }

    /// An algorithm without a key that signs now (a newly configured one) gets keys at once:
    /// there is no older token of that algorithm for clients to be caught out by.
    pub async fn switch_algorithm_if_needed(&self) -> Result<(), AdminError> {
        let wanted = self.config.key_algorithms();
        let complete = |e: &Engine| {
            let (set, now) = (e.key_set(), e.clock.now());
            wanted.iter().all(|a| set.signing_key(*a, now).is_some())
        };
        if complete(self) {
            return Ok(());
        }
        // Several nodes starting with a new algorithm: one switches, the others see its key.
        let now = self.clock.now();
        for _ in 0..300 {
            if self
                .store
                .try_lease(KEY_LEASE, &self.node, now, now + 60)
                .await?
            {
                self.reload_keys().await?;
                if !complete(self) {
                    let key = self.rotate_signing_key(0).await?;
                    tracing::info!(kid = %key.kid, alg = key.algorithm.as_str(), "switched signing algorithm");
                }
                self.store.release_lease(KEY_LEASE, &self.node).await?;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.reload_keys().await?;
            if complete(self) {
                return Ok(());
            }
        }
        Err(AdminError::Invalid(
            "another node holds the key lease".into(),
        ))
    }
}
