//! OAuth apps (clients).

use std::str::FromStr;

use sqlx::any::AnyRow;
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::model::{
    Client, ClientLogout, ClientProfile, Entity, GrantType, OidcSettings, TokenEndpointAuthMethod,
    TokenFormat,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{
    Db, Query, corrupt, insert_logged, json_list, of_account, read_all, read_one, select,
    write_logged,
};

// A macro so queries built from it stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! columns {
    () => {
        "sid, account_sid, friendly_name, secret_digest, grant_types, redirect_uris, scopes, \
         audiences, token_format, access_token_ttl, created_at, updated_at, require_pkce, \
         token_endpoint_auth_method, jwks, jwks_uri, sealed_secret, require_par, require_dpop, \
         profile, id_token_signed_response_alg, require_signed_request_object, \
         post_logout_redirect_uris, backchannel_logout_uri"
    };
}

fn client_from(r: &AnyRow) -> StoreResult<Client> {
    let grants = grant_types(r)?;
    let (digest, method) = secret_and_method(r)?;
    let alg = r.col::<Option<String>>("id_token_signed_response_alg")?;
    Ok(by_name!(
        r,
        Client {
            id: r.id("sid", "client sid", ClientId::parse)?,
            account_sid: r.id("account_sid", "account sid", AccountSid::parse)?,
            friendly_name,
            secret_digest: digest,
            grant_types: grants,
            redirect_uris,
            scopes,
            audiences,
            token_format: TokenFormat::from_str(&r.col::<String>("token_format")?)
                .map_err(|_| corrupt("token format"))?,
            access_token_ttl: r
                .col::<Option<i64>>("access_token_ttl")?
                .and_then(|t| u32::try_from(t).ok()),
            require_pkce,
            created_at,
            updated_at,
            auth_method: method,
            jwks,
            jwks_uri,
            sealed_secret,
            require_par,
            require_dpop,
            profile: ClientProfile::from_str(&r.col::<String>("profile")?)
                .map_err(|_| corrupt("profile"))?,
            oidc: oidc_settings(r, alg)?,
            logout: by_name!(
                r,
                ClientLogout {
                    post_logout_redirect_uris,
                    backchannel_logout_uri,
                }
            ),
        }
    ))
}

fn grant_types(r: &AnyRow) -> StoreResult<Vec<GrantType>> {
    r.col::<Vec<String>>("grant_types")?
        .iter()
        .map(|g| g.parse::<GrantType>().map_err(|_| corrupt("grant type")))
        .collect()
}

/// The secret's digest and the token endpoint auth method; rows from before the method was
/// stored use the one their secret (or its absence) implies.
fn secret_and_method(r: &AnyRow) -> StoreResult<(Option<SecretDigest>, TokenEndpointAuthMethod)> {
    let digest = match r.col::<Option<String>>("secret_digest")? {
        Some(h) => Some(SecretDigest::from_hex(&h).ok_or_else(|| corrupt("secret digest"))?),
        None => None,
    };
    let method = match (
        r.col::<Option<String>>("token_endpoint_auth_method")?,
        &digest,
    ) {
        (Some(m), _) => {
            TokenEndpointAuthMethod::from_str(&m).map_err(|_| corrupt("auth method"))?
        }
        (None, Some(_)) => TokenEndpointAuthMethod::ClientSecretBasic,
        (None, None) => TokenEndpointAuthMethod::None,
    };
    Ok((digest, method))
}

/// The OpenID Connect settings, `alg` being the row's `id_token_signed_response_alg`.
fn oidc_settings(r: &AnyRow, alg: Option<String>) -> StoreResult<OidcSettings> {
    Ok(by_name!(
        r,
        OidcSettings {
            id_token_signed_response_alg: alg
                .map(|a| a.parse().map_err(|_| corrupt("id token algorithm")))
                .transpose()?,
            require_signed_request_object,
        }
    ))
}

