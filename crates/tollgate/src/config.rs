//! Configuration: flags, then `TOLLGATE_*` variables, then `tollgate.toml`, then defaults.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tollgate_core::EngineConfig;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// address:port to listen on.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`; an SQLite file in `data_dir` when unset.
    pub database_url: Option<String>,
    /// Holds the SQLite file and the key-encryption key file.
    pub data_dir: PathBuf,
    /// Issuer, token lifetimes, grace windows and the signing algorithm, as the engine takes
    /// them (an empty `issuer` means `http://<listen>`).
    #[serde(flatten)]
    pub engine: EngineConfig,
    /// Rotate the signing key automatically after this many days (0: never).
    pub key_rotation_days: u32,
    /// A new key is published this many seconds before it starts signing.
    pub key_publish_ahead_secs: u32,
    /// base64url of 32 bytes; seals signing keys at rest. When unset, read from (or created in)
    /// `<data_dir>/key-encryption.key`.
    pub key_encryption_key: Option<String>,
    /// Failed client authentications allowed per minute per IP address.
    pub auth_failures_per_minute: u32,
    /// Requests per second per source address on the token, device, revocation and
    /// introspection routes (0: unlimited), and the burst above it.
    pub rate_limit_per_ip: u32,
    pub rate_limit_per_ip_burst: u32,
    /// The same per client.
    pub rate_limit_per_client: u32,
    pub rate_limit_per_client_burst: u32,
    /// Reverse proxies (addresses or CIDR ranges) whose `client_ip_header` names the client;
    /// limits then key on that address. Empty: forwarding headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The one header the trusted proxies write the client into: `x-forwarded-for` or
    /// `forwarded` (RFC 7239). The other is never read.
    pub client_ip_header: tollgate_http::client_ip::ClientIpHeader,
    /// PEM certificate chain and private key: serve HTTPS (HTTP/2 and HTTP/1.1) directly.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout_secs: u64,
    /// Seconds within which a whole request must be answered (408 otherwise).
    pub request_timeout_secs: u64,
    /// Open connections beyond this many are closed at once.
    pub max_connections: usize,
    /// Seconds shutdown waits for in-flight requests.
    pub drain_timeout_secs: u64,
    /// How often a node polls the store for changes made elsewhere, in milliseconds.
    pub sync_interval_ms: u64,
    /// `tracing` filter, e.g. `info` or `tollgate=debug`.
    pub log: String,
    /// `text` (human-readable; colour only on a terminal) or `json` (one object per line).
    pub log_format: String,
    /// Record Prometheus metrics and serve them at `/metrics` (off: `/metrics` answers 404).
    pub metrics: bool,
    /// A bearer token `/metrics` requires (`Authorization: Bearer …`); unset, `/metrics` is
    /// open to whoever reaches the listener.
    pub metrics_token: Option<String>,
    /// Hosts and networks (`keys.internal`, `10.1.2.0/24`) outbound fetches (client
    /// `jwks_uri`s) may reach although they resolve to private or otherwise special addresses.
    pub outbound_allow: Vec<String>,
    /// Development only: outbound fetches may reach loopback addresses, over `http` too.
    pub outbound_allow_loopback_http: bool,
    /// A PEM file of root certificates outbound fetches trust beside the system's (a private
    /// or development CA serving client metadata documents or `jwks_uri`s).
    pub outbound_ca_file: Option<PathBuf>,
    /// RFC 7591: the account (`AC…`) open dynamic registrations land in (unset: the only
    /// account). That account's registration policy must be `open`.
    pub registration_account: Option<String>,
    /// Open registration may create confidential clients too (by default public ones only).
    pub registration_open_confidential: bool,
    /// Open registrations allowed per minute per address.
    pub registration_open_per_minute: u32,
    /// Outgoing mail (verification, password reset, notices): `smtp://host:port`,
    /// `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port`; user and password in
    /// the user info. Unset: no mail.
    pub smtp_url: Option<Concealed>,
    /// The sender of that mail, e.g. `Tollgate <no-reply@example.com>`.
    pub smtp_from: Option<String>,
    /// The SMTP password, when it is not in `smtp_url`.
    pub smtp_password: Option<Concealed>,
    /// Password reset requests allowed per minute per address and per email.
    pub password_resets_per_minute: u32,
}

/// A setting that may hold a password: `Debug` never shows it (a URL shows its password
/// replaced); serialization keeps it, for the configuration sources to merge.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Concealed(pub String);

impl std::fmt::Debug for Concealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.contains("://") {
            write!(f, "{:?}", crate::check::redact_url(&self.0))
        } else {
            f.write_str("\"<redacted>\"")
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("./tollgate-data"),
            engine: EngineConfig::default(),
            key_rotation_days: 90,
            key_publish_ahead_secs: 600,
            key_encryption_key: None,
            auth_failures_per_minute: 20,
            rate_limit_per_ip: 0,
            rate_limit_per_ip_burst: 0,
            rate_limit_per_client: 0,
            rate_limit_per_client_burst: 0,
            trusted_proxies: Vec::new(),
            client_ip_header: Default::default(),
            tls_cert: None,
            tls_key: None,
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 10_000,
            drain_timeout_secs: 20,
            sync_interval_ms: 500,
            log: "info".into(),
            log_format: "text".into(),
            metrics: true,
            metrics_token: None,
            outbound_allow: Vec::new(),
            outbound_allow_loopback_http: false,
            outbound_ca_file: None,
            registration_account: None,
            registration_open_confidential: false,
            registration_open_per_minute:
                tollgate_http::state::DEFAULT_OPEN_REGISTRATIONS_PER_MINUTE,
            smtp_url: None,
            smtp_from: None,
            smtp_password: None,
            password_resets_per_minute: 5,
        }
    }
}

