//! RFC 8628 device grants.

use tollgate_core::ids::{ClientId, UserSid};
use tollgate_core::model::{DeviceGrant, DeviceStatus};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{Db, backend_err, corrupt, json_list, parse_id, parse_list, write};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "digest, user_code, client_id, scopes, audiences, created_at, expires_at, poll_interval, \
         last_polled_at, status, user_sid, auth_time, device_id"
    };
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    digest: String,
    user_code: String,
    client_id: String,
    scopes: String,
    audiences: String,
    created_at: i64,
    expires_at: i64,
    poll_interval: i64,
    last_polled_at: Option<i64>,
    status: String,
    user_sid: Option<String>,
    auth_time: Option<i64>,
    device_id: Option<String>,
}

impl TryFrom<DeviceRow> for DeviceGrant {
    type Error = StoreError;

    fn try_from(r: DeviceRow) -> StoreResult<Self> {
        Ok(DeviceGrant {
            digest: SecretDigest::from_hex(&r.digest).ok_or_else(|| corrupt("device digest"))?,
            user_code: r.user_code,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            scopes: parse_list(&r.scopes)?,
            audiences: parse_list(&r.audiences)?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            interval: r.poll_interval,
            last_polled_at: r.last_polled_at,
            status: DeviceStatus::parse(&r.status).ok_or_else(|| corrupt("device status"))?,
            user_sid: r
                .user_sid
                .map(|u| parse_id(&u, "user sid", UserSid::parse))
                .transpose()?,
            auth_time: r.auth_time,
            device_id: r.device_id,
        })
    }
}

pub(crate) async fn insert_device_grant(db: &Db, g: &DeviceGrant) -> StoreResult<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO device_grants (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(g.digest.to_hex())
    .bind(&g.user_code)
    .bind(g.client_id.as_str())
    .bind(json_list(&g.scopes))
    .bind(json_list(&g.audiences))
    .bind(g.created_at)
    .bind(g.expires_at)
    .bind(g.interval)
    .bind(g.last_polled_at)
    .bind(g.status.as_str())
    .bind(g.user_sid.as_ref().map(|u| u.as_str().to_owned()))
    .bind(g.auth_time)
    .bind(&g.device_id);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn device_grant(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<DeviceGrant>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM device_grants WHERE digest = $1"
    );
    sqlx::query_as::<_, DeviceRow>(sql)
        .bind(digest.to_hex())
        .fetch_optional(&db.reader)
        .await
        .map_err(backend_err)?
        .map(DeviceGrant::try_from)
        .transpose()
}

pub(crate) async fn device_grant_by_user_code(
    db: &Db,
    user_code: &str,
) -> StoreResult<Option<DeviceGrant>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM device_grants WHERE user_code = $1"
    );
    sqlx::query_as::<_, DeviceRow>(sql)
        .bind(user_code)
        .fetch_optional(&db.reader)
        .await
        .map_err(backend_err)?
        .map(DeviceGrant::try_from)
        .transpose()
}

pub(crate) async fn decide_device_grant(
    db: &Db,
    user_code: &str,
    status: DeviceStatus,
    user: &UserSid,
    auth_time: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE device_grants SET status = $2, user_sid = $3, auth_time = $4 \
         WHERE user_code = $1 AND status = 'pending'",
    )
    .bind(user_code)
    .bind(status.as_str())
    .bind(user.as_str())
    .bind(auth_time);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn record_device_poll(
    db: &Db,
    digest: &SecretDigest,
    at: i64,
    interval: i64,
) -> StoreResult<()> {
    let q = sqlx::query(
        "UPDATE device_grants SET last_polled_at = $2, poll_interval = $3 WHERE digest = $1",
    )
    .bind(digest.to_hex())
    .bind(at)
    .bind(interval);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn consume_device_grant(
    db: &Db,
    digest: &SecretDigest,
    device_id: Option<&str>,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE device_grants SET status = 'consumed', device_id = $2 \
         WHERE digest = $1 AND status = 'approved'",
    )
    .bind(digest.to_hex())
    .bind(device_id);
    Ok(write(db, q).await? > 0)
}
