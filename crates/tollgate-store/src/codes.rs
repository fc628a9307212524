//! Authorization codes: single use, with what their redemption issued (for replay revocation).

use tollgate_core::ids::{ClientId, UserSid};
use tollgate_core::model::{AuthorizationCode, CodeRedemption};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{
    Db, batches, corrupt, hot_execute, hot_fetch_optional, json_list, parse_id, parse_list,
};
use crate::sqlite_direct::grants;

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "digest, client_id, user_sid, redirect_uri, scopes, nonce, code_challenge, auth_time, \
         created_at, expires_at, used_at, family_id, access_jti, access_expires_at, resources"
    };
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct CodeRow {
    pub(crate) digest: String,
    pub(crate) client_id: String,
    pub(crate) user_sid: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) scopes: String,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) auth_time: i64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
    pub(crate) family_id: Option<String>,
    pub(crate) access_jti: Option<String>,
    pub(crate) access_expires_at: Option<i64>,
    pub(crate) resources: String,
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
    if let Some(direct) = &db.direct {
        let c = c.clone();
        return direct
            .write(move |conn| grants::insert_code(conn, &c))
            .await;
    }
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
    hot_execute(db, q).await.map(|_| ())
}

/// Reads a code without spending it (to check its binding first).
pub(crate) async fn code(db: &Db, digest: &SecretDigest) -> StoreResult<Option<AuthorizationCode>> {
    if let Some(direct) = &db.direct {
        let digest = *digest;
        return direct.read(move |conn| grants::code(conn, &digest)).await;
    }
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM authorization_codes WHERE digest = $1"
    );
    hot_fetch_optional(db, sqlx::query_as::<_, CodeRow>(sql).bind(digest.to_hex()))
        .await?
        .map(AuthorizationCode::try_from)
        .transpose()
}

/// Marks a code used, recording what its redemption will issue, in one transaction: on
/// SQLite's group-committing writer, on PostgreSQL as `tollgate_redeem_code`, group-committed
/// with the node's other grant writes.
pub(crate) async fn redeem_code(
    db: &Db,
    digest: &SecretDigest,
    at: i64,
    family_id: Option<&str>,
    access_jti: &str,
    access_expires_at: i64,
) -> StoreResult<CodeRedemption> {
    if let Some(direct) = &db.direct {
        let (digest, family_id, jti) =
            (*digest, family_id.map(str::to_owned), access_jti.to_owned());
        return direct
            .write(move |conn| {
                grants::redeem_code(
                    conn,
                    &digest,
                    at,
                    family_id.as_deref(),
                    &jti,
                    access_expires_at,
                )
            })
            .await;
    }
    let job = serde_json::json!({
        "kind": "redeem", "digest": digest.to_hex(), "at": at, "family": family_id,
        "jti": access_jti, "expires": access_expires_at,
    });
    let done = batches(db)?.submit(job).await?;
    let Some(row) = done.detail.filter(|_| done.outcome == "found") else {
        return Ok(CodeRedemption::Unknown);
    };
    let row: CodeRow = serde_json::from_str(&row).map_err(|_| corrupt("redeemed code row"))?;
    let code = AuthorizationCode::try_from(row)?;
    // The jti is fresh randomness: the row carries it only if this call spent the code.
    Ok(if code.access_jti.as_deref() == Some(access_jti) {
        CodeRedemption::Fresh(code)
    } else {
        CodeRedemption::Replayed(code)
    })
}
