//! RFC 7591 / 7592 dynamic registration: account policies, initial access tokens and the
//! registration records of registered clients.

use sqlx::any::AnyRow;
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::model::{
    Client, ClientRegistration, Entity, ExtraMetadata, InitialAccessToken, RegisteredVia,
    RegistrationPolicy,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::clients::{insert_statement, update_statement};
use crate::rows::{Columns, by_name};
use crate::sql::{Db, backend_err, corrupt, read_all, read_one, read_row, record_change, write};

fn registration_from(r: &AnyRow) -> StoreResult<ClientRegistration> {
    let (via, metadata) = (
        r.col::<String>("registered_via")?,
        r.col::<String>("metadata")?,
    );
    Ok(by_name!(
        r,
        ClientRegistration {
            client_id: r.id("client_sid", "client sid", ClientId::parse)?,
            token_digest: r.digest("token_digest", "registration token digest")?,
            via: RegisteredVia::parse(&via).ok_or_else(|| corrupt("registered_via"))?,
            registered_from,
            metadata: serde_json::from_str::<ExtraMetadata>(&metadata)
                .map_err(|_| corrupt("registration metadata"))?,
            created_at,
            updated_at,
        }
    ))
}

fn metadata_json(r: &ClientRegistration) -> String {
    serde_json::to_string(&r.metadata).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) async fn insert_registered_client(
    db: &Db,
    client: &Client,
    r: &ClientRegistration,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    insert_statement(client)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
    sqlx::query(
        "INSERT INTO client_registrations (client_sid, token_digest, registered_via, \
         registered_from, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.client_id.as_str())
    .bind(r.token_digest.to_hex())
    .bind(r.via.as_str())
    .bind(&r.registered_from)
    .bind(metadata_json(r))
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?;
    record_change(db, &mut tx, Entity::Client, client.id.as_str()).await?;
    tx.commit().await.map_err(backend_err)
}

pub(crate) async fn update_registered_client(
    db: &Db,
    client: &Client,
    r: &ClientRegistration,
) -> StoreResult<bool> {
    let mut tx = db.begin().await?;
    let updated = update_statement(client)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?
        .rows_affected();
    let recorded = sqlx::query(
        "UPDATE client_registrations SET token_digest = $2, metadata = $3, updated_at = $4 \
         WHERE client_sid = $1",
    )
    .bind(r.client_id.as_str())
    .bind(r.token_digest.to_hex())
    .bind(metadata_json(r))
    .bind(r.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?
    .rows_affected();
    if updated == 0 || recorded == 0 {
        // Deleted meanwhile: leave nothing half-written.
        tx.rollback().await.map_err(backend_err)?;
        return Ok(false);
    }
    record_change(db, &mut tx, Entity::Client, client.id.as_str()).await?;
    tx.commit().await.map_err(backend_err)?;
    Ok(true)
}

pub(crate) async fn client_registration(
    db: &Db,
    id: &ClientId,
) -> StoreResult<Option<ClientRegistration>> {
    let q = sqlx::query(
        "SELECT client_sid, token_digest, registered_via, registered_from, metadata, \
         created_at, updated_at FROM client_registrations WHERE client_sid = $1",
    )
    .bind(id.as_str());
    read_one(db, q, registration_from).await
}

pub(crate) async fn registered_clients(
    db: &Db,
    account: Option<&AccountSid>,
) -> StoreResult<Vec<ClientId>> {
    let q = match account {
        Some(a) => sqlx::query(
            "SELECT r.client_sid FROM client_registrations r \
             JOIN clients c ON c.sid = r.client_sid WHERE c.account_sid = $1 \
             ORDER BY r.created_at, r.client_sid",
        )
        .bind(a.as_str()),
        None => sqlx::query(
            "SELECT client_sid FROM client_registrations ORDER BY created_at, client_sid",
        ),
    };
    read_all(db, q, |r| r.id("client_sid", "client sid", ClientId::parse)).await
}

pub(crate) async fn registration_policy(
    db: &Db,
    account: &AccountSid,
) -> StoreResult<RegistrationPolicy> {
    let q = sqlx::query_as::<_, (String,)>(
        "SELECT policy FROM registration_policies WHERE account_sid = $1",
    )
    .bind(account.as_str());
    match read_row(db, q).await? {
        None => Ok(RegistrationPolicy::Off),
        Some((p,)) => p.parse().map_err(|_| corrupt("registration policy")),
    }
}

pub(crate) async fn set_registration_policy(
    db: &Db,
    account: &AccountSid,
    policy: RegistrationPolicy,
    at: i64,
) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO registration_policies (account_sid, policy, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_sid) DO UPDATE SET policy = excluded.policy, \
         updated_at = excluded.updated_at",
    )
    .bind(account.as_str())
    .bind(policy.as_str())
    .bind(at);
    write(db, q).await.map(|_| ())
}

fn token_from(r: &AnyRow) -> StoreResult<InitialAccessToken> {
    Ok(by_name!(
        r,
        InitialAccessToken {
            digest: r.digest("digest", "initial access token digest")?,
            account_sid: r.id("account_sid", "account sid", AccountSid::parse)?,
            created_at,
            expires_at,
            remaining,
        }
    ))
}

pub(crate) async fn insert_initial_access_token(
    db: &Db,
    t: &InitialAccessToken,
) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO initial_access_tokens (digest, account_sid, created_at, expires_at, \
         remaining) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.digest.to_hex())
    .bind(t.account_sid.as_str())
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.remaining);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn initial_access_token(
    db: &Db,
    digest: &SecretDigest,
) -> StoreResult<Option<InitialAccessToken>> {
    let q = sqlx::query(
        "SELECT digest, account_sid, created_at, expires_at, remaining \
         FROM initial_access_tokens WHERE digest = $1",
    )
    .bind(digest.to_hex());
    read_one(db, q, token_from).await
}

pub(crate) async fn use_initial_access_token(
    db: &Db,
    digest: &SecretDigest,
    now: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE initial_access_tokens SET remaining = remaining - 1 \
         WHERE digest = $1 AND remaining > 0 AND expires_at > $2",
    )
    .bind(digest.to_hex())
    .bind(now);
    Ok(write(db, q).await? > 0)
}

/// The account's initial access tokens that can still register a client.
pub(crate) async fn initial_access_tokens(
    db: &Db,
    account: &AccountSid,
    now: i64,
) -> StoreResult<Vec<InitialAccessToken>> {
    let q = sqlx::query(
        "SELECT digest, account_sid, created_at, expires_at, remaining \
         FROM initial_access_tokens WHERE account_sid = $1 AND expires_at > $2 \
         AND remaining > 0 ORDER BY created_at, digest",
    )
    .bind(account.as_str())
    .bind(now);
    read_all(db, q, token_from).await
}

pub(crate) async fn delete_initial_access_token(
    db: &Db,
    account: &AccountSid,
    digest: &SecretDigest,
) -> StoreResult<bool> {
    let q = sqlx::query("DELETE FROM initial_access_tokens WHERE digest = $1 AND account_sid = $2")
        .bind(digest.to_hex())
        .bind(account.as_str());
    Ok(write(db, q).await? > 0)
}
