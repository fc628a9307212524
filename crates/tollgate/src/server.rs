//! Wiring: store, keys, engine, HTTP listener and the background sync loop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tollgate_core::admin::Admin;
use tollgate_core::clock::random_bytes;
use tollgate_core::keys::KeySealer;
use tollgate_core::maintenance::{Maintenance, RotationPolicy};
use tollgate_core::store::Store;
use tollgate_core::{Clock, Engine, Rng, SystemClock, SystemRng};
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

/// Time and randomness, injected: the system's in production, controllable in tests.
#[derive(Clone)]
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
}

impl Deps {
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            rng: Arc::new(SystemRng::default()),
        }
    }
}

/// What every command needs: the store and the key sealer, with injected time and randomness.
pub struct Context {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
}

impl Context {
    pub async fn open(config: Config, deps: Deps) -> Result<Self, ServerError> {
        let clock = deps.clock.clone();
        config.outbound_policy()?;
        config.outbound_roots()?;
        config.registration()?;
        if config.uses_sqlite_default() {
            create_private_dir(&config.data_dir)?;
        }
        let url = config.database_url();
        let supported = ["sqlite:", "postgres://", "postgresql://"];
        if !supported.iter().any(|p| url.starts_with(p)) {
            // Never echo the URL itself: it may carry a password.
            return Err(ServerError::Config(format!(
                "unsupported database URL {}: use sqlite://PATH or postgres://…",
                crate::check::redact_url(&url)
            )));
        }
        let store = tollgate_store::open(&url, clock).await.map_err(|e| {
            let password = url::Url::parse(&url)
                .ok()
                .and_then(|u| u.password().map(str::to_owned));
            match password {
                Some(p) if !p.is_empty() => ServerError::Config(e.to_string().replace(&p, "***")),
                _ => ServerError::Store(e),
            }
        })?;
        Ok(Self {
            config,
            store,
            clock: deps.clock,
            rng: deps.rng,
        })
    }

    pub fn admin(&self) -> Admin {
        // A bad allow-list fails `open`; the strict default is the safe fallback here.
        let policy = self.config.outbound_policy().unwrap_or_default();
        let issuer = Some(self.config.engine.issuer.clone()).filter(|i| !i.is_empty());
        Admin::new(self.store.clone(), self.clock.clone(), self.rng.clone())
            .with_outbound_policy(policy)
            .with_issuer(issuer)
    }

    /// The SMTP mailer, when `smtp_url` is set.
    pub fn mailer(&self) -> Result<Option<Arc<dyn tollgate_core::mail::Mailer>>, ServerError> {
        match self.config.smtp()? {
            Some(s) => {
                let mailer = crate::mail::SmtpMailer::new(&s).map_err(ServerError::Config)?;
                Ok(Some(Arc::new(mailer)))
            }
            None => Ok(None),
        }
    }

    /// [`Context::admin`] that also mails verification links when mail is configured (user
    /// commands).
    pub fn mailing_admin(&self) -> Result<Admin, ServerError> {
        let Some(mailer) = self.mailer()? else {
            return Ok(self.admin());
        };
        let issuer = match self.config.engine.issuer.trim() {
            "" => format!("http://{}", self.config.listen),
            i => i.to_owned(),
        };
        let room = tollgate_core::mail::Mailroom::new(
            self.store.clone(),
            self.clock.clone(),
            self.rng.clone(),
            Arc::new(self.sealer()?),
            issuer,
            Some(mailer),
        );
        Ok(self.admin().with_mailroom(room))
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
    let bytes = random_bytes::<32>(rng)
        .map_err(|e| ServerError::Config(format!("cannot make a key-encryption key: {e}")))?;
    let encoded = URL_SAFE_NO_PAD.encode(bytes);
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
    /// What the HTTP handlers share (limiters, the demo app).
    pub state: AppState,
    pub context: Context,
    shutdown: watch::Sender<bool>,
    serve: JoinHandle<std::io::Result<()>>,
    maintenance: JoinHandle<()>,
}

impl RunningServer {
    /// The engine's administrator: it can seal client_secret_jwt secrets, and its writes
    /// reach this server's directory before they return.
    pub fn admin(&self) -> Admin {
        self.engine.node_admin()
    }

    /// Graceful shutdown: stop accepting, finish in-flight requests.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.maintenance.abort();
        self.serve.await.unwrap_or(Ok(()))
    }

