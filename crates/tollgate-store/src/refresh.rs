//! Refresh families' cold paths: reads outside a grant and the account's active families.
//! Rotation and the other grant writes are in `grants` (`RefreshStore`).

use sqlx::any::AnyRow;
use tollgate_core::ids::AccountSid;
use tollgate_core::model::{ActiveRefreshFamily, RefreshFamily, RefreshToken};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{self, Columns};
use crate::sql::{Db, fetch_row, read_all, read_number, read_one};
use crate::statements::SELECT_TOKEN_FAMILY;

pub(crate) async fn refresh_token(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
    let q = sqlx::query(SELECT_TOKEN_FAMILY).bind(digest.to_hex());
    let row = fetch_row(db, q).await?;
    row.map(|r| rows::token_family(&r, digest)).transpose()
}

pub(crate) async fn refresh_family(db: &Db, id: &str) -> StoreResult<Option<RefreshFamily>> {
    let q = sqlx::query(
        "SELECT id, client_id, user_sid, scopes, auth_time, created_at, revoked_at, resources, \
         dpop_jkt FROM refresh_families WHERE id = $1",
    );
    read_one(db, q.bind(id), rows::family).await
}

// A family is active while it is unrevoked and holds a live token: unexpired, unused and not
// retired by a repeat inside the grace window.
macro_rules! active_families {
    () => {
        " FROM refresh_families f JOIN clients c ON c.sid = f.client_id \
         JOIN refresh_tokens t ON t.family_id = f.id \
         WHERE c.account_sid = $1 AND f.revoked_at IS NULL AND t.expires_at > $2 \
         AND t.used_at IS NULL AND t.retired_at IS NULL"
    };
}

/// The account's active families, most recently used first, at most `limit`.
pub(crate) async fn active_refresh_families(
    db: &Db,
    account: &AccountSid,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<ActiveRefreshFamily>> {
    let sql = concat!(
        "SELECT f.id, f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at, \
         f.revoked_at, f.resources, f.dpop_jkt, MAX(t.created_at) AS last_issued_at, \
         MAX(t.expires_at) AS expires_at",
        active_families!(),
        " GROUP BY f.id, f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at, \
         f.revoked_at, f.resources, f.dpop_jkt ORDER BY last_issued_at DESC, f.id LIMIT $3"
    );
    let q = sqlx::query(sql)
        .bind(account.as_str())
        .bind(now)
        .bind(limit);
    let read = |r: &AnyRow| {
        Ok(ActiveRefreshFamily {
            family: rows::family(r)?,
            last_issued_at: r.col("last_issued_at")?,
            expires_at: r.col("expires_at")?,
        })
    };
    read_all(db, q, read).await
}

pub(crate) async fn count_active_refresh_families(
    db: &Db,
    account: &AccountSid,
    now: i64,
) -> StoreResult<i64> {
    let sql = concat!("SELECT COUNT(DISTINCT f.id)", active_families!());
    read_number(db, sqlx::query_as(sql).bind(account.as_str()).bind(now)).await
}
