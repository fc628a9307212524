//! Users, browser sessions and consents.

use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{BrowserSession, User};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::sql::{
    Db, backend_err, json_list, of_account, parse_id, parse_list, read_all, read_one, read_row,
    select, write,
};

use crate::rows;
use crate::statements::user_columns as columns;

pub(crate) async fn insert_user(db: &Db, u: &User) -> StoreResult<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO users (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(u.sid.as_str())
    .bind(u.account_sid.as_str())
    .bind(&u.email)
    .bind(&u.password_hash)
    .bind(&u.first_name)
    .bind(&u.last_name)
    .bind(&u.friendly_name)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(i64::from(u.admin))
    .bind(i64::from(u.email_verified));
    write(db, q).await.map(|_| ())
}

pub(crate) async fn user_by_email(db: &Db, email: &str) -> StoreResult<Option<User>> {
    let q = sqlx::query(select!(columns, "users WHERE email = $1")).bind(email);
    read_one(db, q, rows::user).await
}

pub(crate) async fn users(db: &Db, account: Option<&AccountSid>) -> StoreResult<Vec<User>> {
    read_all(db, of_account!(account, columns, "users"), rows::user).await
}

/// Deletes the user (sessions and consents go with it) and revokes its refresh families.
pub(crate) async fn delete_user(db: &Db, sid: &UserSid, at: i64) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE refresh_families SET revoked_at = $2 WHERE user_sid = $1 AND revoked_at IS NULL",
    )
    .bind(sid.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?;
    let done = sqlx::query("DELETE FROM users WHERE sid = $1")
        .bind(sid.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?
        .rows_affected()
        > 0;
    tx.commit().await.map_err(backend_err)?;
    Ok(done)
}

/// Replaces the password hash and ends the user's browser sessions, in one transaction.
pub(crate) async fn set_user_password(
    db: &Db,
    sid: &UserSid,
    password_hash: &str,
    at: i64,
) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE sid = $1")
        .bind(sid.as_str())
        .bind(password_hash)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?
        .rows_affected()
        > 0;
    sqlx::query("DELETE FROM browser_sessions WHERE user_sid = $1")
        .bind(sid.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
    tx.commit().await.map_err(backend_err)?;
    Ok(done)
}

pub(crate) async fn update_user_profile(db: &Db, u: &User, at: i64) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE users SET email = $2, first_name = $3, last_name = $4, friendly_name = $5, \
         admin = $6, updated_at = $7 WHERE sid = $1",
    )
    .bind(u.sid.as_str())
    .bind(&u.email)
    .bind(&u.first_name)
    .bind(&u.last_name)
    .bind(&u.friendly_name)
    .bind(i64::from(u.admin))
    .bind(at);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn set_user_email_verified(
    db: &Db,
    sid: &UserSid,
    verified: bool,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query("UPDATE users SET email_verified = $2, updated_at = $3 WHERE sid = $1")
        .bind(sid.as_str())
        .bind(i64::from(verified))
        .bind(at);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn insert_session(db: &Db, s: &BrowserSession) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO browser_sessions (digest, user_sid, auth_time, created_at, last_seen_at, \
         expires_at, amr) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.digest.to_hex())
    .bind(s.user_sid.as_str())
    .bind(s.auth_time)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(json_list(&s.amr));
    write(db, q).await.map(|_| ())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_sid: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    amr: String,
}

pub(crate) async fn session(db: &Db, digest: &SecretDigest) -> StoreResult<Option<BrowserSession>> {
    let q = sqlx::query_as::<_, SessionRow>(
        "SELECT user_sid, auth_time, created_at, last_seen_at, expires_at, amr \
         FROM browser_sessions WHERE digest = $1",
    );
    let Some(r) = read_row(db, q.bind(digest.to_hex())).await? else {
        return Ok(None);
    };
    Ok(Some(BrowserSession {
        digest: *digest,
        user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
        auth_time: r.auth_time,
        created_at: r.created_at,
        last_seen_at: r.last_seen_at,
        expires_at: r.expires_at,
        amr: parse_list(&r.amr)?,
    }))
}

