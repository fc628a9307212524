//! Refresh families and their tokens. A rotation is one transaction that keeps at most one
//! live branch per family: a repeat inside the grace window retires the successor the earlier
//! use got, and any use of a retired token, or a repeat after the window, or a repeat after
//! the successor was itself used, revokes the family.

use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{
    ActiveRefreshFamily, RefreshFamily, RefreshRotation, RefreshToken, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::sql::{
    Db, backend_err, batches, corrupt, hot_fetch_optional, json_list, parse_id, parse_list, write,
};
use crate::sqlite_direct::grants;

#[derive(sqlx::FromRow)]
pub(crate) struct TokenFamilyRow {
    pub(crate) family_id: String,
    pub(crate) t_created: i64,
    pub(crate) t_expires: i64,
    pub(crate) used_at: Option<i64>,
    pub(crate) client_id: String,
    pub(crate) user_sid: String,
    pub(crate) scopes: String,
    pub(crate) auth_time: i64,
    pub(crate) f_created: i64,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) resources: String,
    pub(crate) dpop_jkt: Option<String>,
}

impl TokenFamilyRow {
    pub(crate) fn into_parts(
        self,
        digest: &SecretDigest,
    ) -> StoreResult<(RefreshToken, RefreshFamily)> {
        let token = RefreshToken {
            digest: *digest,
            family_id: self.family_id.clone(),
            created_at: self.t_created,
            expires_at: self.t_expires,
            used_at: self.used_at,
        };
        let family = RefreshFamily {
            id: self.family_id,
            client_id: parse_id(&self.client_id, "client id", ClientId::parse)?,
            user_sid: parse_id(&self.user_sid, "user sid", UserSid::parse)?,
            scopes: parse_list(&self.scopes)?,
            auth_time: self.auth_time,
            created_at: self.f_created,
            revoked_at: self.revoked_at,
            resources: parse_list(&self.resources)?,
            dpop_jkt: self.dpop_jkt,
        };
        Ok((token, family))
    }
}

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! token_family {
    () => {
        "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, t.used_at, \
         f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, f.revoked_at, \
         f.resources, f.dpop_jkt FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id"
    };
}

pub(crate) async fn insert_refresh_family(
    db: &Db,
    f: &RefreshFamily,
    first: &RefreshToken,
) -> StoreResult<()> {
    if let Some(direct) = &db.direct {
        let (f, first) = (f.clone(), first.clone());
        return direct
            .write(move |c| grants::insert_refresh_family(c, &f, &first))
            .await;
    }
    let job = serde_json::json!({
        "kind": "family", "id": f.id, "client_id": f.client_id.as_str(),
        "user_sid": f.user_sid.as_str(), "scopes": json_list(&f.scopes),
        "auth_time": f.auth_time, "created_at": f.created_at, "revoked_at": f.revoked_at,
        "resources": json_list(&f.resources), "dpop_jkt": f.dpop_jkt,
        "digest": first.digest.to_hex(), "token_created": first.created_at,
        "token_expires": first.expires_at, "token_used": first.used_at,
    });
    batches(db)?.submit(job).await.map(|_| ())
}

pub(crate) async fn refresh_token(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
    sqlx::query_as::<_, TokenFamilyRow>(concat!(token_family!(), " WHERE t.digest = $1"))
        .bind(digest.to_hex())
        .fetch_optional(&db.reader)
        .await
        .map_err(backend_err)?
        .map(|r| r.into_parts(digest))
        .transpose()
}

/// The family's user, when it still exists (LEFT JOIN: every column may be NULL).
#[derive(sqlx::FromRow)]
pub(crate) struct MaybeUser {
    pub(crate) u_sid: Option<String>,
    pub(crate) u_account_sid: Option<String>,
    pub(crate) u_email: Option<String>,
    pub(crate) u_password_hash: Option<String>,
    pub(crate) u_first_name: Option<String>,
    pub(crate) u_last_name: Option<String>,
    pub(crate) u_friendly_name: Option<String>,
    pub(crate) u_created_at: Option<i64>,
    pub(crate) u_updated_at: Option<i64>,
    pub(crate) u_admin: Option<i64>,
}

