//! Passkeys (WebAuthn credentials) per user, and the per-account sign-in policy.

use sqlx::any::AnyRow;
use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::{SignInPolicy, StoredPasskey};
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, corrupt, read_all, read_one, read_row, select, write};

fn passkey_from(r: &AnyRow) -> StoreResult<StoredPasskey> {
    let user = r.col::<String>("user_sid")?;
    Ok(by_name!(
        r,
        StoredPasskey {
            credential_id,
            user_sid: UserSid::parse(&user).map_err(|_| corrupt("passkey user"))?,
            user_handle,
            name,
            passkey,
            backup_eligible,
            backup_state,
            sign_count,
            created_at,
            last_used_at,
        }
    ))
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
    let sql = select!(
        columns,
        "passkeys WHERE user_sid = $1 ORDER BY created_at, credential_id"
    );
    let q = sqlx::query(sql).bind(user.as_str());
    read_all(db, q, passkey_from).await
}

pub(crate) async fn passkey(db: &Db, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
    let q = sqlx::query(select!(columns, "passkeys WHERE credential_id = $1")).bind(credential_id);
    read_one(db, q, passkey_from).await
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
    policy(read_row(db, q).await?)
}

/// An account's stored policy; optional where none is stored.
fn policy(row: Option<(String,)>) -> StoreResult<SignInPolicy> {
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
    policy(read_row(db, q).await?)
}

pub(crate) async fn passkey_count(db: &Db, user: &UserSid) -> StoreResult<i64> {
    let q = sqlx::query_as("SELECT COUNT(*) FROM passkeys WHERE user_sid = $1").bind(user.as_str());
    crate::sql::read_number(db, q).await
}
