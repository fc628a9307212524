//! The change log other nodes read to refresh their caches (and, on PostgreSQL, are woken to
//! read), and pruning of expired rows.

use std::sync::Arc;
use std::time::Duration;

use tollgate_core::model::{Change, Entity};
use tollgate_core::store::StoreResult;

use crate::sql::{Backend, CHANGES_CHANNEL, Db, backend_err, read_number, write};

pub(crate) async fn changes_since(db: &Db, after: i64) -> StoreResult<Vec<Change>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT seq, entity, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
    )
    .bind(after)
    .fetch_all(&db.reader)
    .await
    .map_err(backend_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, entity, id)| {
            // An entity this version does not know is someone else's business.
            Entity::parse(&entity).map(|entity| Change { seq, entity, id })
        })
        .collect())
}

pub(crate) async fn latest_change(db: &Db) -> StoreResult<i64> {
    read_number(
        db,
        sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM changes"),
    )
    .await
}

pub(crate) async fn prune_changes(db: &Db, before: i64) -> StoreResult<u64> {
    // Keep the newest rows whatever their age so a cursor never loses its place.
    let q = sqlx::query(
        "DELETE FROM changes WHERE at < $1 \
         AND seq < (SELECT COALESCE(MAX(seq), 0) - 1000 FROM changes)",
    )
    .bind(before);
    write(db, q).await
}

pub(crate) async fn prune_expired(db: &Db, now: i64) -> StoreResult<u64> {
    let mut n = 0;
    for sql in [
        "DELETE FROM authorization_codes WHERE expires_at < $1 - 86400",
        "DELETE FROM browser_sessions WHERE expires_at < $1",
        "DELETE FROM refresh_tokens WHERE expires_at < $1",
        "DELETE FROM revoked_access_tokens WHERE expires_at < $1",
        "DELETE FROM access_tokens WHERE expires_at < $1",
        "DELETE FROM device_grants WHERE expires_at < $1 - 3600",
        "DELETE FROM used_jtis WHERE expires_at < $1",
        "DELETE FROM pushed_authorization_requests WHERE expires_at < $1 - 3600",
        "DELETE FROM initial_access_tokens WHERE expires_at < $1",
        "DELETE FROM code_authn WHERE expires_at < $1 - 86400",
        "DELETE FROM email_tokens WHERE expires_at < $1 - 86400",
        "DELETE FROM session_clients WHERE expires_at < $1",
    ] {
        n += write(db, sqlx::query(sql).bind(now)).await?;
    }
    Ok(n)
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
                if let Err(e) = listener.listen(CHANGES_CHANNEL).await {
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