impl MaybeUser {
    pub(crate) fn into_user(self) -> StoreResult<Option<User>> {
        let (Some(sid), Some(account), Some(email), Some(hash)) = (
            self.u_sid,
            self.u_account_sid,
            self.u_email,
            self.u_password_hash,
        ) else {
            return Ok(None);
        };
        Ok(Some(User {
            sid: parse_id(&sid, "user sid", UserSid::parse)?,
            account_sid: parse_id(&account, "account sid", AccountSid::parse)?,
            email,
            password_hash: hash,
            first_name: self.u_first_name,
            last_name: self.u_last_name,
            friendly_name: self.u_friendly_name,
            admin: self.u_admin.is_some_and(|a| a != 0),
            created_at: self.u_created_at.unwrap_or_default(),
            updated_at: self.u_updated_at.unwrap_or_default(),
        }))
    }
}

#[derive(sqlx::FromRow)]
struct TokenFamilyUserRow {
    #[sqlx(flatten)]
    token: TokenFamilyRow,
    #[sqlx(flatten)]
    user: MaybeUser,
}

/// The token, its family and the family's user in one read (the rotation hot path).
pub(crate) async fn refresh_token_with_user(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
    if let Some(direct) = &db.direct {
        let digest = *digest;
        return direct
            .read(move |c| grants::refresh_token_with_user(c, &digest))
            .await;
    }
    let sql = "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, \
         t.used_at, f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, \
         f.revoked_at, f.resources, f.dpop_jkt, u.sid AS u_sid, u.account_sid AS u_account_sid, u.email AS u_email, \
         u.password_hash AS u_password_hash, u.first_name AS u_first_name, \
         u.last_name AS u_last_name, u.friendly_name AS u_friendly_name, \
         u.created_at AS u_created_at, u.updated_at AS u_updated_at, u.admin AS u_admin \
         FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN users u ON u.sid = f.user_sid WHERE t.digest = $1";
    let query = sqlx::query_as::<_, TokenFamilyUserRow>(sql).bind(digest.to_hex());
    let Some(row) = hot_fetch_optional(db, query).await? else {
        return Ok(None);
    };
    let (token, family) = row.token.into_parts(digest)?;
    Ok(Some((token, family, row.user.into_user()?)))
}

/// One transaction that keeps at most one live branch per family (see the module comment).
/// SQLite runs it on the group-committing writer; PostgreSQL as `tollgate_rotate_refresh`
/// (migration 0008), group-committed with the node's other grant writes.
pub(crate) async fn rotate_refresh_token(
    db: &Db,
    old: &SecretDigest,
    next: &RefreshToken,
    at: i64,
    grace: i64,
) -> StoreResult<RefreshRotation> {
    if let Some(direct) = &db.direct {
        let (old, next) = (*old, next.clone());
        return direct
            .write(move |c| grants::rotate_refresh_token(c, &old, &next, at, grace))
            .await;
    }
    let job = crate::pg_batch::rotate_job(&old.to_hex(), next, at, grace);
    match batches(db)?.submit(job).await?.outcome.as_str() {
        "rotated" => Ok(RefreshRotation::Rotated),
        "reused" => Ok(RefreshRotation::Reused),
        other => Err(corrupt(&format!("rotation outcome {other:?}"))),
    }
}

pub(crate) async fn revoke_refresh_family(db: &Db, family_id: &str, at: i64) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(at);
    Ok(write(db, q).await? > 0)
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    id: String,
    client_id: String,
    user_sid: String,
    scopes: String,
    auth_time: i64,
    created_at: i64,
    revoked_at: Option<i64>,
    resources: String,
    dpop_jkt: Option<String>,
}

impl TryFrom<FamilyRow> for RefreshFamily {
    type Error = tollgate_core::store::StoreError;

    fn try_from(r: FamilyRow) -> StoreResult<Self> {
        Ok(RefreshFamily {
            id: r.id,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
            scopes: parse_list(&r.scopes)?,
            auth_time: r.auth_time,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            resources: parse_list(&r.resources)?,
            dpop_jkt: r.dpop_jkt,
        })
    }
}

pub(crate) async fn refresh_family(db: &Db, id: &str) -> StoreResult<Option<RefreshFamily>> {
    sqlx::query_as::<_, FamilyRow>(
        "SELECT id, client_id, user_sid, scopes, auth_time, created_at, revoked_at, resources, \
         dpop_jkt FROM refresh_families WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.reader)
    .await
    .map_err(backend_err)?
    .map(RefreshFamily::try_from)
    .transpose()
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
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(account.as_str())
        .bind(now)
        .fetch_one(&db.reader)
        .await
        .map_err(backend_err)?;
    Ok(n)
}
