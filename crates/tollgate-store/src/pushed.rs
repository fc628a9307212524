//! RFC 9126 pushed authorization requests and single-use identifiers (assertion and DPoP
//! proof `jti`s), both decided by one statement so several nodes agree.

use tollgate_core::ids::ClientId;
use tollgate_core::model::PushedAuthorizationRequest;
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::sql::{Db, backend_err, corrupt, parse_id, write};

/// True on first use. A row whose time ran out is taken over: its identifier may come back
/// only after it could no longer be accepted anyway.
/// Spends a one-time key (an assertion's or a DPoP proof's `jti`): true the first time. On
/// the token hot path, so it takes the group-committed writes of either backend.
pub(crate) async fn use_once(db: &Db, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
    if let Some(direct) = &db.direct {
        let key = key.to_owned();
        return direct
            .write(move |c| crate::sqlite_direct::grants::use_once(c, &key, expires_at, now))
            .await;
    }
    if let Some(batches) = &db.batches {
        let job =
            serde_json::json!({"kind": "once", "key": key, "expires": expires_at, "now": now});
        return Ok(batches.submit(job).await?.outcome == "fresh");
    }
    let q = sqlx::query(
        "INSERT INTO used_jtis (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE used_jtis.expires_at <= $3",
    )
    .bind(key)
    .bind(expires_at)
    .bind(now);
    Ok(write(db, q).await? > 0)
}

#[derive(sqlx::FromRow)]
struct PushedRow {
    client_id: String,
    params: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

pub(crate) async fn insert_pushed_request(
    db: &Db,
    r: &PushedAuthorizationRequest,
) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO pushed_authorization_requests (digest, client_id, params, created_at, \
         expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.digest.to_hex())
    .bind(r.client_id.as_str())
    .bind(&r.params)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(r.used_at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn pushed_request(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<PushedAuthorizationRequest>> {
    let row = sqlx::query_as::<_, PushedRow>(
        "SELECT client_id, params, created_at, expires_at, used_at \
         FROM pushed_authorization_requests WHERE digest = $1",
    )
    .bind(digest.to_hex())
    .fetch_optional(&db.writer)
    .await
    .map_err(backend_err)?;
    let Some(r) = row else { return Ok(None) };
    if serde_json::from_str::<serde_json::Value>(&r.params).is_err() {
        return Err(corrupt("pushed request"));
    }
    Ok(Some(PushedAuthorizationRequest {
        digest: *digest,
        client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
        params: r.params,
        created_at: r.created_at,
        expires_at: r.expires_at,
        used_at: r.used_at,
    }))
}

/// Spends a pushed request; false when it was already spent.
pub(crate) async fn use_pushed_request(
    db: &Db,
    digest: &SecretDigest,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE pushed_authorization_requests SET used_at = $2 \
         WHERE digest = $1 AND used_at IS NULL",
    )
    .bind(digest.to_hex())
    .bind(at);
    Ok(write(db, q).await? > 0)
}
