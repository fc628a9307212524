//! `tollgate config check`: the effective configuration with secrets redacted, and every
//! problem in plain words, before a server is started with it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::config::Config;

/// A database URL with its password replaced, safe to print or log.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: keep only the scheme, which cannot hold a secret.
        Err(_) => format!("{}://…", raw.split("://").next().unwrap_or("?")),
    }
}

/// The configuration as JSON with secrets redacted.
pub fn redacted(config: &Config) -> Value {
    let mut v = serde_json::to_value(config).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        for secret in ["key_encryption_key", "metrics_token", "smtp_password"] {
            if obj.get(secret).is_some_and(|k| !k.is_null()) {
                obj.insert(secret.into(), Value::from("<redacted>"));
            }
        }
        for key in ["database_url", "smtp_url"] {
            if let Some(Value::String(url)) = obj.get(key) {
                let safe = redact_url(url);
                obj.insert(key.into(), Value::from(safe));
            }
        }
    }
    v
}

/// Every problem found, in plain words; empty when the configuration is usable.
pub fn problems(config: &Config, file: Option<&Path>) -> Vec<String> {
    let mut out = Vec::new();
    if config.listen.parse::<std::net::SocketAddr>().is_err() {
        out.push(format!(
            "listen {:?} is not an address:port such as 127.0.0.1:8080",
            config.listen
        ));
    }
    out.extend(issuer_problem(&config.engine.issuer));
    let db = config.database_url();
    if !(db.starts_with("sqlite:")
        || db.starts_with("postgres://")
        || db.starts_with("postgresql://"))
    {
        out.push(format!(
            "database_url {} is not supported: use sqlite://PATH or postgres://…",
            redact_url(&db)
        ));
    }
    out.extend(key_encryption_key_problem(config));
    if let Err(e) = config.tls() {
        out.push(e.to_string());
    }
    if let Err(e) = config.outbound_policy() {
        out.push(e.to_string());
    }
    if let Err(e) = config.smtp() {
        out.push(e.to_string());
    }
    if let Some(path) = file_to_check(file) {
        out.extend(unknown_keys(config, &path));
    }
    out
}

/// What is wrong with the issuer, if anything (an empty one means `http://<listen>`).
fn issuer_problem(issuer: &str) -> Option<String> {
    if issuer.is_empty() {
        return None;
    }
    match url::Url::parse(issuer) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            Some(format!("issuer {issuer:?} must be an http or https URL"))
        }
        Ok(u) if u.query().is_some() || u.fragment().is_some() => Some(format!(
            "issuer {issuer:?} must not have a query or fragment"
        )),
        Ok(_) => None,
        Err(e) => Some(format!("issuer {issuer:?} is not a URL: {e}")),
    }
}

/// What is wrong with the configured key-encryption key, or else with its file.
fn key_encryption_key_problem(config: &Config) -> Option<String> {
    match &config.key_encryption_key {
        Some(k) => match URL_SAFE_NO_PAD.decode(k.trim().trim_end_matches('=')) {
            Ok(raw) if raw.len() == 32 => None,
            _ => Some("key_encryption_key must be 32 bytes in base64url".into()),
        },
        None => {
            let path = config.data_dir.join("key-encryption.key");
            (path.exists() && std::fs::read_to_string(&path).is_err()).then(|| {
                format!(
                    "the key-encryption key file {} cannot be read",
                    path.display()
                )
            })
        }
    }
}

/// Whether mail can go out: with SMTP configured, a connection to the server is made and
/// greeted (nothing is sent). The answer in plain words, and whether it is a problem.
pub async fn mail_status(config: &Config) -> (String, bool) {
    let settings = match config.smtp() {
        Ok(Some(s)) => s,
        // Reported among the problems already.
        Err(_) => return ("mail: the SMTP settings are invalid".into(), false),
        Ok(None) => {
            return (
                "mail: not configured (no smtp_url): no verification or password reset mail; \
                 mark addresses verified with `tollgate user verify-email`"
                    .into(),
                false,
            );
        }
    };
    let server = format!("{}:{}", settings.host, settings.port);
    let mailer = match crate::mail::SmtpMailer::new(&settings) {
        Ok(m) => m,
        Err(e) => return (format!("mail: {e}"), true),
    };
    use tollgate_core::mail::Mailer as _;
    match mailer.check().await {
        Ok(()) => (format!("mail: the SMTP server at {server} answers"), false),
        Err(e) => (
            format!("mail: the SMTP server at {server} cannot be used: {e}"),
            true,
        ),
    }
}

fn file_to_check(file: Option<&Path>) -> Option<PathBuf> {
    match file {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("tollgate.toml")).filter(|p| p.exists()),
    }
}

/// Keys in the file that no setting reads (a typo would otherwise be silently ignored).
fn unknown_keys(config: &Config, path: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("{} cannot be read: {e}", path.display())],
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!("{} is not valid TOML: {e}", path.display())],
    };
    let known = serde_json::to_value(config).unwrap_or(Value::Null);
    table
        .keys()
        .filter(|k| known.get(k.as_str()).is_none())
        .map(|k| format!("{}: unknown setting {k:?}", path.display()))
        .collect()
}
