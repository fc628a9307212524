//! The persistence contract. Every write that other nodes must see also appends a [`Change`]
//! in the same transaction.

use async_trait::async_trait;

use crate::ids::{AccountSid, ClientId};
use crate::keys::StoredKey;
use crate::model::{Account, Change, Client, Organization};
use crate::secret::SecretDigest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record already exists: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `--json` output.
    fn backend(&self) -> &'static str;

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

    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    /// Replaces every mutable field; false when the client does not exist.
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool>;
    async fn client(&self, id: &ClientId) -> StoreResult<Option<Client>>;
    /// All clients, or those of one account, oldest first.
    async fn clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Client>>;

    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;

    /// Changes with `seq > after`, in order.
    async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>>;
    async fn latest_change(&self) -> StoreResult<i64>;
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;
}
