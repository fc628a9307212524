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
    if dst.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists already: name a new file",
            dst.display()
        )));
    }
    let src = Connection::open_with_flags(
        db,
        // Read-write (never create): a reader of a WAL database shares its index file.
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    src.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    if !is_tollgate(&src)? {
        return Err(StoreError::Backend(format!(
            "{} is not a Tollgate database",
            db.display()
        )));
    }
    let partial = dst.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let pages = {
        let mut out = Connection::open(&partial).map_err(err)?;
        let pages = copy(&src, &mut out)?;
        // One self-contained file: no WAL beside it.
        out.pragma_update(None, "journal_mode", "DELETE")
            .map_err(err)?;
        integrity_ok(&out)?;
        pages
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("sync the backup", e))?;
    std::fs::rename(&partial, dst).map_err(|e| io("move the backup into place", e))?;
    let bytes = std::fs::metadata(dst).map(|m| m.len()).unwrap_or(0);
    Ok(Copied {
        file: dst.to_path_buf(),
        pages,
        bytes,
    })
}

/// Restores the backup `src` into a new database file `db` (which must not exist).
pub fn restore_sqlite(src: &Path, db: &Path) -> StoreResult<Copied> {
    if db.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists already: restore into a fresh data directory",
            db.display()
        )));
    }
    let backup = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", src.display())))?;
    integrity_ok(&backup).map_err(|e| match e {
        StoreError::Backend(m) => {
            StoreError::Backend(format!("{} is not a backup: {m}", src.display()))
        }
        other => other,
    })?;
    if !is_tollgate(&backup)? {
        return Err(StoreError::Backend(format!(
            "{} is not a Tollgate backup",
            src.display()
        )));
    }
    let partial = db.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let pages = {
        let mut out = Connection::open(&partial).map_err(err)?;
        let pages = copy(&backup, &mut out)?;
        out.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        pages
    };
    std::fs::rename(&partial, db).map_err(|e| io("move the database into place", e))?;
    let bytes = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    Ok(Copied {
        file: db.to_path_buf(),
        pages,
        bytes,
    })
}
