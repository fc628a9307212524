//! API resources (audiences) and the accounts they are granted to.

use std::collections::HashMap;

use tollgate_core::ids::{AccountSid, ResourceSid};
use tollgate_core::model::{Entity, Resource};
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{Db, backend_err, insert_logged, json_list, parse_id, parse_list, write_logged};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "sid, identifier, account_sid, friendly_name, scopes, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ResourceRow {
    sid: String,
    identifier: String,
    account_sid: String,
    friendly_name: String,
    scopes: String,
    created_at: i64,
    updated_at: i64,
}

impl ResourceRow {
    fn into_resource(self, granted_to: Vec<AccountSid>) -> StoreResult<Resource> {
        Ok(Resource {
            sid: parse_id(&self.sid, "resource sid", ResourceSid::parse)?,
            identifier: self.identifier,
            account_sid: parse_id(&self.account_sid, "account sid", AccountSid::parse)?,
            friendly_name: self.friendly_name,
            scopes: parse_list(&self.scopes)?,
            granted_to,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Conflict when the identifier (or the SID) is taken.
pub(crate) async fn insert_resource(db: &Db, r: &Resource) -> StoreResult<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO resources (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(r.sid.as_str())
    .bind(&r.identifier)
    .bind(r.account_sid.as_str())
    .bind(&r.friendly_name)
    .bind(json_list(&r.scopes))
    .bind(r.created_at)
    .bind(r.updated_at);
    insert_logged(db, q, Entity::Resource, r.sid.as_str()).await
}

pub(crate) async fn update_resource(db: &Db, r: &Resource) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE resources SET friendly_name = $2, scopes = $3, updated_at = $4 WHERE sid = $1",
    )
    .bind(r.sid.as_str())
    .bind(&r.friendly_name)
    .bind(json_list(&r.scopes))
    .bind(r.updated_at);
    write_logged(db, q, Entity::Resource, r.sid.as_str()).await
}

pub(crate) async fn resource(db: &Db, sid: &ResourceSid) -> StoreResult<Option<Resource>> {
    let row = sqlx::query_as::<_, ResourceRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM resources WHERE sid = $1"
    ))
    .bind(sid.as_str())
    .fetch_optional(&db.reader)
    .await
    .map_err(backend_err)?;
    with_grants(db, row).await
}

pub(crate) async fn resource_by_identifier(
    db: &Db,
    identifier: &str,
) -> StoreResult<Option<Resource>> {
    let row = sqlx::query_as::<_, ResourceRow>(concat!(
        "SELECT ",
        columns!(),
        " FROM resources WHERE identifier = $1"
    ))
    .bind(identifier)
    .fetch_optional(&db.reader)
    .await
    .map_err(backend_err)?;
    with_grants(db, row).await
}

async fn with_grants(db: &Db, row: Option<ResourceRow>) -> StoreResult<Option<Resource>> {
    let Some(row) = row else { return Ok(None) };
    let grants: Vec<(String,)> = sqlx::query_as(
        "SELECT account_sid FROM resource_grants WHERE resource_sid = $1 \
         ORDER BY created_at, account_sid",
    )
    .bind(&row.sid)
    .fetch_all(&db.reader)
    .await
    .map_err(backend_err)?;
    let granted_to = grants
        .iter()
        .map(|(a,)| parse_id(a, "account sid", AccountSid::parse))
        .collect::<StoreResult<Vec<_>>>()?;
    row.into_resource(granted_to).map(Some)
}

/// All resources, or one account's, oldest first, each with its grants.
pub(crate) async fn resources(db: &Db, account: Option<&AccountSid>) -> StoreResult<Vec<Resource>> {
    let rows = match account {
        Some(a) => {
            sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources WHERE account_sid = $1 ORDER BY created_at, sid"
            ))
            .bind(a.as_str())
            .fetch_all(&db.reader)
            .await
        }
        None => {
            sqlx::query_as::<_, ResourceRow>(concat!(
                "SELECT ",
                columns!(),
                " FROM resources ORDER BY created_at, sid"
            ))
            .fetch_all(&db.reader)
            .await
        }
    }
    .map_err(backend_err)?;
    // One read for every grant: the listing is small and the directory loads it at start.
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT resource_sid, account_sid FROM resource_grants ORDER BY created_at, account_sid",
    )
    .fetch_all(&db.reader)
    .await
    .map_err(backend_err)?;
    let mut by_resource: HashMap<String, Vec<AccountSid>> = HashMap::new();
    for (resource, account) in grants {
        let account = parse_id(&account, "account sid", AccountSid::parse)?;
        by_resource.entry(resource).or_default().push(account);
    }
    rows.into_iter()
        .map(|r| {
            let granted = by_resource.remove(&r.sid).unwrap_or_default();
            r.into_resource(granted)
        })
        .collect()
}

pub(crate) async fn delete_resource(db: &Db, sid: &ResourceSid) -> StoreResult<bool> {
    let q = sqlx::query("DELETE FROM resources WHERE sid = $1").bind(sid.as_str());
    write_logged(db, q, Entity::Resource, sid.as_str()).await
}

/// Grants (or revokes) `account`'s use of the resource; false when that was already so.
pub(crate) async fn set_resource_grant(
    db: &Db,
    sid: &ResourceSid,
    account: &AccountSid,
    granted: bool,
    at: i64,
) -> StoreResult<bool> {
    let q = if granted {
        sqlx::query(
            "INSERT INTO resource_grants (resource_sid, account_sid, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(sid.as_str())
        .bind(account.as_str())
        .bind(at)
    } else {
        sqlx::query("DELETE FROM resource_grants WHERE resource_sid = $1 AND account_sid = $2")
            .bind(sid.as_str())
            .bind(account.as_str())
    };
    write_logged(db, q, Entity::Resource, sid.as_str())
        .await
        .map_err(|e| match e {
            // The resource or the account is gone (a foreign key failed).
            StoreError::Backend(m) if m.to_ascii_lowercase().contains("foreign key") => {
                StoreError::Conflict(m)
            }
            other => other,
        })
}
