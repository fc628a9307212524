//! The persistence contract. Every write that other nodes must see also appends a [`Change`](crate::model::Change)
//! in the same transaction.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record already exists: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Backend(String),
    /// The database cannot be reached (down, restarting, read-only, out of space): callers
    /// answer 503 and retry later, nothing is half-written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

mod directory;
mod grants;
mod people;

pub use directory::{
    ChangeLog, ClientDirectory, ClientRegistrations, ResourceDirectory, SigningKeys, Tenancy,
};
pub use grants::{AccessTokens, AuthorizationCodes, DeviceGrants, PushedRequests, RefreshFamilies};
pub use people::{BrowserSessions, Consents, EmailTokens, Passkeys, SignInFactors, UserDirectory};

/// All the storage the server uses: every narrow trait of this module. A grant or service that needs
/// less names only the traits it reads and writes; a store implements each of them and then
/// `Store` itself (with an empty `impl`).
pub trait Store:
    ChangeLog
    + Tenancy
    + ClientDirectory
    + ClientRegistrations
    + ResourceDirectory
    + SigningKeys
    + UserDirectory
    + EmailTokens
    + BrowserSessions
    + Consents
    + SignInFactors
    + Passkeys
    + AuthorizationCodes
    + RefreshFamilies
    + AccessTokens
    + DeviceGrants
    + PushedRequests
{
}

/// The store traits, for code generic over a store (methods called on `dyn Store` need no
/// import).
pub mod prelude {
    pub use super::{
        AccessTokens, AuthorizationCodes, BrowserSessions, ChangeLog, ClientDirectory,
        ClientRegistrations, Consents, DeviceGrants, EmailTokens, Passkeys, PushedRequests,
        RefreshFamilies, ResourceDirectory, SignInFactors, SigningKeys, Store, StoreError,
        StoreResult, Tenancy, UserDirectory,
    };
}
