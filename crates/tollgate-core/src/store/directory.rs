//! Tenancy, clients, registrations, resources, signing keys and the change log.

use async_trait::async_trait;

use crate::ids::{AccountSid, ClientId, ResourceSid};
use crate::keys::StoredKey;
use crate::model::{
    Account, Change, Client, ClientRegistration, InitialAccessToken, Organization,
    RegistrationPolicy, Resource, SignInPolicy,
};
use crate::secret::SecretDigest;

use super::StoreResult;

/// The change log other nodes replay, leases, pruning and the backend's name.
#[async_trait]
pub trait ChangeLog: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `--json` output.
    fn backend(&self) -> &'static str;
    /// Changes with `seq > after`, in order.
    async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>>;
    async fn latest_change(&self) -> StoreResult<i64>;
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
    /// Wakes `wake` whenever another node may have written a change (PostgreSQL NOTIFY).
    /// Returns at once where the backend cannot push; the caller then polls.
    async fn watch_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }
    /// Takes the named lease until `until` unless another holder has it unexpired; true when
    /// taken. Serializes work that must happen once across nodes (key rotation).
    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    /// Deletes expired codes, sessions, refresh tokens and revocations.
    async fn prune_expired(&self, now: i64) -> StoreResult<u64>;
}

/// Organizations and accounts.
#[async_trait]
pub trait Tenancy: Send + Sync + 'static {
    async fn insert_organization(&self, org: &Organization) -> StoreResult<()>;
    async fn organization_exists(&self, sid: &crate::ids::OrganizationSid) -> StoreResult<bool>;
    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn account(&self, sid: &AccountSid) -> StoreResult<Option<Account>>;
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    async fn count_accounts(&self) -> StoreResult<i64>;
    /// Returns false when no such account exists.
    async fn set_auth_token(
        &self,
        sid: &AccountSid,
        digest: &SecretDigest,
        at: i64,
    ) -> StoreResult<bool>;
    /// Sets an account's sign-in policy; false when there is no such account.
    async fn set_account_sign_in_policy(
        &self,
        account: &AccountSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<bool>;
    async fn account_sign_in_policy(&self, account: &AccountSid) -> StoreResult<SignInPolicy>;
}

/// Registered clients.
#[async_trait]
pub trait ClientDirectory: Send + Sync + 'static {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    /// Replaces every mutable field; false when the client does not exist.
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool>;
    async fn client(&self, id: &ClientId) -> StoreResult<Option<Client>>;
    /// All clients, or those of one account, oldest first.
    async fn clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Client>>;
}

/// Dynamic client registration (RFC 7591/7592): records, policy and initial access tokens.
#[async_trait]
pub trait ClientRegistrations: Send + Sync + 'static {
    /// RFC 7591: the client and its registration record in one transaction.
    async fn insert_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<()>;
    /// RFC 7592 update of both; false when the client (or its registration) is gone.
    async fn update_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<bool>;
    async fn client_registration(&self, id: &ClientId) -> StoreResult<Option<ClientRegistration>>;
    /// The dynamically registered clients of one account (or all), by id.
    async fn registered_clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<ClientId>>;
    /// The account's policy; `Off` when never set.
    async fn registration_policy(&self, account: &AccountSid) -> StoreResult<RegistrationPolicy>;
    async fn set_registration_policy(
        &self,
        account: &AccountSid,
        policy: RegistrationPolicy,
        at: i64,
    ) -> StoreResult<()>;
    async fn insert_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()>;
    async fn initial_access_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<InitialAccessToken>>;
    /// Spends one use of an unexpired token atomically; false when none is left.
    async fn use_initial_access_token(&self, digest: &SecretDigest, now: i64) -> StoreResult<bool>;
    /// The account's initial access tokens that are neither expired nor used up.
    async fn initial_access_tokens(
        &self,
        account: &AccountSid,
        now: i64,
    ) -> StoreResult<Vec<InitialAccessToken>>;
    /// Revokes one of the account's initial access tokens; false when there is no such token.
    async fn delete_initial_access_token(
        &self,
        account: &AccountSid,
        digest: &SecretDigest,
    ) -> StoreResult<bool>;
}

/// Protected resources (audiences) and the accounts granted them.
#[async_trait]
pub trait ResourceDirectory: Send + Sync + 'static {
    /// Conflict when the identifier is registered already.
    async fn insert_resource(&self, resource: &Resource) -> StoreResult<()>;
    async fn resource(&self, sid: &ResourceSid) -> StoreResult<Option<Resource>>;
    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>>;
    /// All resources, or those of one account, oldest first, with their grants.
    async fn resources(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Resource>>;
    /// Replaces the resource's name and scopes (logged for other nodes); false when it does
    /// not exist.
    async fn update_resource(&self, resource: &Resource) -> StoreResult<bool>;
    /// Deletes the resource with its grants; false when it does not exist.
    async fn delete_resource(&self, sid: &ResourceSid) -> StoreResult<bool>;
    /// Grants (`granted`) or revokes `account`'s use of the resource; false when that was
    /// already so.
    async fn set_resource_grant(
        &self,
        sid: &ResourceSid,
        account: &AccountSid,
        granted: bool,
        at: i64,
    ) -> StoreResult<bool>;
}

/// The server's signing keys.
#[async_trait]
pub trait SigningKeys: Send + Sync + 'static {
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;
    async fn update_signing_key(
        &self,
        kid: &str,
        retires_at: Option<i64>,
        expires_at: Option<i64>,
    ) -> StoreResult<bool>;
}
