//! [`SqlStore`]: Tenancy, clients, registrations, resources and signing keys.

use async_trait::async_trait;

use super::{SqlStore, metered};
use crate::grants::Grants;
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

#[async_trait]
impl<G: Grants> ChangeLog for SqlStore<G> {
    fn backend(&self) -> &'static str {
        match self.db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
    async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>> {
        metered("changes_since", changes::changes_since(&self.db, after)).await
    }
    async fn latest_change(&self) -> StoreResult<i64> {
        metered("latest_change", changes::latest_change(&self.db)).await
    }
    async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
        metered("prune_changes", changes::prune_changes(&self.db, before)).await
    }
    async fn watch_changes(&self, wake: Arc<tokio::sync::Notify>) -> StoreResult<()> {
        // Runs for the life of the node: not an operation to time.
        changes::watch_changes(&self.db, wake).await
    }
    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool> {
        metered(
            "try_lease",
            leases::try_lease(&self.db, name, holder, now, until),
        )
        .await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        metered(
            "release_lease",
            leases::release_lease(&self.db, name, holder),
        )
        .await
    }
    async fn prune_expired(&self, now: i64) -> StoreResult<u64> {
        metered("prune_expired", changes::prune_expired(&self.db, now)).await
    }
}

#[async_trait]
impl<G: Grants> Tenancy for SqlStore<G> {
    async fn insert_organization(&self, org: &Organization) -> StoreResult<()> {
        metered(
            "insert_organization",
            accounts::insert_organization(&self.db, org),
        )
        .await
    }
    async fn organization_exists(&self, sid: &OrganizationSid) -> StoreResult<bool> {
        metered(
            "organization_exists",
            accounts::organization_exists(&self.db, sid),
        )
        .await
    }
    async fn insert_account(&self, account: &Account) -> StoreResult<()> {
        metered(
            "insert_account",
            accounts::insert_account(&self.db, account),
        )
        .await
    }
    async fn account(&self, sid: &AccountSid) -> StoreResult<Option<Account>> {
        metered("account", accounts::account(&self.db, sid)).await
    }
    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        metered("accounts", accounts::accounts(&self.db)).await
    }
    async fn count_accounts(&self) -> StoreResult<i64> {
        metered("count_accounts", accounts::count_accounts(&self.db)).await
    }
    async fn set_auth_token(
        &self,
        sid: &AccountSid,
        digest: &SecretDigest,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_auth_token",
            accounts::set_auth_token(&self.db, sid, digest, at),
        )
        .await
    }
    async fn set_account_sign_in_policy(
        &self,
        account: &AccountSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_account_sign_in_policy",
            passkeys::set_account_sign_in_policy(&self.db, account, policy, at),
        )
        .await
    }
    async fn account_sign_in_policy(&self, account: &AccountSid) -> StoreResult<SignInPolicy> {
        metered(
            "account_sign_in_policy",
            passkeys::account_sign_in_policy(&self.db, account),
        )
        .await
    }
}

#[async_trait]
impl<G: Grants> ClientDirectory for SqlStore<G> {
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        metered("insert_client", clients::insert_client(&self.db, client)).await
    }
    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        metered("update_client", clients::update_client(&self.db, client)).await
    }
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        metered("delete_client", clients::delete_client(&self.db, id)).await
    }
    async fn client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        metered("client", clients::client(&self.db, id)).await
    }
    async fn clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Client>> {
        metered("clients", clients::clients(&self.db, account)).await
    }
}

