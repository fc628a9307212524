//! Store fixtures: a fresh store on either backend, and the rows most store tests start from.

use std::sync::Arc;

use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use tollgate_core::model::{
    Account, Client, GrantType, Organization, RefreshFamily, RefreshToken, TokenFormat, User,
};
use tollgate_core::secret::Secret;
use tollgate_core::store::Store;
use tollgate_core::{SystemRng, clock::Rng};

use crate::{Backend, fresh_database};

pub async fn open(backend: Backend) -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(backend, &dir).await?;
    let store = tollgate_store::open(&url, Arc::new(tollgate_core::SystemClock))
        .await
        .expect("open store");
    assert_eq!(
        store.backend(),
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    Some((store, dir))
}

/// A fresh store holding one account.
pub async fn open_with_account(
    backend: Backend,
) -> Option<(Arc<dyn Store>, tempfile::TempDir, SystemRng, Account)> {
    let (store, dir) = open(backend).await?;
    let rng = rng();
    let a = account(store.as_ref(), &rng).await;
    Some((store, dir, rng, a))
}

/// A fresh store holding one account and, in it, the user `email`.
pub async fn open_with_user(
    backend: Backend,
    email: &str,
) -> Option<(Arc<dyn Store>, tempfile::TempDir, SystemRng, Account, User)> {
    let (store, dir, rng, a) = open_with_account(backend).await?;
    let u = user(&a.sid, &rng, email);
    store.insert_user(&u).await.expect("user");
    Some((store, dir, rng, a, u))
}

pub fn rng() -> SystemRng {
    SystemRng::default()
}

pub async fn account(store: &dyn Store, rng: &dyn Rng) -> Account {
    let org = Organization {
        sid: OrganizationSid::generate(rng).expect("rng"),
        friendly_name: "org".into(),
        created_at: 1,
    };
    store.insert_organization(&org).await.expect("org");
    let a = Account {
        sid: AccountSid::generate(rng).expect("rng"),
        organization_sid: org.sid,
        friendly_name: "acct".into(),
        auth_token_digest: Secret::generate(rng).expect("rng").digest(),
        created_at: 2,
    };
    store.insert_account(&a).await.expect("account");
    a
}

pub fn client(account: &AccountSid, rng: &dyn Rng, created_at: i64) -> Client {
    Client {
        id: ClientId::generate(rng).expect("rng"),
        account_sid: account.clone(),
        friendly_name: "app \u{2713} 'quoted'".into(),
        secret_digest: Some(Secret::generate(rng).expect("rng").digest()),
        grant_types: vec![GrantType::ClientCredentials, GrantType::DeviceCode],
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        scopes: vec!["read".into(), "write".into()],
        audiences: vec!["https://api.example".into()],
        token_format: TokenFormat::Jwt,
        require_pkce: false,
        access_token_ttl: Some(600),
        created_at,
        updated_at: created_at,
        auth_method: tollgate_core::model::TokenEndpointAuthMethod::ClientSecretJwt,
        jwks: None,
        jwks_uri: Some("https://app.example/jwks".into()),
        sealed_secret: Some("c2VhbGVk".into()),
        require_par: true,
        require_dpop: true,
        profile: tollgate_core::model::ClientProfile::Default,
        oidc: tollgate_core::model::OidcSettings {
            id_token_signed_response_alg: Some(tollgate_core::keys::SigningAlgorithm::RS256),
            require_signed_request_object: true,
        },
        logout: tollgate_core::model::ClientLogout {
            post_logout_redirect_uris: vec!["https://app.example/signed-out".into()],
            backchannel_logout_uri: Some("https://app.example/backchannel".into()),
        },
    }
}

/// Starts a refresh family of `user` at `client` with one unused token (expiring at 1000),
/// which it returns.
pub async fn insert_user_family(
    store: &dyn Store,
    rng: &dyn Rng,
    id: &str,
    client: &ClientId,
    user: &UserSid,
) -> RefreshToken {
    let fam = RefreshFamily {
        id: id.into(),
        client_id: client.clone(),
        user_sid: user.clone(),
        scopes: vec![],
        auth_time: 1,
        created_at: 1,
        revoked_at: None,
        resources: vec![],
        dpop_jkt: None,
    };
    let t = RefreshToken {
        digest: Secret::generate(rng).expect("rng").digest(),
        family_id: fam.id.clone(),
        created_at: 1,
        expires_at: 1000,
        used_at: None,
    };
    store.insert_refresh_family(&fam, &t).await.expect("family");
    t
}

pub fn user(account: &AccountSid, rng: &dyn Rng, email: &str) -> User {
    User {
        sid: UserSid::generate(rng).expect("rng"),
        account_sid: account.clone(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        first_name: Some("Ada".into()),
        last_name: None,
        friendly_name: Some("O'Brien \u{1f600}".into()),
        admin: false,
        email_verified: true,
        created_at: 5,
        updated_at: 5,
    }
}
