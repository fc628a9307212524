//! Authorization codes: single use, with what their redemption issued (for replay revocation).

use tollgate_core::ids::{ClientId, UserSid};
use tollgate_core::model::{AuthorizationCode, CodeRedemption};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{Db, backend_err, corrupt, json_list, parse_id, parse_list, write};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "digest, client_id, user_sid, redirect_uri, scopes, nonce, code_challenge, auth_time, \
         created_at, expires_at, used_at, family_id, access_jti, access_expires_at, resources"
    };
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    digest: String,
    client_id: String,
    user_sid: String,
    redirect_uri: Option<String>,
    scopes: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    family_id: Option<String>,
    access_jti: Option<String>,
    access_expires_at: Option<i64>,
    resources: String,
}

impl TryFrom<CodeRow> for AuthorizationCode {
    type Error = StoreError;

    fn try_from(r: CodeRow) -> StoreResult<Self> {
        Ok(AuthorizationCode {
            digest: SecretDigest::from_hex(&r.digest).ok_or_else(|| corrupt("code digest"))?,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
            redirect_uri: r.redirect_uri,
            scopes: parse_list(&r.scopes)?,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            family_id: r.family_id,
            access_jti: r.access_jti,
            access_expires_at: r.access_expires_at,
            resources: parse_list(&r.resources)?,
        })
    }
}

pub(crate) async fn insert_code(db: &Db, c: &AuthorizationCode) -> StoreResult<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO authorization_codes (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(c.digest.to_hex())
    .bind(c.client_id.as_str())
    .bind(c.user_sid.as_str())
    .bind(&c.redirect_uri)
    .bind(json_list(&c.scopes))
    .bind(&c.nonce)
    .bind(&c.code_challenge)
    .bind(c.auth_time)
    .bind(c.created_at)
    .bind(c.expires_at)
    .bind(c.used_at)
    .bind(&c.family_id)
    .bind(&c.access_jti)
    .bind(c.access_expires_at)
    .bind(json_list(&c.resources));
    write(db, q).await.map(|_| ())
}

/// Reads a code without spending it (to check its binding first).
pub(crate) async fn code(db: &Db, digest: &SecretDigest) -> StoreResult<Option<AuthorizationCode>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM authorization_codes WHERE digest = $1"
    );
    sqlx::query_as::<_, CodeRow>(sql)
        .bind(digest.to_hex())
        .fetch_optional(&db.writer)
        .await
        .map_err(backend_err)?
        .map(AuthorizationCode::try_from)
        .transpose()
}

/// Marks a code used, recording what its redemption will issue, in one transaction.
pub(crate) async fn redeem_code(
    db: &Db,
    digest: &SecretDigest,
    at: i64,
    family_id: Option<&str>,
    access_jti: &str,
    access_expires_at: i64,
) -> StoreResult<CodeRedemption> {
    let hex = digest.to_hex();
    let mut tx = db.begin().await?;
    let first = sqlx::query(
        "UPDATE authorization_codes SET used_at = $2, family_id = $3, access_jti = $4, \
         access_expires_at = $5 WHERE digest = $1 AND used_at IS NULL",
    )
    .bind(&hex)
    .bind(at)
    .bind(family_id)
    .bind(access_jti)
    .bind(access_expires_at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?
    .rows_affected()
        > 0;
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM authorization_codes WHERE digest = $1"
    );
    let row = sqlx::query_as::<_, CodeRow>(sql)
        .bind(&hex)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_err)?;
    tx.commit().await.map_err(backend_err)?;
    let Some(row) = row else {
        return Ok(CodeRedemption::Unknown);
    };
    let code = AuthorizationCode::try_from(row)?;
    Ok(if first {
        CodeRedemption::Fresh(code)
    } else {
        CodeRedemption::Replayed(code)
    })
}
