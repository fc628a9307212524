//! Refresh families' cold paths: reads outside a grant and the account's active families.
//! Rotation and the other grant writes are in `grants` (`RefreshStore`).

use tollgate_core::ids::AccountSid;
use tollgate_core::model::{ActiveRefreshFamily, RefreshFamily, RefreshToken};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{FamilyRow, TokenFamilyRow};
use crate::sql::{Db, backend_err, read_number, read_one, read_row};
use crate::statements::SELECT_TOKEN_FAMILY;

pub(crate) async fn refresh_token(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
    let q = sqlx::query_as::<_, TokenFamilyRow>(SELECT_TOKEN_FAMILY).bind(digest.to_hex());
    read_row(db, q)
        .await?
        .map(|r| r.into_parts(digest))
        .transpose()
}

pub(crate) async fn refresh_family(db: &Db, id: &str) -> StoreResult<Option<RefreshFamily>> {
    let q = sqlx::query_as::<_, FamilyRow>(
        "SELECT id, client_id, user_sid, scopes, auth_time, created_at, revoked_at, resources, \
         dpop_jkt FROM refresh_families WHERE id = $1",
    );
    read_one(db, q.bind(id)).await
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

#[derive(sqlx::FromRow)]
struct ActiveRow {
    #[sqlx(flatten)]
    family: FamilyRow,
    last_issued_at: i64,
    expires_at: i64,
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
    sqlx::query_as::<_, ActiveRow>(sql)
        .bind(account.as_str())
        .bind(now)
        .bind(limit)
        .fetch_all(&db.reader)
        .await
        .map_err(backend_err)?
        .into_iter()
        .map(|r| {
            Ok(ActiveRefreshFamily {
                family: RefreshFamily::try_from(r.family)?,
                last_issued_at: r.last_issued_at,
                expires_at: r.expires_at,
            })
        })
        .collect()
}

pub(crate) async fn count_active_refresh_families(
    db: &Db,
    account: &AccountSid,
    now: i64,
) -> StoreResult<i64> {
    let sql = concat!("SELECT COUNT(DISTINCT f.id)", active_families!());
    read_number(db, sqlx::query_as(sql).bind(account.as_str()).bind(now)).await
}
