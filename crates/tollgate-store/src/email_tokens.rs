//! Single-use email links (address verification, password reset): digests only.

use tollgate_core::ids::UserSid;
use tollgate_core::mail::{EmailPurpose, EmailToken};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::sql::{Db, backend_err, corrupt, parse_id, read_row, write};

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

#[derive(sqlx::FromRow)]
struct TokenRow {
    digest: String,
    purpose: String,
    user_sid: String,
    email: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<TokenRow> for EmailToken {
    type Error = tollgate_core::store::StoreError;

    fn try_from(r: TokenRow) -> StoreResult<Self> {
        Ok(EmailToken {
            digest: SecretDigest::from_hex(&r.digest)
                .ok_or_else(|| corrupt("email link digest"))?,
            purpose: EmailPurpose::parse(&r.purpose)
                .ok_or_else(|| corrupt("email link purpose"))?,
            user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
            email: r.email,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        })
    }
}

macro_rules! columns {
    () => {
        "digest, purpose, user_sid, email, created_at, expires_at, used_at"
    };
}

pub(crate) async fn email_token(db: &Db, digest: &SecretDigest) -> StoreResult<Option<EmailToken>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM email_tokens WHERE digest = $1"
    );
    let q = sqlx::query_as::<_, TokenRow>(sql).bind(digest.to_hex());
    read_row(db, q).await?.map(EmailToken::try_from).transpose()
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
    let row = sqlx::query_as::<_, TokenRow>(sql)
        .bind(digest.to_hex())
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&db.writer)
        .await
        .map_err(backend_err)?;
    row.map(EmailToken::try_from).transpose()
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
