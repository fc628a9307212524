//! Revoked JWT access tokens (by `jti`) and opaque access tokens.

use tollgate_core::ids::ClientId;
use tollgate_core::model::{Entity, OpaqueAccessToken};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, backend_err, fetch_row, json_list, read_row, write, write_logged};

pub(crate) async fn revoke_access_token(db: &Db, jti: &str, expires_at: i64) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(expires_at);
    let id = format!("{expires_at}:{jti}");
    write_logged(db, q, Entity::Revocation, &id)
        .await
        .map(|_| ())
}

pub(crate) async fn revoked_access_tokens(db: &Db, now: i64) -> StoreResult<Vec<(String, i64)>> {
    sqlx::query_as("SELECT jti, expires_at FROM revoked_access_tokens WHERE expires_at > $1")
        .bind(now)
        .fetch_all(&db.reader)
        .await
        .map_err(backend_err)
}

pub(crate) async fn access_token_revoked(db: &Db, jti: &str) -> StoreResult<bool> {
    let q = sqlx::query_as::<_, (String,)>("SELECT jti FROM revoked_access_tokens WHERE jti = $1");
    Ok(read_row(db, q.bind(jti)).await?.is_some())
}

pub(crate) async fn insert_opaque_token(db: &Db, t: &OpaqueAccessToken) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO access_tokens (digest, jti, client_id, sub, scope, audiences, account_sid, \
         issued_at, expires_at, revoked_at, dpop_jkt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(t.digest.to_hex())
    .bind(&t.jti)
    .bind(t.client_id.as_str())
    .bind(&t.sub)
    .bind(&t.scope)
    .bind(json_list(&t.audiences))
    .bind(&t.account_sid)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(t.revoked_at)
    .bind(&t.dpop_jkt);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn opaque_token(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<OpaqueAccessToken>> {
    let q = sqlx::query(
        "SELECT jti, client_id, sub, scope, audiences, account_sid, issued_at, expires_at, \
         revoked_at, dpop_jkt FROM access_tokens WHERE digest = $1",
    );
    let Some(r) = fetch_row(db, q.bind(digest.to_hex())).await? else {
        return Ok(None);
    };
    Ok(Some(by_name!(
        r,
        OpaqueAccessToken {
            digest: *digest,
            jti,
            client_id: r.id("client_id", "client id", ClientId::parse)?,
            sub,
            scope,
            audiences,
            account_sid,
            issued_at,
            expires_at,
            revoked_at,
            dpop_jkt,
        }
    )))
}

pub(crate) async fn revoke_opaque_token(
    db: &Db,
    digest: &SecretDigest,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE access_tokens SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL",
    )
    .bind(digest.to_hex())
    .bind(at);
    Ok(write(db, q).await? > 0)
}
