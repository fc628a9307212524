//! `tollgate backup FILE` and `tollgate restore FILE` (DESIGN section 13): an online,
//! consistent copy of the SQLite database, and its restore into a fresh data directory. The
//! key-encryption key is never part of a backup: it is kept apart, and a restore is given it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use serde_json::json;
use tollgate_store::backup::{backup_sqlite, restore_sqlite, sqlite_path};

use super::{CliError, Output};
use crate::config::Config;
use crate::server::{Context, Deps, ServerError};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the backup (a new file).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file `tollgate backup` wrote.
    pub file: PathBuf,
    /// The key-encryption key the backup's signing keys are sealed under (the old
    /// `key-encryption.key`); copied into the new data directory. Not needed when
    /// `key_encryption_key` is configured.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

fn config_err(message: impl Into<String>) -> CliError {
    CliError::Server(ServerError::Config(message.into()))
}

fn sqlite_file(config: &Config, what: &str) -> Result<PathBuf, CliError> {
    sqlite_path(&config.database_url()).ok_or_else(|| {
        config_err(format!(
            "{what} works on an SQLite database; for PostgreSQL use pg_dump and pg_restore \
             (README, \"Moving to PostgreSQL\")"
        ))
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> tollgate_core::store::StoreResult<T> + Send + 'static,
) -> Result<T, CliError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| config_err(format!("the copy stopped: {e}")))?
        .map_err(|e| CliError::Server(ServerError::Store(e)))
}

pub(super) async fn backup(config: &Config, args: BackupArgs) -> Result<Output, CliError> {
    let db = sqlite_file(config, "backup")?;
    if !db.exists() {
        return Err(config_err(format!("no database at {}", db.display())));
    }
    let dst = args.file;
    let copied = blocking(move || backup_sqlite(&db, &dst)).await?;
    let note = "the key-encryption key is not in the backup: keep it (key_encryption_key or \
                key-encryption.key in the data directory) safe and apart from the backup";
    Ok(Output {
        json: json!({
            "backup": copied.file,
            "pages": copied.pages,
            "bytes": copied.bytes,
            "note": note,
        }),
        text: format!(
            "backed up {} pages ({} bytes) to {}\n{note}\n",
            copied.pages,
            copied.bytes,
            copied.file.display()
        ),
    })
}

pub(super) async fn restore(config: Config, args: RestoreArgs) -> Result<Output, CliError> {
    let db = sqlite_file(&config, "restore")?;
    let dir = config.data_dir.clone();
    check_fresh(&dir, &db)?;
    let kek = restore_kek(&config, &args)?;
    create_private_dir(&dir)?;
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent).map_err(ServerError::Io)?;
    }
    let kek_file = dir.join("key-encryption.key");
    if let Some(kek) = &kek {
        write_private(&kek_file, kek)?;
    }
    let (src, dst) = (args.file.clone(), db.clone());
    let restored = async {
        let copied = blocking(move || restore_sqlite(&src, &dst)).await?;
        let keys = check_keys(config).await?;
        Ok::<_, CliError>((copied, keys))
    }
    .await;
    let (copied, keys) = match restored {
        Ok(r) => r,
        Err(e) => {
            // Leave the directory as fresh as it was, so the restore can be tried again.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            if kek.is_some() {
                let _ = std::fs::remove_file(&kek_file);
            }
            return Err(e);
        }
    };
    Ok(Output {
        json: json!({
            "restored": args.file,
            "database": copied.file,
            "pages": copied.pages,
            "signing_keys": keys,
        }),
        text: format!(
            "restored {} into {} ({} pages, {keys} signing keys open under the key-encryption key)\n",
            args.file.display(),
            copied.file.display(),
            copied.pages
        ),
    })
}

/// A restore goes into a fresh data directory only: nothing of a running install is replaced.
fn check_fresh(dir: &Path, db: &Path) -> Result<(), CliError> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(config_err(format!(
            "the data directory {} is not empty: restore into a fresh one",
            dir.display()
        )));
    }
    if db.exists() {
        return Err(config_err(format!(
            "{} exists already: restore into a fresh data directory",
            db.display()
        )));
    }
    Ok(())
}

/// The key-encryption key to write into the new data directory: the `--key-file`'s, or none
/// when the configuration holds it; exactly one of the two must give it.
fn restore_kek(config: &Config, args: &RestoreArgs) -> Result<Option<String>, CliError> {
    match (&config.key_encryption_key, &args.key_file) {
        (Some(_), Some(_)) => Err(config_err(
            "key_encryption_key is configured: leave out --key-file",
        )),
        (Some(_), None) => Ok(None),
        (None, Some(file)) => Ok(Some(read_kek(file)?)),
        (None, None) => Err(config_err(
            "a restore needs the key-encryption key the backup's signing keys are sealed \
             under: pass --key-file or configure key_encryption_key",
        )),
    }
}

/// Opens the restored store (running any newer migrations) and unseals every signing key.
async fn check_keys(config: Config) -> Result<usize, CliError> {
    let ctx = Context::open(config, Deps::system()).await?;
    let sealer = ctx.sealer()?;
    let keys = ctx.admin().keys().await?;
    for key in &keys {
        tollgate_core::keys::LoadedKey::load(key.clone(), &sealer).map_err(|_| {
            config_err(format!(
                "the key-encryption key does not open signing key {}: give the one the backup \
                 was made under",
                key.kid
            ))
        })?;
    }
    Ok(keys.len())
}

fn read_kek(file: &Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| config_err(format!("cannot read {}: {e}", file.display())))?;
    let kek = text.trim().to_owned();
    let raw = URL_SAFE_NO_PAD.decode(kek.trim_end_matches('='));
    if raw.map(|r| r.len()) != Ok(32) {
        return Err(config_err(format!(
            "{} does not hold a key-encryption key (base64url of 32 bytes)",
            file.display()
        )));
    }
    Ok(kek)
}

fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(ServerError::Io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(ServerError::Io)?;
    }
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(ServerError::Io)?;
    f.write_all(contents.as_bytes()).map_err(ServerError::Io)?;
    f.sync_all().map_err(ServerError::Io)?;
    Ok(())
}
