//! Organizations and accounts.

use sqlx::any::AnyRow;
use tollgate_core::ids::{AccountSid, OrganizationSid};
use tollgate_core::model::{Account, Entity, Organization};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{
    Db, insert_logged, read_all, read_number, read_one, read_row, select, write, write_logged,
};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "sid, organization_sid, friendly_name, auth_token_digest, created_at"
    };
}

fn account_from(r: &AnyRow) -> StoreResult<Account> {
    Ok(by_name!(
        r,
        Account {
            sid: r.id("sid", "account sid", AccountSid::parse)?,
            organization_sid: r.id(
                "organization_sid",
                "organization sid",
                OrganizationSid::parse
            )?,
            friendly_name,
            auth_token_digest: r.digest("auth_token_digest", "auth token digest")?,
            created_at,
        }
    ))
}

pub(crate) async fn insert_organization(db: &Db, org: &Organization) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO organizations (sid, friendly_name, created_at) VALUES ($1, $2, $3)",
    )
    .bind(org.sid.as_str())
    .bind(&org.friendly_name)
    .bind(org.created_at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn organization_exists(db: &Db, sid: &OrganizationSid) -> StoreResult<bool> {
    let q = sqlx::query_as::<_, (String,)>("SELECT sid FROM organizations WHERE sid = $1");
    Ok(read_row(db, q.bind(sid.as_str())).await?.is_some())
}

pub(crate) async fn insert_account(db: &Db, a: &Account) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO accounts (sid, organization_sid, friendly_name, auth_token_digest, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(a.sid.as_str())
    .bind(a.organization_sid.as_str())
    .bind(&a.friendly_name)
    .bind(a.auth_token_digest.to_hex())
    .bind(a.created_at);
    insert_logged(db, q, Entity::Account, a.sid.as_str()).await
}

pub(crate) async fn account(db: &Db, sid: &AccountSid) -> StoreResult<Option<Account>> {
    let q = sqlx::query(select!(columns, "accounts WHERE sid = $1")).bind(sid.as_str());
    read_one(db, q, account_from).await
}

pub(crate) async fn accounts(db: &Db) -> StoreResult<Vec<Account>> {
    let q = sqlx::query(select!(columns, "accounts ORDER BY created_at, sid"));
    read_all(db, q, account_from).await
}

pub(crate) async fn count_accounts(db: &Db) -> StoreResult<i64> {
    read_number(db, sqlx::query_as("SELECT COUNT(*) FROM accounts")).await
}

pub(crate) async fn set_auth_token(
    db: &Db,
    sid: &AccountSid,
    digest: &SecretDigest,
    at: i64,
) -> StoreResult<bool> {
    let q =
        sqlx::query("UPDATE accounts SET auth_token_digest = $1, updated_at = $2 WHERE sid = $3")
            .bind(digest.to_hex())
            .bind(at)
            .bind(sid.as_str());
    write_logged(db, q, Entity::Account, sid.as_str()).await
}
