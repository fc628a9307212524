//! [`SqlStore`]: Tenancy, clients, registrations, resources and signing keys.

use crate::sql::Backend;
use crate::{accounts, changes, clients, keys, leases, passkeys, registrations, resources};
use std::sync::Arc;
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, ResourceSid};
use tollgate_core::keys::StoredKey;
use tollgate_core::model::{
    Account, Change, Client, ClientRegistration, InitialAccessToken, Organization,
    RegistrationPolicy, Resource, SignInPolicy,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{
    ChangeLog, ClientDirectory, ClientRegistrations, ResourceDirectory, SigningKeys, StoreResult,
    Tenancy,
};

forward! {
    impl ChangeLog {
        fn backend(&self) -> &'static str {
            match self.db.backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
        }
        async fn watch_changes(&self, wake: Arc<tokio::sync::Notify>) -> StoreResult<()> {
            // Runs for the life of the node: not an operation to time.
            changes::watch_changes(&self.db, wake).await
        }
    }
    changes::changes_since(after: i64) -> Vec<Change>;
    changes::latest_change() -> i64;
    changes::prune_changes(before: i64) -> u64;
    leases::try_lease(name: &str, holder: &str, now: i64, until: i64) -> bool;
    leases::release_lease(name: &str, holder: &str) -> ();
    changes::prune_expired(now: i64) -> u64;
}

forward! {
    impl Tenancy;
    accounts::insert_organization(org: &Organization) -> ();
    accounts::organization_exists(sid: &OrganizationSid) -> bool;
    accounts::insert_account(account: &Account) -> ();
    accounts::account(sid: &AccountSid) -> Option<Account>;
    accounts::accounts() -> Vec<Account>;
    accounts::count_accounts() -> i64;
    accounts::set_auth_token(sid: &AccountSid, digest: &SecretDigest, at: i64) -> bool;
    passkeys::set_account_sign_in_policy(
        account: &AccountSid,
        policy: SignInPolicy,
        at: i64,
    ) -> bool;
    passkeys::account_sign_in_policy(account: &AccountSid) -> SignInPolicy;
}

forward! {
    impl ClientDirectory;
    clients::insert_client(client: &Client) -> ();
    clients::update_client(client: &Client) -> bool;
    clients::delete_client(id: &ClientId) -> bool;
    clients::client(id: &ClientId) -> Option<Client>;
    clients::clients(account: Option<&AccountSid>) -> Vec<Client>;
}

forward! {
    impl ClientRegistrations;
    registrations::insert_registered_client(
        client: &Client,
        registration: &ClientRegistration,
    ) -> ();
    registrations::update_registered_client(
        client: &Client,
        registration: &ClientRegistration,
    ) -> bool;
    registrations::client_registration(id: &ClientId) -> Option<ClientRegistration>;
    registrations::registered_clients(account: Option<&AccountSid>) -> Vec<ClientId>;
    registrations::registration_policy(account: &AccountSid) -> RegistrationPolicy;
    registrations::set_registration_policy(
        account: &AccountSid,
        policy: RegistrationPolicy,
        at: i64,
    ) -> ();
    registrations::insert_initial_access_token(token: &InitialAccessToken) -> ();
    registrations::initial_access_token(digest: &SecretDigest) -> Option<InitialAccessToken>;
    registrations::use_initial_access_token(digest: &SecretDigest, now: i64) -> bool;
    registrations::initial_access_tokens(account: &AccountSid, now: i64) -> Vec<InitialAccessToken>;
    registrations::delete_initial_access_token(account: &AccountSid, digest: &SecretDigest) -> bool;
}

forward! {
    impl ResourceDirectory;
    resources::insert_resource(r: &Resource) -> ();
    resources::resource(sid: &ResourceSid) -> Option<Resource>;
    resources::resource_by_identifier(identifier: &str) -> Option<Resource>;
    resources::resources(account: Option<&AccountSid>) -> Vec<Resource>;
    resources::update_resource(r: &Resource) -> bool;
    resources::delete_resource(sid: &ResourceSid) -> bool;
    resources::set_resource_grant(
        sid: &ResourceSid,
        account: &AccountSid,
        granted: bool,
        at: i64,
    ) -> bool;
}

forward! {
    impl SigningKeys;
    keys::insert_signing_key(key: &StoredKey) -> ();
    keys::signing_keys() -> Vec<StoredKey>;
    keys::delete_signing_key(kid: &str) -> bool;
    keys::update_signing_key(kid: &str, retires_at: Option<i64>, expires_at: Option<i64>) -> bool;
}
