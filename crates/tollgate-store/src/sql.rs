//! What every table module shares: the database handle, error mapping, list columns and the
//! change log.

use std::sync::Arc;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool, FromRow, Transaction};
use tollgate_core::Clock;
use tollgate_core::model::Entity;
use tollgate_core::store::{StoreError, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// The pools and the injected clock. SQLite takes one writer at a time, so its writes go
/// through a single connection and queue there instead of sleeping on the lock; PostgreSQL
/// uses one pool for both.
pub(crate) struct Db {
    pub reader: AnyPool,
    pub writer: AnyPool,
    pub backend: Backend,
    pub clock: Arc<dyn Clock>,
    /// For the PostgreSQL LISTEN connection.
    pub url: String,
}

/// Every SQLite connection's settings (a macro, to build longer literals from). WAL lets
/// readers run beside the writer; NORMAL sync is durable at every checkpoint and loses no
/// committed transaction on a process crash.
macro_rules! sqlite_pragmas {
    () => {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
    };
}
pub(crate) use sqlite_pragmas;

/// `SELECT <columns> FROM <rest>`, a literal (sqlx refuses run-time SQL); `columns` names the
/// macro that gives the column list.
macro_rules! select {
    ($columns:ident, $rest:literal) => {
        concat!("SELECT ", $columns!(), " FROM ", $rest)
    };
}
pub(crate) use select;

/// The statement for the rows of `table` in one account, or in every account, oldest first.
macro_rules! of_account {
    ($account:expr, $columns:ident, $table:literal) => {
        match $account {
            Some(a) => sqlx::query(concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " WHERE account_sid = $1 ORDER BY created_at, sid"
            ))
            .bind(a.as_str()),
            None => sqlx::query(concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " ORDER BY created_at, sid"
            )),
        }
    };
}
pub(crate) use of_account;

/// The channel change-log writes NOTIFY on PostgreSQL.
pub(crate) const CHANGES_CHANNEL: &str = "tollgate_changes";

pub(crate) type Tx = Transaction<'static, Any>;
pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;
pub(crate) type QueryAs<'q, R> = sqlx::query::QueryAs<'q, Any, R, AnyArguments>;

impl Db {
    pub async fn begin(&self) -> StoreResult<Tx> {
        self.writer.begin().await.map_err(backend_err)
    }
}

pub(crate) fn backend_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Database(db) if unavailable_code(db.code().as_deref()) => {
            StoreError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// PostgreSQL connection exceptions (08…), shutdown (57P0…), read-only transactions (25006),
/// out of space (53…); SQLite busy (5), locked (6), read-only (8), I/O error (10), full (13),
/// cannot open (14).
fn unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    code.starts_with("08")
        || code.starts_with("57P0")
        || code.starts_with("53")
        || code == "25006"
        || matches!(code, "5" | "6" | "8" | "10" | "13" | "14")
        || code.parse::<u32>().is_ok_and(|c| {
            // SQLite extended result codes keep the primary code in the low byte.
            c > 255 && matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14)
        })
}

/// The same error again, for answering every job of a failed batch.
pub(crate) fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Lists are stored as JSON arrays of strings.
pub(crate) fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn parse_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|_| corrupt("list column"))
}

/// Parses a stored identifier, calling bad data corrupt.
pub(crate) fn parse_id<T, E>(
    raw: &str,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<T> {
    parse(raw).map_err(|_| corrupt(what))
}

/// Appends to the change log in the writer's transaction, stamped with the injected clock, so
/// other nodes see the change exactly when it commits.
pub(crate) async fn record_change(
    db: &Db,
    tx: &mut Tx,
    entity: Entity,
    id: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO changes (entity, id, at) VALUES ($1, $2, $3)")
        .bind(entity.as_str())
        .bind(id)
        .bind(db.clock.now())
        .execute(&mut **tx)
        .await
        .map_err(backend_err)?;
    if db.backend == Backend::Postgres {
        // Delivered when the transaction commits, to every node listening.
        sqlx::query("SELECT pg_notify('tollgate_changes', '')")
            .execute(&mut **tx)
            .await
            .map_err(backend_err)?;
    }
    Ok(())
}

/// Runs one write that may log a change: the change is recorded only when a row was affected.
pub(crate) async fn write_logged(
    db: &Db,
    query: Query<'_>,
    entity: Entity,
    id: &str,
) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    let done = query
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?
        .rows_affected()
        > 0;
    if done {
        record_change(db, &mut tx, entity, id).await?;
    }
    tx.commit().await.map_err(backend_err)?;
    Ok(done)
}

/// An insert other nodes must hear of (it affects its row or fails).
pub(crate) async fn insert_logged(
    db: &Db,
    query: Query<'_>,
    entity: Entity,
    id: &str,
) -> StoreResult<()> {
    write_logged(db, query, entity, id).await.map(|_| ())
}

/// A write that changes nothing another node caches.
pub(crate) async fn write(db: &Db, query: Query<'_>) -> StoreResult<u64> {
    Ok(query
        .execute(&db.writer)
        .await
        .map_err(backend_err)?
        .rows_affected())
}

/// At most one row, read on the reader pool.
pub(crate) async fn read_row<R>(db: &Db, query: QueryAs<'_, R>) -> StoreResult<Option<R>>
where
    R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    query.fetch_optional(&db.reader).await.map_err(backend_err)
}

/// At most one row, on the reader pool, for reading by column name (`rows`).
pub(crate) async fn fetch_row(db: &Db, query: Query<'_>) -> StoreResult<Option<AnyRow>> {
    query.fetch_optional(&db.reader).await.map_err(backend_err)
}

/// Every row, on the reader pool, for reading by column name (`rows`).
pub(crate) async fn fetch_rows(db: &Db, query: Query<'_>) -> StoreResult<Vec<AnyRow>> {
    query.fetch_all(&db.reader).await.map_err(backend_err)
}

/// Reads one row into the model, by column name (`rows`).
pub(crate) type ReadRow<T> = fn(&AnyRow) -> StoreResult<T>;

/// At most one row, on the reader pool, read by `read`.
pub(crate) async fn read_one<T>(db: &Db, q: Query<'_>, read: ReadRow<T>) -> StoreResult<Option<T>> {
    fetch_row(db, q).await?.as_ref().map(read).transpose()
}

/// Every row, on the reader pool, each read by `read`.
pub(crate) async fn read_all<T>(db: &Db, q: Query<'_>, read: ReadRow<T>) -> StoreResult<Vec<T>> {
    fetch_rows(db, q).await?.iter().map(read).collect()
}

/// A single number (a count or a maximum).
pub(crate) async fn read_number(db: &Db, query: QueryAs<'_, (i64,)>) -> StoreResult<i64> {
    let (n,) = query.fetch_one(&db.reader).await.map_err(backend_err)?;
    Ok(n)
}
