//! Wiring: store, keys, engine, HTTP listener and the background sync loop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tollgate_core::admin::Admin;
use tollgate_core::clock::random_bytes;
use tollgate_core::keys::{KeySealer, SigningAlgorithm};
use tollgate_core::store::Store;
use tollgate_core::{Clock, Engine, EngineConfig, Rng, SystemClock, SystemRng};
use tollgate_http::AppState;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] tollgate_core::store::StoreError),
    #[error("{0}")]
    Start(#[from] tollgate_core::engine::StartError),
    #[error("{0}")]
    Admin(#[from] tollgate_core::admin::AdminError),
    #[error("{0}")]
    Key(#[from] tollgate_core::keys::KeyError),
}

/// What every command needs: the store and the key sealer, with real time and randomness.
pub struct Context {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
}

impl Context {
    pub async fn open(config: Config) -> Result<Self, ServerError> {
        if config.uses_sqlite_default() {
            create_private_dir(&config.data_dir)?;
        }
        let store = tollgate_store::open(&config.database_url()).await?;
        Ok(Self {
            config,
            store,
            clock: Arc::new(SystemClock),
            rng: Arc::new(SystemRng::default()),
        })
    }

    pub fn admin(&self) -> Admin {
        Admin::new(self.store.clone(), self.clock.clone(), self.rng.clone())
    }

    pub fn signing_algorithm(&self) -> Result<SigningAlgorithm, ServerError> {
        self.config
            .signing_algorithm
            .parse()
            .map_err(ServerError::Config)
    }

    /// The key-encryption key: from configuration, else from `<data_dir>/key-encryption.key`
    /// (created with mode 0600 on first use).
    pub fn sealer(&self) -> Result<KeySealer, ServerError> {
        let encoded = match &self.config.key_encryption_key {
            Some(k) => k.trim().to_owned(),
            None => load_or_create_kek(&self.config.data_dir, self.rng.as_ref())?,
        };
        let raw = URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| ServerError::Config("key_encryption_key is not base64url".into()))?;
        Ok(KeySealer::new(&raw)?)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn load_or_create_kek(dir: &Path, rng: &dyn Rng) -> Result<String, ServerError> {
    let path = dir.join("key-encryption.key");
    match std::fs::read_to_string(&path) {
        Ok(s) => return Ok(s.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        Err(_) => {}
    }
    create_private_dir(dir)?;
    let encoded = URL_SAFE_NO_PAD.encode(random_bytes::<32>(rng));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(encoded.as_bytes())?;
            f.sync_all()?;
            Ok(encoded)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(e) => Err(e.into()),
    }
}

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    pub context: Context,
    shutdown: watch::Sender<bool>,
    serve: JoinHandle<std::io::Result<()>>,
    sync: JoinHandle<()>,
}

impl RunningServer {
    pub fn admin(&self) -> Admin {
        self.context.admin()
    }

    /// Graceful shutdown: stop accepting, finish in-flight requests.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.sync.abort();
        self.serve.await.unwrap_or(Ok(()))
    }

    /// Runs until the serving task ends (it ends on `stop` or an I/O failure).
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self.serve.await.unwrap_or(Ok(()));
        self.sync.abort();
        result
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the store, loads keys and clients, binds and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| ServerError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr()?;
    let context = Context::open(config).await?;
    let issuer = context
        .config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let c = &context.config;
    let engine_config = EngineConfig {
        issuer,
        access_token_ttl: c.access_token_ttl,
        signing_algorithm: context.signing_algorithm()?,
        refresh_token_ttl: c.refresh_token_ttl,
        refresh_grace_secs: c.refresh_grace_secs,
        code_ttl: c.code_ttl,
        session_idle_secs: c.session_idle_secs,
        session_lifetime_secs: c.session_lifetime_secs,
        device_code_ttl: c.device_code_ttl,
        device_poll_interval: c.device_poll_interval,
    };
    let engine = Arc::new(
        Engine::start(
            engine_config,
            context.store.clone(),
            context.sealer()?,
            context.clock.clone(),
            context.rng.clone(),
        )
        .await?,
    );
    switch_algorithm_if_needed(&context, &engine).await?;
    let state = AppState::new(engine.clone(), context.config.auth_failures_per_minute);
    let app = tollgate_http::app(state.clone());

    let (shutdown, mut rx) = watch::channel(false);
    let serve = tokio::spawn(async move {
        // Token responses are small and complete: send them without Nagle's delay.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
        .await
    });
    let rotation = Rotation {
        admin: context.admin(),
        sealer: context.sealer()?,
        algorithm: context.signing_algorithm()?,
        every_secs: i64::from(context.config.key_rotation_days) * 86_400,
        publish_ahead: i64::from(context.config.key_publish_ahead_secs),
        default_ttl: context.config.access_token_ttl,
    };
    let sync = tokio::spawn(sync_loop(
        state,
        rotation,
        Duration::from_millis(context.config.sync_interval_ms.max(50)),
    ));
    tracing::info!(%addr, backend = context.store.backend(), "listening");
    Ok(RunningServer {
        addr,
        engine,
        context,
        shutdown,
        serve,
        sync,
    })
}

/// A configured algorithm that differs from the signing key's takes over at once: there is no
/// older token of the new algorithm for clients to be caught out by.
async fn switch_algorithm_if_needed(context: &Context, engine: &Engine) -> Result<(), ServerError> {
    let wanted = context.signing_algorithm()?;
    let keys = engine.key_set();
    let current = keys
        .signing_key(context.clock.now())
        .map(|k| k.stored.algorithm);
    if current != Some(wanted) {
        let key = context
            .admin()
            .rotate_signing_key(
                wanted,
                &context.sealer()?,
                0,
                context.config.access_token_ttl,
            )
            .await?;
        tracing::info!(kid = %key.kid, alg = wanted.as_str(), "switched signing algorithm");
        engine.reload_keys().await?;
    }
    Ok(())
}

/// The automatic key-rotation schedule.
struct Rotation {
    admin: Admin,
    sealer: KeySealer,
    algorithm: SigningAlgorithm,
    every_secs: i64,
    publish_ahead: i64,
    default_ttl: u32,
}

impl Rotation {
    async fn run(&self, now: i64) -> Result<(), tollgate_core::admin::AdminError> {
        self.admin.prune_signing_keys().await?;
        if self.every_secs <= 0 {
            return Ok(());
        }
        let newest = self
            .admin
            .keys()
            .await?
            .iter()
            .map(|k| k.created_at)
            .max()
            .unwrap_or(0);
        if newest + self.every_secs <= now {
            let key = self
                .admin
                .rotate_signing_key(
                    self.algorithm,
                    &self.sealer,
                    self.publish_ahead,
                    self.default_ttl,
                )
                .await?;
            tracing::info!(kid = %key.kid, "rotated the signing key on schedule");
        }
        Ok(())
    }
}

/// Keeps caches in step with the store and prunes old state.
async fn sync_loop(state: AppState, rotation: Rotation, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = 0i64;
    loop {
        ticker.tick().await;
        if let Err(e) = state.engine.sync().await {
            tracing::warn!(error = %e, "could not read changes from the store");
        }
        let now = state.engine.clock().now();
        if now - last_prune >= 60 {
            last_prune = now;
            state.auth_limiter.prune(now);
            if let Err(e) = state.engine.store().prune_changes(now - 3600).await {
                tracing::warn!(error = %e, "could not prune the change log");
            }
            if let Err(e) = state.engine.store().prune_expired(now).await {
                tracing::warn!(error = %e, "could not prune expired codes and tokens");
            }
            if let Err(e) = rotation.run(now).await {
                tracing::warn!(error = %e, "key rotation failed");
            }
        }
    }
}
