//! SQLite (embedded default) and PostgreSQL implementations of [`Store`].
//!
//! Both run the same SQL (`$n` placeholders work on both) through their native sqlx drivers;
//! the trait implementation is written once and instantiated per backend by `sql_store!`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use tollgate_core::keys::{SigningAlgorithm, StoredKey};
use tollgate_core::model::{
    Account, AuthorizationCode, BrowserSession, Change, Client, CodeRedemption, DeviceGrant,
    DeviceStatus, Entity, GrantType, OpaqueAccessToken, Organization, RefreshFamily,
    RefreshRotation, RefreshToken, TokenFormat, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{Store, StoreError, StoreResult};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn backend_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|_| corrupt("list column"))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn client_from_parts(p: ClientRow) -> StoreResult<Client> {
    let grants = parse_list(&p.grant_types)?
        .iter()
        .map(|g| g.parse::<GrantType>().map_err(|_| corrupt("grant type")))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Client {
        id: ClientId::parse(&p.sid).map_err(|_| corrupt("client sid"))?,
        account_sid: AccountSid::parse(&p.account_sid).map_err(|_| corrupt("account sid"))?,
        friendly_name: p.friendly_name,
        secret_digest: match p.secret_digest {
            Some(h) => Some(SecretDigest::from_hex(&h).ok_or_else(|| corrupt("secret digest"))?),
            None => None,
        },
        grant_types: grants,
        redirect_uris: parse_list(&p.redirect_uris)?,
        scopes: parse_list(&p.scopes)?,
        audiences: parse_list(&p.audiences)?,
        token_format: TokenFormat::from_str(&p.token_format)
            .map_err(|_| corrupt("token format"))?,
        access_token_ttl: p.access_token_ttl.and_then(|t| u32::try_from(t).ok()),
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

struct ClientRow {
    sid: String,
    account_sid: String,
    friendly_name: String,
    secret_digest: Option<String>,
    grant_types: String,
    redirect_uris: String,
    scopes: String,
    audiences: String,
    token_format: String,
    access_token_ttl: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn grants_json(c: &Client) -> String {
    let names: Vec<String> = c
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    json_list(&names)
}

// Column lists as macros so queries stay `&'static str` (sqlx refuses run-time SQL strings).
macro_rules! client_columns {
    () => {
        "sid, account_sid, friendly_name, secret_digest, grant_types, redirect_uris, \
         scopes, audiences, token_format, access_token_ttl, created_at, updated_at"
    };
}
macro_rules! account_columns {
    () => {
        "sid, organization_sid, friendly_name, auth_token_digest, created_at"
    };
}
macro_rules! user_columns {
    () => {
        "sid, account_sid, email, password_hash, first_name, last_name, friendly_name, created_at, updated_at"
    };
}
macro_rules! code_columns {
    () => {
        "digest, client_id, user_sid, redirect_uri, scopes, nonce, code_challenge, auth_time, created_at, \
         expires_at, used_at, family_id, access_jti, access_expires_at"
    };
}
macro_rules! device_columns {
    () => {
        "digest, user_code, client_id, scopes, audiences, created_at, expires_at, poll_interval, last_polled_at, \
         status, user_sid, auth_time, device_id"
    };
}
macro_rules! opaque_columns {
    () => {
        "digest, jti, client_id, sub, scope, audiences, account_sid, issued_at, expires_at, revoked_at"
    };
}
macro_rules! key_columns {
    () => {
        "kid, algorithm, sealed_private_key, public_jwk, created_at, activates_at, retires_at, expires_at"
    };
}

macro_rules! sql_store {
    ($store:ident, $row:ty, $conn:ty, $tx:ty, $backend:literal) => {
        impl $store {
            fn client_row(r: &$row) -> StoreResult<Client> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                client_from_parts(ClientRow {
                    sid: r.try_get("sid").map_err(get)?,
                    account_sid: r.try_get("account_sid").map_err(get)?,
                    friendly_name: r.try_get("friendly_name").map_err(get)?,
                    secret_digest: r.try_get("secret_digest").map_err(get)?,
                    grant_types: r.try_get("grant_types").map_err(get)?,
                    redirect_uris: r.try_get("redirect_uris").map_err(get)?,
                    scopes: r.try_get("scopes").map_err(get)?,
                    audiences: r.try_get("audiences").map_err(get)?,
                    token_format: r.try_get("token_format").map_err(get)?,
                    access_token_ttl: r.try_get("access_token_ttl").map_err(get)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    updated_at: r.try_get("updated_at").map_err(get)?,
                })
            }

            fn account_row(r: &$row) -> StoreResult<Account> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let sid: String = r.try_get("sid").map_err(get)?;
                let org: String = r.try_get("organization_sid").map_err(get)?;
                let digest: String = r.try_get("auth_token_digest").map_err(get)?;
                Ok(Account {
                    sid: AccountSid::parse(&sid).map_err(|_| corrupt("account sid"))?,
                    organization_sid: OrganizationSid::parse(&org).map_err(|_| corrupt("organization sid"))?,
                    friendly_name: r.try_get("friendly_name").map_err(get)?,
                    auth_token_digest: SecretDigest::from_hex(&digest).ok_or_else(|| corrupt("auth token digest"))?,
                    created_at: r.try_get("created_at").map_err(get)?,
                })
            }

            fn key_row(r: &$row) -> StoreResult<StoredKey> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let alg: String = r.try_get("algorithm").map_err(get)?;
                Ok(StoredKey {
                    kid: r.try_get("kid").map_err(get)?,
                    algorithm: SigningAlgorithm::from_str(&alg).map_err(|_| corrupt("key algorithm"))?,
                    sealed_private_key: r.try_get("sealed_private_key").map_err(get)?,
                    public_jwk: r.try_get("public_jwk").map_err(get)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    activates_at: r.try_get("activates_at").map_err(get)?,
                    retires_at: r.try_get("retires_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                })
            }

            fn user_row(r: &$row) -> StoreResult<User> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let sid: String = r.try_get("sid").map_err(get)?;
                let account: String = r.try_get("account_sid").map_err(get)?;
                Ok(User {
                    sid: UserSid::parse(&sid).map_err(|_| corrupt("user sid"))?,
                    account_sid: AccountSid::parse(&account).map_err(|_| corrupt("account sid"))?,
                    email: r.try_get("email").map_err(get)?,
                    password_hash: r.try_get("password_hash").map_err(get)?,
                    first_name: r.try_get("first_name").map_err(get)?,
                    last_name: r.try_get("last_name").map_err(get)?,
                    friendly_name: r.try_get("friendly_name").map_err(get)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    updated_at: r.try_get("updated_at").map_err(get)?,
                })
            }

            fn code_row(r: &$row) -> StoreResult<AuthorizationCode> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let digest: String = r.try_get("digest").map_err(get)?;
                let client: String = r.try_get("client_id").map_err(get)?;
                let user: String = r.try_get("user_sid").map_err(get)?;
                let scopes: String = r.try_get("scopes").map_err(get)?;
                Ok(AuthorizationCode {
                    digest: SecretDigest::from_hex(&digest).ok_or_else(|| corrupt("code digest"))?,
                    client_id: ClientId::parse(&client).map_err(|_| corrupt("client id"))?,
                    user_sid: UserSid::parse(&user).map_err(|_| corrupt("user sid"))?,
                    redirect_uri: r.try_get("redirect_uri").map_err(get)?,
                    scopes: parse_list(&scopes)?,
                    nonce: r.try_get("nonce").map_err(get)?,
                    code_challenge: r.try_get("code_challenge").map_err(get)?,
                    auth_time: r.try_get("auth_time").map_err(get)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                    used_at: r.try_get("used_at").map_err(get)?,
                    family_id: r.try_get("family_id").map_err(get)?,
                    access_jti: r.try_get("access_jti").map_err(get)?,
                    access_expires_at: r.try_get("access_expires_at").map_err(get)?,
                })
            }

            fn device_row(r: &$row) -> StoreResult<DeviceGrant> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let digest: String = r.try_get("digest").map_err(get)?;
                let client: String = r.try_get("client_id").map_err(get)?;
                let scopes: String = r.try_get("scopes").map_err(get)?;
                let audiences: String = r.try_get("audiences").map_err(get)?;
                let status: String = r.try_get("status").map_err(get)?;
                let user: Option<String> = r.try_get("user_sid").map_err(get)?;
                Ok(DeviceGrant {
                    digest: SecretDigest::from_hex(&digest).ok_or_else(|| corrupt("device digest"))?,
                    user_code: r.try_get("user_code").map_err(get)?,
                    client_id: ClientId::parse(&client).map_err(|_| corrupt("client id"))?,
                    scopes: parse_list(&scopes)?,
                    audiences: parse_list(&audiences)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                    interval: r.try_get("poll_interval").map_err(get)?,
                    last_polled_at: r.try_get("last_polled_at").map_err(get)?,
                    status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("device status"))?,
                    user_sid: user.map(|u| UserSid::parse(&u).map_err(|_| corrupt("user sid"))).transpose()?,
                    auth_time: r.try_get("auth_time").map_err(get)?,
                    device_id: r.try_get("device_id").map_err(get)?,
                })
            }

            fn refresh_parts(r: &$row, digest: &SecretDigest) -> StoreResult<(RefreshToken, RefreshFamily)> {
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let family_id: String = r.try_get("family_id").map_err(get)?;
                let client: String = r.try_get("client_id").map_err(get)?;
                let user: String = r.try_get("user_sid").map_err(get)?;
                let scopes: String = r.try_get("scopes").map_err(get)?;
                let token = RefreshToken {
                    digest: *digest,
                    family_id: family_id.clone(),
                    created_at: r.try_get("t_created").map_err(get)?,
                    expires_at: r.try_get("t_expires").map_err(get)?,
                    used_at: r.try_get("used_at").map_err(get)?,
                };
                let family = RefreshFamily {
                    id: family_id,
                    client_id: ClientId::parse(&client).map_err(|_| corrupt("client id"))?,
                    user_sid: UserSid::parse(&user).map_err(|_| corrupt("user sid"))?,
                    scopes: parse_list(&scopes)?,
                    auth_time: r.try_get("auth_time").map_err(get)?,
                    created_at: r.try_get("f_created").map_err(get)?,
                    revoked_at: r.try_get("revoked_at").map_err(get)?,
                };
                Ok((token, family))
            }

            async fn insert_refresh(conn: &mut $conn, t: &RefreshToken) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (digest, family_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(t.digest.to_hex())
                .bind(&t.family_id)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.used_at)
                .execute(conn)
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn record_change(tx: &mut $tx, entity: Entity, id: &str) -> StoreResult<()> {
                sqlx::query("INSERT INTO changes (entity, id, at) VALUES ($1, $2, $3)")
                    .bind(entity.as_str())
                    .bind(id)
                    .bind(now())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn insert_organization(&self, org: &Organization) -> StoreResult<()> {
                sqlx::query("INSERT INTO organizations (sid, friendly_name, created_at) VALUES ($1, $2, $3)")
                    .bind(org.sid.as_str())
                    .bind(&org.friendly_name)
                    .bind(org.created_at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn organization_exists(&self, sid: &OrganizationSid) -> StoreResult<bool> {
                let row = sqlx::query("SELECT 1 AS one FROM organizations WHERE sid = $1")
                    .bind(sid.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(row.is_some())
            }

            async fn insert_account(&self, a: &Account) -> StoreResult<()> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                sqlx::query(
                    "INSERT INTO accounts (sid, organization_sid, friendly_name, auth_token_digest, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(a.sid.as_str())
                .bind(a.organization_sid.as_str())
                .bind(&a.friendly_name)
                .bind(a.auth_token_digest.to_hex())
                .bind(a.created_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                Self::record_change(&mut tx, Entity::Account, a.sid.as_str()).await?;
                tx.commit().await.map_err(backend_err)
            }

            async fn account(&self, sid: &AccountSid) -> StoreResult<Option<Account>> {
                let row = sqlx::query(concat!("SELECT ", account_columns!(), " FROM accounts WHERE sid = $1"))
                    .bind(sid.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::account_row).transpose()
            }

            async fn accounts(&self) -> StoreResult<Vec<Account>> {
                let rows = sqlx::query(concat!("SELECT ", account_columns!(), " FROM accounts ORDER BY created_at, sid"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_err)?;
                rows.iter().map(Self::account_row).collect()
            }

            async fn count_accounts(&self) -> StoreResult<i64> {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.try_get::<i64, _>("n").map_err(backend_err)
            }

            async fn set_auth_token(&self, sid: &AccountSid, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let done = sqlx::query("UPDATE accounts SET auth_token_digest = $1, updated_at = $2 WHERE sid = $3")
                    .bind(digest.to_hex())
                    .bind(at)
                    .bind(sid.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?
                    .rows_affected()
                    > 0;
                if done {
                    Self::record_change(&mut tx, Entity::Account, sid.as_str()).await?;
                }
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                sqlx::query(concat!("INSERT INTO clients (", client_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
                .bind(c.id.as_str())
                .bind(c.account_sid.as_str())
                .bind(&c.friendly_name)
                .bind(c.secret_digest.map(|d| d.to_hex()))
                .bind(grants_json(c))
                .bind(json_list(&c.redirect_uris))
                .bind(json_list(&c.scopes))
                .bind(json_list(&c.audiences))
                .bind(c.token_format.as_str())
                .bind(c.access_token_ttl.map(i64::from))
                .bind(c.created_at)
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                Self::record_change(&mut tx, Entity::Client, c.id.as_str()).await?;
                tx.commit().await.map_err(backend_err)
            }

            async fn update_client(&self, c: &Client) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let done = sqlx::query(
                    "UPDATE clients SET friendly_name = $2, secret_digest = $3, grant_types = $4, redirect_uris = $5, \
                     scopes = $6, audiences = $7, token_format = $8, access_token_ttl = $9, updated_at = $10 \
                     WHERE sid = $1",
                )
                .bind(c.id.as_str())
                .bind(&c.friendly_name)
                .bind(c.secret_digest.map(|d| d.to_hex()))
                .bind(grants_json(c))
                .bind(json_list(&c.redirect_uris))
                .bind(json_list(&c.scopes))
                .bind(json_list(&c.audiences))
                .bind(c.token_format.as_str())
                .bind(c.access_token_ttl.map(i64::from))
                .bind(c.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?
                .rows_affected()
                    > 0;
                if done {
                    Self::record_change(&mut tx, Entity::Client, c.id.as_str()).await?;
                }
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let done = sqlx::query("DELETE FROM clients WHERE sid = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?
                    .rows_affected()
                    > 0;
                if done {
                    Self::record_change(&mut tx, Entity::Client, id.as_str()).await?;
                }
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
                let row = sqlx::query(concat!("SELECT ", client_columns!(), " FROM clients WHERE sid = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::client_row).transpose()
            }

            async fn clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Client>> {
                let rows = match account {
                    Some(a) => sqlx::query(concat!("SELECT ", client_columns!(), " FROM clients WHERE account_sid = $1 ORDER BY created_at, sid"))
                    .bind(a.as_str())
                    .fetch_all(&self.pool)
                    .await,
                    None => sqlx::query(concat!("SELECT ", client_columns!(), " FROM clients ORDER BY created_at, sid"))
                        .fetch_all(&self.pool)
                        .await,
                }
                .map_err(backend_err)?;
                rows.iter().map(Self::client_row).collect()
            }

            async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<()> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                sqlx::query(concat!("INSERT INTO signing_keys (", key_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
                .bind(&k.kid)
                .bind(k.algorithm.as_str())
                .bind(&k.sealed_private_key)
                .bind(&k.public_jwk)
                .bind(k.created_at)
                .bind(k.activates_at)
                .bind(k.retires_at)
                .bind(k.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                Self::record_change(&mut tx, Entity::SigningKey, &k.kid).await?;
                tx.commit().await.map_err(backend_err)
            }

            async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
                let rows = sqlx::query(concat!("SELECT ", key_columns!(), " FROM signing_keys ORDER BY created_at, kid"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_err)?;
                rows.iter().map(Self::key_row).collect()
            }

            async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?
                    .rows_affected()
                    > 0;
                if done {
                    Self::record_change(&mut tx, Entity::SigningKey, kid).await?;
                }
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>> {
                let rows = sqlx::query("SELECT seq, entity, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000")
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let entity: String = r.try_get("entity").map_err(backend_err)?;
                    let Some(entity) = Entity::parse(&entity) else { continue };
                    out.push(Change {
                        seq: r.try_get("seq").map_err(backend_err)?,
                        entity,
                        id: r.try_get("id").map_err(backend_err)?,
                    });
                }
                Ok(out)
            }

            async fn latest_change(&self) -> StoreResult<i64> {
                let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM changes")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.try_get::<i64, _>("seq").map_err(backend_err)
            }

            async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
                // Keep the newest rows whatever their age so a cursor never loses its place.
                let done = sqlx::query(
                    "DELETE FROM changes WHERE at < $1 AND seq < (SELECT COALESCE(MAX(seq), 0) - 1000 FROM changes)",
                )
                .bind(before)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(done.rows_affected())
            }

            async fn insert_user(&self, u: &User) -> StoreResult<()> {
                sqlx::query(concat!("INSERT INTO users (", user_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
                    .bind(u.sid.as_str())
                    .bind(u.account_sid.as_str())
                    .bind(&u.email)
                    .bind(&u.password_hash)
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(&u.friendly_name)
                    .bind(u.created_at)
                    .bind(u.updated_at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn user(&self, sid: &UserSid) -> StoreResult<Option<User>> {
                let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE sid = $1"))
                    .bind(sid.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::user_row).transpose()
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1"))
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::user_row).transpose()
            }

            async fn users(&self, account: Option<&AccountSid>) -> StoreResult<Vec<User>> {
                let rows = match account {
                    Some(a) => sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE account_sid = $1 ORDER BY created_at, sid"))
                        .bind(a.as_str())
                        .fetch_all(&self.pool)
                        .await,
                    None => sqlx::query(concat!("SELECT ", user_columns!(), " FROM users ORDER BY created_at, sid"))
                        .fetch_all(&self.pool)
                        .await,
                }
                .map_err(backend_err)?;
                rows.iter().map(Self::user_row).collect()
            }

            async fn delete_user(&self, sid: &UserSid, at: i64) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                sqlx::query("UPDATE refresh_families SET revoked_at = $2 WHERE user_sid = $1 AND revoked_at IS NULL")
                    .bind(sid.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                let done = sqlx::query("DELETE FROM users WHERE sid = $1")
                    .bind(sid.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?
                    .rows_affected()
                    > 0;
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn insert_session(&self, s: &BrowserSession) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO browser_sessions (digest, user_sid, auth_time, created_at, last_seen_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(s.digest.to_hex())
                .bind(s.user_sid.as_str())
                .bind(s.auth_time)
                .bind(s.created_at)
                .bind(s.last_seen_at)
                .bind(s.expires_at)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn session(&self, digest: &SecretDigest) -> StoreResult<Option<BrowserSession>> {
                let row = sqlx::query(
                    "SELECT digest, user_sid, auth_time, created_at, last_seen_at, expires_at FROM browser_sessions WHERE digest = $1",
                )
                .bind(digest.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
                let Some(r) = row else { return Ok(None) };
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let user: String = r.try_get("user_sid").map_err(get)?;
                Ok(Some(BrowserSession {
                    digest: *digest,
                    user_sid: UserSid::parse(&user).map_err(|_| corrupt("user sid"))?,
                    auth_time: r.try_get("auth_time").map_err(get)?,
                    created_at: r.try_get("created_at").map_err(get)?,
                    last_seen_at: r.try_get("last_seen_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                }))
            }

            async fn touch_session(&self, digest: &SecretDigest, at: i64) -> StoreResult<()> {
                sqlx::query("UPDATE browser_sessions SET last_seen_at = $2 WHERE digest = $1")
                    .bind(digest.to_hex())
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn delete_session(&self, digest: &SecretDigest) -> StoreResult<()> {
                sqlx::query("DELETE FROM browser_sessions WHERE digest = $1")
                    .bind(digest.to_hex())
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn consent(&self, user: &UserSid, client: &ClientId) -> StoreResult<Option<Vec<String>>> {
                let row = sqlx::query("SELECT scopes FROM consents WHERE user_sid = $1 AND client_id = $2")
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                match row {
                    Some(r) => Ok(Some(parse_list(&r.try_get::<String, _>("scopes").map_err(backend_err)?)?)),
                    None => Ok(None),
                }
            }

            async fn put_consent(&self, user: &UserSid, client: &ClientId, scopes: &[String], at: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO consents (user_sid, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_sid, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
                )
                .bind(user.as_str())
                .bind(client.as_str())
                .bind(json_list(scopes))
                .bind(at)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO authorization_codes (", code_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn redeem_code(
                &self,
                digest: &SecretDigest,
                at: i64,
                family_id: Option<&str>,
                access_jti: &str,
                access_expires_at: i64,
            ) -> StoreResult<CodeRedemption> {
                let hex = digest.to_hex();
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let first = sqlx::query(
                    "UPDATE authorization_codes SET used_at = $2, family_id = $3, access_jti = $4, access_expires_at = $5 \
                     WHERE digest = $1 AND used_at IS NULL",
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
                let row = sqlx::query(concat!("SELECT ", code_columns!(), " FROM authorization_codes WHERE digest = $1"))
                    .bind(&hex)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend_err)?;
                tx.commit().await.map_err(backend_err)?;
                let Some(row) = row else { return Ok(CodeRedemption::Unknown) };
                let code = Self::code_row(&row)?;
                Ok(if first { CodeRedemption::Fresh(code) } else { CodeRedemption::Replayed(code) })
            }

            async fn insert_refresh_family(&self, f: &RefreshFamily, first: &RefreshToken) -> StoreResult<()> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                sqlx::query(
                    "INSERT INTO refresh_families (id, client_id, user_sid, scopes, auth_time, created_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&f.id)
                .bind(f.client_id.as_str())
                .bind(f.user_sid.as_str())
                .bind(json_list(&f.scopes))
                .bind(f.auth_time)
                .bind(f.created_at)
                .bind(f.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(backend_err)?;
                Self::insert_refresh(&mut *tx, first).await?;
                tx.commit().await.map_err(backend_err)
            }

            async fn refresh_token(&self, digest: &SecretDigest) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
                let row = sqlx::query(
                    "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, t.used_at, \
                            f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, f.revoked_at \
                     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.digest = $1",
                )
                .bind(digest.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
                row.as_ref().map(|r| Self::refresh_parts(r, digest)).transpose()
            }

            async fn rotate_refresh_token(
                &self,
                old: &SecretDigest,
                next: &RefreshToken,
                at: i64,
                grace: i64,
            ) -> StoreResult<RefreshRotation> {
                // One statement records the first use and returns its time. Two concurrent first
                // uses in the same second both see `at`, which is within any grace window.
                let first_use: Option<i64> = sqlx::query(
                    "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE digest = $1 RETURNING used_at",
                )
                .bind(old.to_hex())
                .bind(at)
                .fetch_optional(self.writer())
                .await
                .map_err(backend_err)?
                .map(|r| r.try_get::<Option<i64>, _>("used_at"))
                .transpose()
                .map_err(backend_err)?
                .flatten();
                if at - first_use.unwrap_or(at) > grace {
                    sqlx::query("UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(&next.family_id)
                        .bind(at)
                        .execute(self.writer())
                        .await
                        .map_err(backend_err)?;
                    return Ok(RefreshRotation::Reused);
                }
                let mut conn = self.writer().acquire().await.map_err(backend_err)?;
                Self::insert_refresh(&mut *conn, next).await?;
                Ok(RefreshRotation::Rotated)
            }

            async fn refresh_token_with_user(
                &self,
                digest: &SecretDigest,
            ) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
                let row = sqlx::query(
                    "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, t.used_at, \
                            f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, f.revoked_at, \
                            u.sid, u.account_sid, u.email, u.password_hash, u.first_name, u.last_name, u.friendly_name, \
                            u.created_at, u.updated_at \
                     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
                     LEFT JOIN users u ON u.sid = f.user_sid WHERE t.digest = $1",
                )
                .bind(digest.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_err)?;
                let Some(r) = row else { return Ok(None) };
                let (token, family) = Self::refresh_parts(&r, digest)?;
                let has_user: Option<String> = r.try_get("sid").map_err(backend_err)?;
                let user = match has_user {
                    Some(_) => Some(Self::user_row(&r)?),
                    None => None,
                };
                Ok(Some((token, family, user)))
            }

            async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(family_id)
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
                sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                    .bind(jti)
                    .bind(expires_at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
                let row = sqlx::query("SELECT 1 AS one FROM revoked_access_tokens WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                Ok(row.is_some())
            }

            async fn prune_expired(&self, now: i64) -> StoreResult<u64> {
                let mut n = 0;
                for sql in [
                    "DELETE FROM authorization_codes WHERE expires_at < $1 - 86400",
                    "DELETE FROM browser_sessions WHERE expires_at < $1",
                    "DELETE FROM refresh_tokens WHERE expires_at < $1",
                    "DELETE FROM revoked_access_tokens WHERE expires_at < $1",
                    "DELETE FROM access_tokens WHERE expires_at < $1",
                    "DELETE FROM device_grants WHERE expires_at < $1 - 3600",
                ] {
                    n += sqlx::query(sql).bind(now).execute(self.writer()).await.map_err(backend_err)?.rows_affected();
                }
                Ok(n)
            }

            async fn update_signing_key(&self, kid: &str, retires_at: Option<i64>, expires_at: Option<i64>) -> StoreResult<bool> {
                let mut tx = self.writer().begin().await.map_err(backend_err)?;
                let done = sqlx::query("UPDATE signing_keys SET retires_at = $2, expires_at = $3 WHERE kid = $1")
                    .bind(kid)
                    .bind(retires_at)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_err)?
                    .rows_affected()
                    > 0;
                if done {
                    Self::record_change(&mut tx, Entity::SigningKey, kid).await?;
                }
                tx.commit().await.map_err(backend_err)?;
                Ok(done)
            }

            async fn insert_device_grant(&self, g: &DeviceGrant) -> StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO device_grants (", device_columns!(),
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
                .bind(&g.device_id)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn device_grant(&self, digest: &SecretDigest) -> StoreResult<Option<DeviceGrant>> {
                let row = sqlx::query(concat!("SELECT ", device_columns!(), " FROM device_grants WHERE digest = $1"))
                    .bind(digest.to_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::device_row).transpose()
            }

            async fn device_grant_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
                let row = sqlx::query(concat!("SELECT ", device_columns!(), " FROM device_grants WHERE user_code = $1"))
                    .bind(user_code)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                row.as_ref().map(Self::device_row).transpose()
            }

            async fn decide_device_grant(&self, user_code: &str, status: DeviceStatus, user: &UserSid, auth_time: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE device_grants SET status = $2, user_sid = $3, auth_time = $4 WHERE user_code = $1 AND status = 'pending'",
                )
                .bind(user_code)
                .bind(status.as_str())
                .bind(user.as_str())
                .bind(auth_time)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn record_device_poll(&self, digest: &SecretDigest, at: i64, interval: i64) -> StoreResult<()> {
                sqlx::query("UPDATE device_grants SET last_polled_at = $2, poll_interval = $3 WHERE digest = $1")
                    .bind(digest.to_hex())
                    .bind(at)
                    .bind(interval)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(())
            }

            async fn consume_device_grant(&self, digest: &SecretDigest, device_id: Option<&str>) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE device_grants SET status = 'consumed', device_id = $2 WHERE digest = $1 AND status = 'approved'",
                )
                .bind(digest.to_hex())
                .bind(device_id)
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_opaque_token(&self, t: &OpaqueAccessToken) -> StoreResult<()> {
                sqlx::query(concat!(
                    "INSERT INTO access_tokens (", opaque_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
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
                .execute(self.writer())
                .await
                .map_err(backend_err)?;
                Ok(())
            }

            async fn opaque_token(&self, digest: &SecretDigest) -> StoreResult<Option<OpaqueAccessToken>> {
                let row = sqlx::query(concat!("SELECT ", opaque_columns!(), " FROM access_tokens WHERE digest = $1"))
                    .bind(digest.to_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_err)?;
                let Some(r) = row else { return Ok(None) };
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let client: String = r.try_get("client_id").map_err(get)?;
                let aud: String = r.try_get("audiences").map_err(get)?;
                Ok(Some(OpaqueAccessToken {
                    digest: *digest,
                    jti: r.try_get("jti").map_err(get)?,
                    client_id: ClientId::parse(&client).map_err(|_| corrupt("client id"))?,
                    sub: r.try_get("sub").map_err(get)?,
                    scope: r.try_get("scope").map_err(get)?,
                    audiences: parse_list(&aud)?,
                    account_sid: r.try_get("account_sid").map_err(get)?,
                    issued_at: r.try_get("issued_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                    revoked_at: r.try_get("revoked_at").map_err(get)?,
                }))
            }

            async fn revoke_opaque_token(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE digest = $1 AND revoked_at IS NULL")
                    .bind(digest.to_hex())
                    .bind(at)
                    .execute(self.writer())
                    .await
                    .map_err(backend_err)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

/// The embedded default: one SQLite file in WAL mode. SQLite takes one writer at a time, so
/// writes go through a single connection and queue there instead of sleeping on the lock.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// PostgreSQL, for several nodes sharing one database.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    fn writer(&self) -> &PgPool {
        &self.pool
    }
}

sql_store!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection,
    sqlx::Transaction<'static, sqlx::Sqlite>,
    "sqlite"
);
sql_store!(
    PgStore,
    sqlx::postgres::PgRow,
    sqlx::PgConnection,
    sqlx::Transaction<'static, sqlx::Postgres>,
    "postgres"
);

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(backend_err)?;
        SQLITE_MIGRATIONS
            .run(&writer)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend_err)?;
        Ok(Self { pool, writer })
    }
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(backend_err)?;
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
    }
}

/// Opens (and migrates) the store a database URL names: `sqlite://…` or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::Backend(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
            url.split(['?', '@']).next().unwrap_or_default()
        )))
    }
}
