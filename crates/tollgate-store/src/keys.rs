//! Signing keys (sealed private keys and their published JWKs).

use std::str::FromStr;

use sqlx::any::AnyRow;
use tollgate_core::keys::{SigningAlgorithm, StoredKey};
use tollgate_core::model::Entity;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, corrupt, insert_logged, read_all, select, write_logged};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "kid, algorithm, sealed_private_key, public_jwk, created_at, activates_at, retires_at, \
         expires_at"
    };
}

fn key_from(r: &AnyRow) -> StoreResult<StoredKey> {
    let algorithm = r.col::<String>("algorithm")?;
    Ok(by_name!(
        r,
        StoredKey {
            kid,
            algorithm: SigningAlgorithm::from_str(&algorithm)
                .map_err(|_| corrupt("key algorithm"))?,
            sealed_private_key,
            public_jwk,
            created_at,
            activates_at,
            retires_at,
            expires_at,
        }
    ))
}

pub(crate) async fn insert_signing_key(db: &Db, k: &StoredKey) -> StoreResult<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO signing_keys (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&k.kid)
    .bind(k.algorithm.as_str())
    .bind(&k.sealed_private_key)
    .bind(&k.public_jwk)
    .bind(k.created_at)
    .bind(k.activates_at)
    .bind(k.retires_at)
    .bind(k.expires_at);
    insert_logged(db, q, Entity::SigningKey, &k.kid).await
}

pub(crate) async fn signing_keys(db: &Db) -> StoreResult<Vec<StoredKey>> {
    let q = sqlx::query(select!(columns, "signing_keys ORDER BY created_at, kid"));
    read_all(db, q, key_from).await
}

pub(crate) async fn delete_signing_key(db: &Db, kid: &str) -> StoreResult<bool> {
    let q = sqlx::query("DELETE FROM signing_keys WHERE kid = $1").bind(kid);
    write_logged(db, q, Entity::SigningKey, kid).await
}

pub(crate) async fn update_signing_key(
    db: &Db,
    kid: &str,
    retires_at: Option<i64>,
    expires_at: Option<i64>,
) -> StoreResult<bool> {
    let q = sqlx::query("UPDATE signing_keys SET retires_at = $2, expires_at = $3 WHERE kid = $1")
        .bind(kid)
        .bind(retires_at)
        .bind(expires_at);
    write_logged(db, q, Entity::SigningKey, kid).await
}
