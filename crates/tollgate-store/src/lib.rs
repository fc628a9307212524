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
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid};
use tollgate_core::keys::{SigningAlgorithm, StoredKey};
use tollgate_core::model::{Account, Change, Client, Entity, GrantType, Organization, TokenFormat};
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
macro_rules! key_columns {
    () => {
        "kid, algorithm, sealed_private_key, public_jwk, created_at, activates_at, retires_at, expires_at"
    };
}

macro_rules! sql_store {
    ($store:ident, $pool:ty, $row:ty, $tx:ty, $backend:literal) => {
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
                    .execute(&self.pool)
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                let mut tx = self.pool.begin().await.map_err(backend_err)?;
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
                .execute(&self.pool)
                .await
                .map_err(backend_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}

/// The embedded default: one SQLite file in WAL mode.
pub struct SqliteStore {
    pool: SqlitePool,
}

/// PostgreSQL, for several nodes sharing one database.
pub struct PgStore {
    pool: PgPool,
}

sql_store!(
    SqliteStore,
    SqlitePool,
    sqlx::sqlite::SqliteRow,
    sqlx::Transaction<'static, sqlx::Sqlite>,
    "sqlite"
);
sql_store!(
    PgStore,
    PgPool,
    sqlx::postgres::PgRow,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend_err)?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
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
