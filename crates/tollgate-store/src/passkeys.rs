//! Passkeys (WebAuthn credentials) per user, and the per-account sign-in policy.

use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::{SignInPolicy, StoredPasskey};
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{Db, corrupt, read_all, read_one, read_row, write};

#[derive(sqlx::FromRow)]
pub(crate) struct PasskeyRow {
    credential_id: String,
    user_sid: String,
    user_handle: String,
    name: String,
    passkey: String,
    backup_eligible: i64,
    backup_state: i64,
    sign_count: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<PasskeyRow> for StoredPasskey {
    type Error = StoreError;

    fn try_from(r: PasskeyRow) -> StoreResult<Self> {
        Ok(StoredPasskey {
            credential_id: r.credential_id,
            user_sid: UserSid::parse(&r.user_sid).map_err(|_| corrupt("passkey user"))?,
            user_handle: r.user_handle,
            name: r.name,
            passkey: r.passkey,
            backup_eligible: r.backup_eligible != 0,
            backup_state: r.backup_state != 0,
            sign_count: r.sign_count,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
    }
}

/// The columns, as a literal (the queries stay static strings).
macro_rules! columns {
    () => {
        "credential_id, user_sid, user_handle, name, passkey, backup_eligible, backup_state, \
         sign_count, created_at, last_used_at"
    };
}

pub(crate) async fn insert_passkey(db: &Db, p: &StoredPasskey) -> StoreResult<bool> {
    let q = sqlx::query(concat!(
        "INSERT INTO passkeys (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (credential_id) DO NOTHING"
    ))
    .bind(&p.credential_id)
    .bind(p.user_sid.as_str())
    .bind(&p.user_handle)
    .bind(&p.name)
    .bind(&p.passkey)
    .bind(i64::from(p.backup_eligible))
    .bind(i64::from(p.backup_state))
    .bind(p.sign_count)
    .bind(p.created_at)
    .bind(p.last_used_at);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn passkeys(db: &Db, user: &UserSid) -> StoreResult<Vec<StoredPasskey>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM passkeys WHERE user_sid = $1 ORDER BY created_at, credential_id"
    );
    read_all(db, sqlx::query_as::<_, PasskeyRow>(sql).bind(user.as_str())).await
}

pub(crate) async fn passkey(db: &Db, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM passkeys WHERE credential_id = $1"
    );
    read_one(db, sqlx::query_as::<_, PasskeyRow>(sql).bind(credential_id)).await
}

pub(crate) async fn passkey_used(db: &Db, p: &StoredPasskey, at: i64) -> StoreResult<()> {
    let q = sqlx::query(
        "UPDATE passkeys SET passkey = $2, backup_eligible = $3, backup_state = $4, \
         sign_count = $5, last_used_at = $6 WHERE credential_id = $1",
    )
    .bind(&p.credential_id)
    .bind(&p.passkey)
    .bind(i64::from(p.backup_eligible))
    .bind(i64::from(p.backup_state))
    .bind(p.sign_count)
    .bind(at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn delete_passkey(
    db: &Db,
    user: &UserSid,
    credential_id: &str,
) -> StoreResult<bool> {
    let q = sqlx::query("DELETE FROM passkeys WHERE user_sid = $1 AND credential_id = $2")
        .bind(user.as_str())
        .bind(credential_id);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn set_account_sign_in_policy(
    db: &Db,
    account: &AccountSid,
    policy: SignInPolicy,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query("UPDATE accounts SET sign_in_policy = $2, updated_at = $3 WHERE sid = $1")
        .bind(account.as_str())
        .bind(policy.as_str())
        .bind(at);
    Ok(write(db, q).await? > 0)
}

pub(crate) async fn account_sign_in_policy(
    db: &Db,
    account: &AccountSid,
) -> StoreResult<SignInPolicy> {
    let q =
        sqlx::query_as("SELECT sign_in_policy FROM accounts WHERE sid = $1").bind(account.as_str());
    let row: Option<(String,)> = read_row(db, q).await?;
    row.map_or(Ok(SignInPolicy::Optional), |(p,)| {
        p.parse().map_err(|_| corrupt("account sign-in policy"))
    })
}

/// The account's policy for the account `user` belongs to.
pub(crate) async fn user_account_policy(db: &Db, user: &UserSid) -> StoreResult<SignInPolicy> {
    let q = sqlx::query_as(
        "SELECT a.sign_in_policy FROM users u JOIN accounts a ON a.sid = u.account_sid \
         WHERE u.sid = $1",
    )
    .bind(user.as_str());
    let row: Option<(String,)> = read_row(db, q).await?;
    row.map_or(Ok(SignInPolicy::Optional), |(p,)| {
        p.parse().map_err(|_| corrupt("account sign-in policy"))
    })
}

pub(crate) async fn passkey_count(db: &Db, user: &UserSid) -> StoreResult<i64> {
    let q = sqlx::query_as("SELECT COUNT(*) FROM passkeys WHERE user_sid = $1").bind(user.as_str());
    crate::sql::read_number(db, q).await
}