/// Values given as flags; only those present override the other sources.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    #[serde(flatten)]
    pub serve: ServeOverrides,
}

/// The settings `tollgate serve` takes as flags too.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, clap::Args)]
pub struct ServeOverrides {
    /// address:port to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Public base URL (default http://<listen>).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Default access-token lifetime in seconds.
    #[arg(long)]
    pub access_token_ttl: Option<u32>,
    /// ES256, EdDSA or RS256.
    #[arg(long)]
    pub signing_algorithm: Option<String>,
    /// PEM certificate chain: serve HTTPS directly (with --tls-key).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
}

impl Config {
    /// `config_file` defaults to `./tollgate.toml` when it exists.
    pub fn load(
        config_file: Option<&Path>,
        flags: &Overrides,
    ) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match config_file {
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file("tollgate.toml")),
        }
        fig.merge(Env::prefixed("TOLLGATE_").ignore(&["config"]))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tollgate.db").display()))
    }

    pub fn limits(&self) -> crate::listener::Limits {
        use std::time::Duration;
        crate::listener::Limits {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
        }
    }

    /// The TLS acceptor when a certificate and key are configured.
    pub fn tls(&self) -> Result<Option<tokio_rustls::TlsAcceptor>, crate::server::ServerError> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => crate::listener::tls_acceptor(cert, key)
                .map(Some)
                .map_err(crate::server::ServerError::Config),
            _ => Err(crate::server::ServerError::Config(
                "tls_cert and tls_key go together".into(),
            )),
        }
    }

    /// The policy of every outbound fetch (DESIGN section 14).
    /// Where open registrations land, and whether they may be confidential.
    pub fn registration(
        &self,
    ) -> Result<tollgate_core::admin::RegistrationSettings, crate::server::ServerError> {
        let open_account = match self.registration_account.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(tollgate_core::ids::AccountSid::parse(raw).map_err(|_| {
                crate::server::ServerError::Config(format!(
                    "registration_account {raw:?} is not an Account SID (AC…)"
                ))
            })?),
        };
        Ok(tollgate_core::admin::RegistrationSettings {
            open_account,
            open_confidential: self.registration_open_confidential,
        })
    }

    /// The extra roots of `outbound_ca_file`.
    pub fn outbound_roots(&self) -> Result<Vec<reqwest::Certificate>, crate::server::ServerError> {
        let Some(path) = &self.outbound_ca_file else {
            return Ok(Vec::new());
        };
        let bad = |e: String| {
            crate::server::ServerError::Config(format!("outbound_ca_file {}: {e}", path.display()))
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
        if roots.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
        Ok(roots)
    }

    pub fn outbound_policy(
        &self,
    ) -> Result<tollgate_core::fetch::FetchPolicy, crate::server::ServerError> {
        tollgate_core::fetch::FetchPolicy::new(
            &self.outbound_allow,
            self.outbound_allow_loopback_http,
        )
        .map_err(crate::server::ServerError::Config)
    }

    /// The SMTP settings; `None` when no `smtp_url` is set (mail is off).
    pub fn smtp(&self) -> Result<Option<crate::mail::SmtpSettings>, crate::server::ServerError> {
        let Some(url) = self.smtp_url.as_ref().filter(|u| !u.0.trim().is_empty()) else {
            return Ok(None);
        };
        let from = self.smtp_from.as_deref().unwrap_or_default();
        if from.trim().is_empty() {
            return Err(crate::server::ServerError::Config(
                "smtp_url is set but smtp_from (the sender address) is not".into(),
            ));
        }
        let password = self.smtp_password.as_ref().map(|p| p.0.as_str());
        crate::mail::SmtpSettings::parse(url.0.trim(), from, password)
            .map(Some)
            .map_err(crate::server::ServerError::Config)
    }

    pub fn uses_sqlite_default(&self) -> bool {
        self.database_url.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::keys::SigningAlgorithm;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn flags_beat_env_beat_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                "listen = \"127.0.0.1:1\"\naccess_token_ttl = 60\nlog = \"warn\"",
            )?;
            jail.set_env("TOLLGATE_LISTEN", "127.0.0.1:2");
            jail.set_env("TOLLGATE_ACCESS_TOKEN_TTL", "120");
            let flags = Overrides {
                serve: ServeOverrides {
                    listen: Some("127.0.0.1:3".into()),
                    ..ServeOverrides::default()
                },
                ..Overrides::default()
            };
            let c = Config::load(Some(Path::new("t.toml")), &flags).map_err(|e| *e)?;
            assert_eq!(c.listen, "127.0.0.1:3");
            assert_eq!(c.engine.access_token_ttl, 120);
            assert_eq!(c.log, "warn");
            assert_eq!(c.engine.signing_algorithm, SigningAlgorithm::ES256);
            Ok(())
        });
    }
}
