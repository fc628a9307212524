//! Leases: work that must happen once across nodes (key rotation) takes a named lease first.

use tollgate_core::store::StoreResult;

use crate::sql::{Db, write};

/// Inserts the lease, or takes it over when its holder's time ran out; one statement, so two
/// nodes can never both hold it.
pub(crate) async fn try_lease(
    db: &Db,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE leases.until <= $4 OR leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .bind(now);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn release_lease(db: &Db, name: &str, holder: &str) -> StoreResult<()> {
    let q = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder);
    write(db, q).await.map(|_| ())
}