pub(crate) async fn touch_session(db: &Db, digest: &SecretDigest, at: i64) -> StoreResult<()> {
    let q = sqlx::query("UPDATE browser_sessions SET last_seen_at = $2 WHERE digest = $1")
        .bind(digest.to_hex())
        .bind(at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn delete_session(db: &Db, digest: &SecretDigest) -> StoreResult<()> {
    let q = sqlx::query("DELETE FROM browser_sessions WHERE digest = $1").bind(digest.to_hex());
    write(db, q).await.map(|_| ())
}

pub(crate) async fn consent(
    db: &Db,
    user: &UserSid,
    client: &ClientId,
) -> StoreResult<Option<Vec<String>>> {
    let q = sqlx::query_as("SELECT scopes FROM consents WHERE user_sid = $1 AND client_id = $2")
        .bind(user.as_str())
        .bind(client.as_str());
    let row: Option<(String,)> = read_row(db, q).await?;
    row.map(|(s,)| parse_list(&s)).transpose()
}

pub(crate) async fn put_consent(
    db: &Db,
    user: &UserSid,
    client: &ClientId,
    scopes: &[String],
    at: i64,
) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO consents (user_sid, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_sid, client_id) \
         DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
    )
    .bind(user.as_str())
    .bind(client.as_str())
    .bind(json_list(scopes))
    .bind(at);
    write(db, q).await.map(|_| ())
}

#[derive(sqlx::FromRow)]
struct UserSessionRow {
    digest: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    amr: String,
}

/// The user's unexpired browser sessions, newest first.
pub(crate) async fn user_sessions(
    db: &Db,
    user: &UserSid,
    now: i64,
) -> StoreResult<Vec<BrowserSession>> {
    let q = sqlx::query_as::<_, UserSessionRow>(
        "SELECT digest, auth_time, created_at, last_seen_at, expires_at, amr \
         FROM browser_sessions WHERE user_sid = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, digest",
    )
    .bind(user.as_str())
    .bind(now);
    let rows = q.fetch_all(&db.reader).await.map_err(backend_err)?;
    rows.into_iter()
        .map(|r| {
            Ok(BrowserSession {
                digest: SecretDigest::from_hex(&r.digest)
                    .ok_or_else(|| crate::sql::corrupt("session digest"))?,
                user_sid: user.clone(),
                auth_time: r.auth_time,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                amr: parse_list(&r.amr)?,
            })
        })
        .collect()
}

/// Ends the user's sessions but `keep`; returns how many ended.
pub(crate) async fn delete_user_sessions(
    db: &Db,
    user: &UserSid,
    keep: Option<&SecretDigest>,
) -> StoreResult<u64> {
    let q = sqlx::query("DELETE FROM browser_sessions WHERE user_sid = $1 AND digest <> $2")
        .bind(user.as_str())
        .bind(keep.map(SecretDigest::to_hex).unwrap_or_default());
    write(db, q).await
}

/// The apps the user consented to: client, scopes, when.
pub(crate) async fn user_consents(
    db: &Db,
    user: &UserSid,
) -> StoreResult<Vec<(ClientId, Vec<String>, i64)>> {
    let q = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT client_id, scopes, granted_at FROM consents WHERE user_sid = $1 \
         ORDER BY granted_at DESC, client_id",
    )
    .bind(user.as_str());
    let rows = q.fetch_all(&db.reader).await.map_err(backend_err)?;
    rows.into_iter()
        .map(|(c, s, at)| {
            Ok((
                parse_id(&c, "client id", ClientId::parse)?,
                parse_list(&s)?,
                at,
            ))
        })
        .collect()
}

/// Withdraws the user's consent to the app and revokes the refresh families it holds for
/// the user, in one transaction; false when there was neither.
pub(crate) async fn revoke_user_grant(
    db: &Db,
    user: &UserSid,
    client: &ClientId,
    at: i64,
) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    let consents = sqlx::query("DELETE FROM consents WHERE user_sid = $1 AND client_id = $2")
        .bind(user.as_str())
        .bind(client.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?
        .rows_affected();
    let families = sqlx::query(
        "UPDATE refresh_families SET revoked_at = $3 \
         WHERE user_sid = $1 AND client_id = $2 AND revoked_at IS NULL",
    )
    .bind(user.as_str())
    .bind(client.as_str())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?
    .rows_affected();
    tx.commit().await.map_err(backend_err)?;
    Ok(consents + families > 0)
}