#[async_trait]
impl<G: Grants> ClientRegistrations for SqlStore<G> {
    async fn insert_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<()> {
        let write = registrations::insert_registered_client(&self.db, client, registration);
        metered("insert_registered_client", write).await
    }
    async fn update_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<bool> {
        let write = registrations::update_registered_client(&self.db, client, registration);
        metered("update_registered_client", write).await
    }
    async fn client_registration(&self, id: &ClientId) -> StoreResult<Option<ClientRegistration>> {
        let read = registrations::client_registration(&self.db, id);
        metered("client_registration", read).await
    }
    async fn registered_clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<ClientId>> {
        let read = registrations::registered_clients(&self.db, account);
        metered("registered_clients", read).await
    }
    async fn registration_policy(&self, account: &AccountSid) -> StoreResult<RegistrationPolicy> {
        let read = registrations::registration_policy(&self.db, account);
        metered("registration_policy", read).await
    }
    async fn set_registration_policy(
        &self,
        account: &AccountSid,
        policy: RegistrationPolicy,
        at: i64,
    ) -> StoreResult<()> {
        let write = registrations::set_registration_policy(&self.db, account, policy, at);
        metered("set_registration_policy", write).await
    }
    async fn insert_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()> {
        let write = registrations::insert_initial_access_token(&self.db, token);
        metered("insert_initial_access_token", write).await
    }
    async fn initial_access_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let read = registrations::initial_access_token(&self.db, digest);
        metered("initial_access_token", read).await
    }
    async fn use_initial_access_token(&self, digest: &SecretDigest, now: i64) -> StoreResult<bool> {
        let write = registrations::use_initial_access_token(&self.db, digest, now);
        metered("use_initial_access_token", write).await
    }
    async fn initial_access_tokens(
        &self,
        account: &AccountSid,
        now: i64,
    ) -> StoreResult<Vec<InitialAccessToken>> {
        let read = registrations::initial_access_tokens(&self.db, account, now);
        metered("initial_access_tokens", read).await
    }
    async fn delete_initial_access_token(
        &self,
        account: &AccountSid,
        digest: &SecretDigest,
    ) -> StoreResult<bool> {
        let write = registrations::delete_initial_access_token(&self.db, account, digest);
        metered("delete_initial_access_token", write).await
    }
}

#[async_trait]
impl<G: Grants> ResourceDirectory for SqlStore<G> {
    async fn insert_resource(&self, r: &Resource) -> StoreResult<()> {
        metered("insert_resource", resources::insert_resource(&self.db, r)).await
    }
    async fn resource(&self, sid: &ResourceSid) -> StoreResult<Option<Resource>> {
        metered("resource", resources::resource(&self.db, sid)).await
    }
    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>> {
        let found = resources::resource_by_identifier(&self.db, identifier);
        metered("resource_by_identifier", found).await
    }
    async fn resources(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Resource>> {
        metered("resources", resources::resources(&self.db, account)).await
    }
    async fn update_resource(&self, r: &Resource) -> StoreResult<bool> {
        metered("update_resource", resources::update_resource(&self.db, r)).await
    }
    async fn delete_resource(&self, sid: &ResourceSid) -> StoreResult<bool> {
        metered("delete_resource", resources::delete_resource(&self.db, sid)).await
    }
    async fn set_resource_grant(
        &self,
        sid: &ResourceSid,
        account: &AccountSid,
        granted: bool,
        at: i64,
    ) -> StoreResult<bool> {
        let write = resources::set_resource_grant(&self.db, sid, account, granted, at);
        metered("set_resource_grant", write).await
    }
}

#[async_trait]
impl<G: Grants> SigningKeys for SqlStore<G> {
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()> {
        metered(
            "insert_signing_key",
            keys::insert_signing_key(&self.db, key),
        )
        .await
    }
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        metered("signing_keys", keys::signing_keys(&self.db)).await
    }
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        metered(
            "delete_signing_key",
            keys::delete_signing_key(&self.db, kid),
        )
        .await
    }
    async fn update_signing_key(
        &self,
        kid: &str,
        retires_at: Option<i64>,
        expires_at: Option<i64>,
    ) -> StoreResult<bool> {
        metered(
            "update_signing_key",
            keys::update_signing_key(&self.db, kid, retires_at, expires_at),
        )
        .await
    }
}
