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

use crate::sql::{Db, Tx, backend_err, json_list, parse_id, parse_list, write};

#[derive(sqlx::FromRow)]
struct TokenFamilyRow {
    family_id: String,
    t_created: i64,
    t_expires: i64,
    used_at: Option<i64>,
    client_id: String,
    user_sid: String,
    scopes: String,
    auth_time: i64,
    f_created: i64,
    revoked_at: Option<i64>,
    resources: String,
    dpop_jkt: Option<String>,
}

impl TokenFamilyRow {
    fn into_parts(self, digest: &SecretDigest) -> StoreResult<(RefreshToken, RefreshFamily)> {
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

async fn insert_token(tx: &mut Tx, t: &RefreshToken, parent: Option<&str>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (digest, family_id, created_at, expires_at, used_at, parent) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.digest.to_hex())
    .bind(&t.family_id)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.used_at)
    .bind(parent)
    .execute(&mut **tx)
    .await
    .map_err(backend_err)?;
    Ok(())
}

pub(crate) async fn insert_refresh_family(
    db: &Db,
    f: &RefreshFamily,
    first: &RefreshToken,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO refresh_families (id, client_id, user_sid, scopes, auth_time, created_at, \
         revoked_at, resources, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&f.id)
    .bind(f.client_id.as_str())
    .bind(f.user_sid.as_str())
    .bind(json_list(&f.scopes))
    .bind(f.auth_time)
    .bind(f.created_at)
    .bind(f.revoked_at)
    .bind(json_list(&f.resources))
    .bind(&f.dpop_jkt)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?;
    insert_token(&mut tx, first, None).await?;
    tx.commit().await.map_err(backend_err)
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
struct MaybeUser {
    u_sid: Option<String>,
    u_account_sid: Option<String>,
    u_email: Option<String>,
    u_password_hash: Option<String>,
    u_first_name: Option<String>,
    u_last_name: Option<String>,
    u_friendly_name: Option<String>,
    u_created_at: Option<i64>,
    u_updated_at: Option<i64>,
    u_admin: Option<i64>,
}

impl MaybeUser {
    fn into_user(self) -> StoreResult<Option<User>> {
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
    let sql = "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, \
         t.used_at, f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, \
         f.revoked_at, f.resources, f.dpop_jkt, u.sid AS u_sid, u.account_sid AS u_account_sid, u.email AS u_email, \
         u.password_hash AS u_password_hash, u.first_name AS u_first_name, \
         u.last_name AS u_last_name, u.friendly_name AS u_friendly_name, \
         u.created_at AS u_created_at, u.updated_at AS u_updated_at, u.admin AS u_admin \
         FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN users u ON u.sid = f.user_sid WHERE t.digest = $1";
    let Some(row) = sqlx::query_as::<_, TokenFamilyUserRow>(sql)
        .bind(digest.to_hex())
        .fetch_optional(&db.reader)
        .await
        .map_err(backend_err)?
    else {
        return Ok(None);
    };
    let (token, family) = row.token.into_parts(digest)?;
    Ok(Some((token, family, row.user.into_user()?)))
}

async fn revoke_in(tx: &mut Tx, family_id: &str, at: i64) -> StoreResult<()> {
    sqlx::query("UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(family_id)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(backend_err)?;
    Ok(())
}

pub(crate) async fn rotate_refresh_token(
    db: &Db,
    old: &SecretDigest,
    next: &RefreshToken,
    at: i64,
    grace: i64,
) -> StoreResult<RefreshRotation> {
    let old_hex = old.to_hex();
    let mut tx = db.begin().await?;
    // Records the first use and takes the row lock, so concurrent uses of one token (on any
    // node) run this transaction one after another.
    let row: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE digest = $1 \
         RETURNING used_at, retired_at",
    )
    .bind(&old_hex)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend_err)?;
    let (first_use, retired) = row.unwrap_or((None, None));
    let outside_grace = at - first_use.unwrap_or(at) > grace;
    let (used_children,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM refresh_tokens WHERE parent = $1 AND used_at IS NOT NULL",
    )
    .bind(&old_hex)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend_err)?;
    // A family revoked meanwhile (on another node, say) mints nothing more.
    let (revoked,): (Option<i64>,) =
        sqlx::query_as("SELECT revoked_at FROM refresh_families WHERE id = $1")
            .bind(&next.family_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend_err)?;
    if revoked.is_some() || retired.is_some() || outside_grace || used_children > 0 {
        revoke_in(&mut tx, &next.family_id, at).await?;
        tx.commit().await.map_err(backend_err)?;
        return Ok(RefreshRotation::Reused);
    }
    // A repeat inside the window: the earlier successor is retired, one branch lives on.
    sqlx::query(
        "UPDATE refresh_tokens SET retired_at = $2 WHERE parent = $1 AND retired_at IS NULL",
    )
    .bind(&old_hex)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?;
    insert_token(&mut tx, next, Some(&old_hex)).await?;
    tx.commit().await.map_err(backend_err)?;
    Ok(RefreshRotation::Rotated)
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
