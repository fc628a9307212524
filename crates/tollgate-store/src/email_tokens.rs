//! Single-use email links (address verification, password reset): digests only.

use sqlx::any::AnyRow;
use tollgate_core::ids::UserSid;
use tollgate_core::mail::{EmailPurpose, EmailToken};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, backend_err, corrupt, read_one, select, write};

pub(crate) async fn insert_email_token(db: &Db, t: &EmailToken) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO email_tokens (digest, purpose, user_sid, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.digest.to_hex())
    .bind(t.purpose.as_str())
    .bind(t.user_sid.as_str())
    .bind(&t.email)
    .bind(t.created_at)
    .bind(t.expires_at);
    write(db, q).await.map(|_| ())
}

fn token_from(r: &AnyRow) -> StoreResult<EmailToken> {
    let purpose = r.col::<String>("purpose")?;
    Ok(by_name!(
        r,
        EmailToken {
            digest: r.digest("digest", "email link digest")?,
            purpose: EmailPurpose::parse(&purpose).ok_or_else(|| corrupt("email link purpose"))?,
            user_sid: r.id("user_sid", "user sid", UserSid::parse)?,
            email,
            created_at,
            expires_at,
            used_at,
        }
    ))
}

macro_rules! columns {
    () => {
        "digest, purpose, user_sid, email, created_at, expires_at, used_at"
    };
}

pub(crate) async fn email_token(db: &Db, digest: &SecretDigest) -> StoreResult<Option<EmailToken>> {
    let q = sqlx::query(select!(columns, "email_tokens WHERE digest = $1")).bind(digest.to_hex());
    read_one(db, q, token_from).await
}

/// One statement marks the link used and returns it, so of two nodes (or two clicks) only
/// one gets the row back.
pub(crate) async fn use_email_token(
    db: &Db,
    digest: &SecretDigest,
    purpose: EmailPurpose,
    now: i64,
) -> StoreResult<Option<EmailToken>> {
    let sql = concat!(
        "UPDATE email_tokens SET used_at = $3 \
         WHERE digest = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING ",
        columns!()
    );
    let row = sqlx::query(sql)
        .bind(digest.to_hex())
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&db.writer)
        .await
        .map_err(backend_err)?;
    row.as_ref().map(token_from).transpose()
}

pub(crate) async fn revoke_user_refresh_families(
    db: &Db,
    user: &UserSid,
    at: i64,
) -> StoreResult<u64> {
    let q = sqlx::query(
        "UPDATE refresh_families SET revoked_at = $2 WHERE user_sid = $1 AND revoked_at IS NULL",
    )
    .bind(user.as_str())
    .bind(at);
    write(db, q).await
}
