//! Pools and migrations for each backend.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use tollgate_core::Clock;
use tollgate_core::store::{Store, StoreError, StoreResult};

use crate::grants::{PgGrants, SqliteGrants};
use crate::sql::{Backend, Db, backend_err, sqlite_pragmas};
use crate::store::SqlStore;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/postgres");

/// These pools serve the cold paths (the grants run on `grants::sqlite`), so each keeps a
/// 512 KiB page cache instead of 2 MiB.
const SQLITE_PRAGMAS: &str = concat!(sqlite_pragmas!(), " PRAGMA cache_size = -512;");

/// Picks the backend, once: the store is generic over its grant groups.
pub(crate) async fn connect(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Arc<dyn Store>> {
    sqlx::any::install_default_drivers();
    if url.starts_with("sqlite:") {
        sqlite(url, clock).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres(url, clock).await
    } else {
        Err(StoreError::Backend(
            "unsupported database URL: use sqlite://PATH or postgres://…".into(),
        ))
    }
}

async fn sqlite(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Arc<dyn Store>> {
    // Create the file when missing.
    let url = match url.split_once('?') {
        None => format!("{url}?mode=rwc"),
        Some((_, q)) if !q.contains("mode=") => format!("{url}&mode=rwc"),
        Some(_) => url.to_owned(),
    };
    let options = |max| {
        AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut *conn).await?;
                    Ok(())
                })
            })
    };
    let writer = options(1).connect(&url).await.map_err(backend_err)?;
    SQLITE_MIGRATIONS
        .run(&writer)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let reader = options(4).connect(&url).await.map_err(backend_err)?;
    let path = sqlite_file(&url).ok_or_else(|| {
        StoreError::Backend("an in-memory SQLite database is not supported: name a file".into())
    })?;
    let grants = SqliteGrants::open(path)?;
    let db = Db {
        reader,
        writer,
        backend: Backend::Sqlite,
        clock,
        url,
    };
    Ok(Arc::new(SqlStore { db, grants }))
}

/// Brings an existing SQLite database to this version's schema, as a server start would.
pub(crate) async fn migrate_sqlite(url: &str) -> StoreResult<()> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(backend_err)?;
    let result = SQLITE_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()));
    pool.close().await;
    result
}

/// The file a `sqlite:` URL names; none for an in-memory database, which the grant writer
/// could not share.
pub(crate) fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then_some(path)
}

async fn postgres(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Arc<dyn Store>> {
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        // A request waits briefly for a connection, then answers 503: never a hang.
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(backend_err)?;
    POSTGRES_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let grants = PgGrants::start(url, pool.clone());
    let db = Db {
        reader: pool.clone(),
        writer: pool,
        backend: Backend::Postgres,
        clock,
        url: url.to_owned(),
    };
    Ok(Arc::new(SqlStore { db, grants }))
}
