//! Pools and migrations for each backend.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use tollgate_core::Clock;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{Backend, Db, backend_err};
use crate::sqlite_direct::Direct;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// WAL lets readers run beside the writer; NORMAL sync is durable at every checkpoint and
/// loses no committed transaction on a process crash. These pools serve the cold paths (the
/// grants run on `sqlite_direct`), so each keeps a 512 KiB page cache instead of 2 MiB.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                              PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                              PRAGMA cache_size = -512;";

pub(crate) async fn connect(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Db> {
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

async fn sqlite(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Db> {
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
    let direct = Some(Arc::new(Direct::open(path)?));
    Ok(Db {
        reader,
        writer,
        backend: Backend::Sqlite,
        clock,
        url,
        direct,
        hot: None,
        batches: None,
    })
}

/// The file a `sqlite:` URL names; none for an in-memory database, which direct connections
/// could not share.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory")).then_some(path)
}

/// PostgreSQL: LISTEN on the change channel and wake the caller on every NOTIFY, and once
/// after every (re)connect so nothing missed while disconnected is left unread. Never returns
/// on PostgreSQL; SQLite returns at once (one node: changes are applied in process, and other
/// processes' are polled).
pub(crate) async fn watch_changes(db: &Db, wake: Arc<tokio::sync::Notify>) -> StoreResult<()> {
    if db.backend != Backend::Postgres {
        return Ok(());
    }
    loop {
        match sqlx::postgres::PgListener::connect(&db.url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(crate::sql::CHANGES_CHANNEL).await {
                    tracing::warn!(error = %e, "could not LISTEN for changes");
                } else {
                    wake.notify_one();
                    // recv reconnects by itself; an error means it could not.
                    while listener.recv().await.is_ok() {
                        wake.notify_one();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not connect to LISTEN for changes"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn postgres(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Db> {
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
    let hot = Arc::new(crate::hot::HotConnections::new(url));
    Ok(Db {
        reader: pool.clone(),
        writer: pool,
        backend: Backend::Postgres,
        clock,
        url: url.to_owned(),
        direct: None,
        batches: Some(crate::pg_batch::GrantBatches::start(hot.clone())),
        hot: Some(hot),
    })
}
