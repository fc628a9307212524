//! Online SQLite backup and restore through SQLite's backup API (DESIGN section 13). A backup
//! copies every page inside one read transaction, so it is consistent while servers keep
//! writing (WAL readers never block the writer); a restore goes only into a file that does
//! not exist yet.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use tollgate_core::store::{StoreError, StoreResult};

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub file: PathBuf,
    pub pages: i64,
    pub bytes: u64,
}

/// The file an `sqlite:` URL names; none for an in-memory database or another backend.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    crate::connect::sqlite_file(url).map(PathBuf::from)
}

fn err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            rusqlite::ErrorCode::DatabaseBusy
            | rusqlite::ErrorCode::DatabaseLocked
            | rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::DiskFull,
        ) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

fn io(context: &str, e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("{context}: {e}"))
}

/// Copies the whole of `src` into `dst` (a fresh connection) in one step.
fn copy(src: &Connection, dst: &mut Connection) -> StoreResult<i64> {
    let backup = rusqlite::backup::Backup::new(src, dst).map_err(err)?;
    // All pages at once: one read transaction on the source, so nothing written meanwhile
    // can make the copy inconsistent, and no restart when another process writes.
    backup.step(-1).map_err(err)?;
    Ok(i64::from(backup.progress().pagecount))
}

fn integrity_ok(conn: &Connection) -> StoreResult<()> {
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(err)?;
    if result == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!("integrity check: {result}")))
    }
}

/// Whether `conn` holds a Tollgate database (it has run the migrations).
fn is_tollgate(conn: &Connection) -> StoreResult<bool> {
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('_sqlx_migrations', 'changes', 'signing_keys')",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    Ok(n == 3)
}

/// Writes a consistent copy of the database at `db` to `dst` (which must not exist): first to
/// a temporary file beside it, renamed into place once complete and checked.
pub fn backup_sqlite(db: &Path, dst: &Path) -> StoreResult<Copied> {
    must_be_new(dst, "name a new file")?;
    let src = Connection::open_with_flags(
        db,
        // Read-write (never create): a reader of a WAL database shares its index file.
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    src.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    must_be_tollgate(&src, db, "database")?;
    copy_into_place(&src, dst, Target::Backup)
}

/// Restores the backup `src` into a new database file `db` (which must not exist).
pub fn restore_sqlite(src: &Path, db: &Path) -> StoreResult<Copied> {
    must_be_new(db, "restore into a fresh data directory")?;
    let backup = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", src.display())))?;
    integrity_ok(&backup).map_err(|e| match e {
        StoreError::Backend(m) => {
            StoreError::Backend(format!("{} is not a backup: {m}", src.display()))
        }
        other => other,
    })?;
    must_be_tollgate(&backup, src, "backup")?;
    copy_into_place(&backup, db, Target::Database)
}

fn must_be_new(path: &Path, hint: &str) -> StoreResult<()> {
    if path.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists already: {hint}",
            path.display()
        )));
    }
    Ok(())
}

fn must_be_tollgate(conn: &Connection, path: &Path, what: &str) -> StoreResult<()> {
    if !is_tollgate(conn)? {
        return Err(StoreError::Backend(format!(
            "{} is not a Tollgate {what}",
            path.display()
        )));
    }
    Ok(())
}

/// What [`copy_into_place`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// One self-contained file (no WAL beside it), checked and synced before it is renamed.
    Backup,
    /// A database for servers to open again (WAL).
    Database,
}

/// Copies `src` into a temporary file beside `dst`, renamed into place once complete, so
/// `dst` is never seen half written.
fn copy_into_place(src: &Connection, dst: &Path, target: Target) -> StoreResult<Copied> {
    let backup = target == Target::Backup;
    let partial = dst.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let pages = {
        let mut out = Connection::open(&partial).map_err(err)?;
        let pages = copy(src, &mut out)?;
        let mode = if backup { "DELETE" } else { "WAL" };
        out.pragma_update(None, "journal_mode", mode).map_err(err)?;
        if backup {
            integrity_ok(&out)?;
        }
        pages
    };
    if backup {
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync the backup", e))?;
    }
    let what = if backup { "backup" } else { "database" };
    std::fs::rename(&partial, dst).map_err(|e| io(&format!("move the {what} into place"), e))?;
    let bytes = std::fs::metadata(dst).map(|m| m.len()).unwrap_or(0);
    Ok(Copied {
        file: dst.to_path_buf(),
        pages,
        bytes,
    })
}