    /// Runs until the serving task ends (it ends on `stop` or an I/O failure).
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self.serve.await.unwrap_or(Ok(()));
        self.maintenance.abort();
        result
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the store, loads keys and clients, binds and starts serving, with system time and
/// randomness.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    start_with(config, Deps::system()).await
}

/// The same with injected time and randomness.
pub async fn start_with(config: Config, deps: Deps) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| ServerError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr()?;
    let context = Context::open(config, deps).await?;
    let engine = start_engine(&context, addr).await?;
    if context.config.metrics {
        tollgate_http::ops::install_metrics();
    } else {
        tollgate_http::ops::disable_metrics();
    }
    let state = app_state(engine.clone(), &context.config)?;
    let mut app = tollgate_http::app(state.clone());
    let tls = context.config.tls()?;
    if tls.is_some() {
        // RFC 6797: a server that terminates TLS itself tells browsers to use nothing else.
        app = app.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000"),
            ),
        );
    }

    let (shutdown, rx) = watch::channel(false);
    let limits = context.config.limits();
    let serve = tokio::spawn(crate::listener::serve(listener, app, limits, tls, rx));
    let c = &context.config;
    let rotation = RotationPolicy {
        every_secs: i64::from(c.key_rotation_days) * 86_400,
        publish_ahead_secs: i64::from(c.key_publish_ahead_secs),
    };
    let sync_every = Duration::from_millis(c.sync_interval_ms.max(50));
    let maintenance = Maintenance::new(engine.clone(), rotation, sync_every).on_prune({
        let state = state.clone();
        Box::new(move |now| state.prune_limiters(now))
    });
    let maintenance = tokio::spawn(maintenance.run());
    tracing::info!(%addr, backend = context.store.backend(), "listening");
    Ok(RunningServer {
        addr,
        engine,
        state,
        context,
        shutdown,
        serve,
        maintenance,
    })
}

/// Starts the engine on the opened store, with its outbound fetcher and mailer; the issuer
/// defaults to the address the server listens on.
async fn start_engine(context: &Context, addr: SocketAddr) -> Result<Arc<Engine>, ServerError> {
    let mut engine_config = context.config.engine.clone();
    if engine_config.issuer.is_empty() {
        // The default issuer follows the scheme the server speaks.
        let scheme = if context.config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        engine_config.issuer = format!("{scheme}://{addr}");
    }
    engine_config.issuer = engine_config.issuer.trim_end_matches('/').to_owned();
    if engine_config.client_metadata_account.is_none() {
        // Client metadata documents land where open registrations do, unless told otherwise.
        engine_config.client_metadata_account = context.config.registration()?.open_account;
    }
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
    engine.switch_algorithm_if_needed().await?;
    let fetcher = crate::outbound::HttpFetcher::with_roots(
        context.config.outbound_policy()?,
        context.config.outbound_roots()?,
    )
    .map_err(|e| ServerError::Config(format!("no outbound HTTP client: {e}")))?;
    engine.set_outbound_fetcher(Arc::new(fetcher));
    match context.mailer()? {
        Some(mailer) => engine.set_mailer(mailer),
        None => tracing::info!(
            "no smtp_url: no verification or password reset mail (see `tollgate config check`)"
        ),
    }
    Ok(engine)
}

/// The HTTP layer's state: proxies, rate limits and attempt limiters from the configuration.
fn app_state(engine: Arc<Engine>, c: &Config) -> Result<AppState, ServerError> {
    let mut state = AppState::new(engine, c.auth_failures_per_minute);
    state.metrics_token = c.metrics_token.as_deref().map(Arc::from);
    state.proxies = tollgate_http::client_ip::ProxyPolicy {
        trusted: Arc::from(c.trusted_proxies.clone()),
        header: c.client_ip_header,
    };
    let limit = |per_second, burst| {
        (per_second > 0).then_some(tollgate_http::throttle::RateLimit { per_second, burst })
    };
    state.throttle = Arc::new(tollgate_http::throttle::Throttle::new(
        limit(c.rate_limit_per_ip, c.rate_limit_per_ip_burst),
        limit(c.rate_limit_per_client, c.rate_limit_per_client_burst),
    ));
    state.registration = Arc::new(c.registration()?);
    state.registration_limiter = Arc::new(tollgate_http::limiter::AttemptLimiter::per_minute(
        c.registration_open_per_minute,
    ));
    state.reset_limiter = Arc::new(tollgate_http::limiter::AttemptLimiter::per_minute(
        c.password_resets_per_minute,
    ));
    Ok(state)
}