fn grants_json(c: &Client) -> String {
    let names: Vec<String> = c
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    json_list(&names)
}

/// Binds what an insert and an update both write, in this order: the statements place
/// these columns after the ones only an insert writes.
fn bind_fields<'q>(q: Query<'q>, c: &'q Client) -> Query<'q> {
    q.bind(&c.friendly_name)
        .bind(c.secret_digest.map(|d| d.to_hex()))
        .bind(grants_json(c))
        .bind(json_list(&c.redirect_uris))
        .bind(json_list(&c.scopes))
        .bind(json_list(&c.audiences))
        .bind(c.token_format.as_str())
        .bind(c.access_token_ttl.map(i64::from))
        .bind(c.updated_at)
        .bind(i64::from(c.require_pkce))
        .bind(c.auth_method.as_str())
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(&c.sealed_secret)
        .bind(i64::from(c.require_par))
        .bind(i64::from(c.require_dpop))
        .bind(c.profile.as_str())
        .bind(c.oidc.id_token_signed_response_alg.map(|a| a.as_str()))
        .bind(i64::from(c.oidc.require_signed_request_object))
        .bind(json_list(&c.logout.post_logout_redirect_uris))
        .bind(&c.logout.backchannel_logout_uri)
}

/// The insert of one client, for [`insert_client`] and for a registration's transaction.
pub(crate) fn insert_statement(c: &Client) -> Query<'_> {
    let q = sqlx::query(
        "INSERT INTO clients (sid, account_sid, created_at, friendly_name, secret_digest, \
         grant_types, redirect_uris, scopes, audiences, token_format, access_token_ttl, \
         updated_at, require_pkce, token_endpoint_auth_method, jwks, jwks_uri, sealed_secret, \
         require_par, require_dpop, profile, id_token_signed_response_alg, \
         require_signed_request_object, post_logout_redirect_uris, backchannel_logout_uri) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(c.id.as_str())
    .bind(c.account_sid.as_str())
    .bind(c.created_at);
    bind_fields(q, c)
}

pub(crate) async fn insert_client(db: &Db, c: &Client) -> StoreResult<()> {
    insert_logged(db, insert_statement(c), Entity::Client, c.id.as_str()).await
}

/// The update of one client, for [`update_client`] and for a registration's transaction.
pub(crate) fn update_statement(c: &Client) -> Query<'_> {
    let q = sqlx::query(
        "UPDATE clients SET friendly_name = $2, secret_digest = $3, grant_types = $4, \
         redirect_uris = $5, scopes = $6, audiences = $7, token_format = $8, \
         access_token_ttl = $9, updated_at = $10, require_pkce = $11, \
         token_endpoint_auth_method = $12, jwks = $13, jwks_uri = $14, sealed_secret = $15, \
         require_par = $16, require_dpop = $17, profile = $18, \
         id_token_signed_response_alg = $19, require_signed_request_object = $20, \
         post_logout_redirect_uris = $21, backchannel_logout_uri = $22 WHERE sid = $1",
    )
    .bind(c.id.as_str());
    bind_fields(q, c)
}

pub(crate) async fn update_client(db: &Db, c: &Client) -> StoreResult<bool> {
    write_logged(db, update_statement(c), Entity::Client, c.id.as_str()).await
}

pub(crate) async fn delete_client(db: &Db, id: &ClientId) -> StoreResult<bool> {
    let q = sqlx::query("DELETE FROM clients WHERE sid = $1").bind(id.as_str());
    write_logged(db, q, Entity::Client, id.as_str()).await
}

pub(crate) async fn client(db: &Db, id: &ClientId) -> StoreResult<Option<Client>> {
    let q = sqlx::query(select!(columns, "clients WHERE sid = $1")).bind(id.as_str());
    read_one(db, q, client_from).await
}

pub(crate) async fn clients(db: &Db, account: Option<&AccountSid>) -> StoreResult<Vec<Client>> {
    read_all(db, of_account!(account, columns, "clients"), client_from).await
}
