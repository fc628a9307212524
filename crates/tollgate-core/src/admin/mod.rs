//! Administrative operations shared by the CLI, the account admin API and the console: one
//! service for accounts, clients, users and signing keys, with one tenancy rule ([`Caller`]).

mod accounts;
mod clients;
mod document_client;
mod keys;
mod registration;
mod registration_console;
mod registration_metadata;
mod resources;
mod transfer;
mod users;
mod validate;

use std::sync::Arc;

use crate::clock::{Clock, Rng};
use crate::engine::Engine;
use crate::fetch::FetchPolicy;
use crate::ids::AccountSid;
use crate::keys::KeySealer;
use crate::model::{Client, User};
use crate::secret::Secret;
use crate::store::{Store, StoreError};

pub use clients::{ClientPatch, ClientSpec};
pub use document_client::document_client_id;
pub use registration::{
    DEFAULT_CLIENT_NAME, Registered, Registrant, RegistrationError, RegistrationResult,
    RegistrationSettings, issued_token_view,
};
pub use registration_metadata::{ClientMetadata, MetadataError, MetadataErrorCode, parse_metadata};
pub use resources::ResourceSpec;
pub use transfer::{AccountExport, EXPORT_FORMAT, ImportReport};
pub use users::{EMAIL_TAKEN, UserSpec};
pub use validate::{
    FieldError, MAX_ACCESS_TOKEN_TTL, client_problems, redirect_uri_allowed, user_problems,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Rng(#[from] crate::clock::RngError),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Who asks: the operator (the CLI reaches every account) or one account (the admin API and
/// the console reach only their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Operator,
    Account(AccountSid),
}

impl Caller {
    /// The one tenancy rule: a record belongs to the caller when the caller is the operator or
    /// the record's own account. Another account's record answers as not found, never as
    /// forbidden, so a caller cannot learn that it exists.
    pub fn owns(&self, owner: &AccountSid) -> bool {
        match self {
            Caller::Operator => true,
            Caller::Account(account) => account == owner,
        }
    }

    /// The record found, when the caller [`owns`](Self::owns) it; else `what` not found.
    pub fn owned<T: Owned>(&self, found: Option<T>, what: String) -> AdminResult<T> {
        match found {
            Some(record) if self.owns(record.owner()) => Ok(record),
            _ => Err(AdminError::NotFound(what)),
        }
    }

    /// The account a listing is limited to (`None`: every account).
    pub fn scope(&self) -> Option<&AccountSid> {
        match self {
            Caller::Operator => None,
            Caller::Account(account) => Some(account),
        }
    }
}

/// A record that belongs to one account.
pub trait Owned {
    fn owner(&self) -> &AccountSid;
}

impl Owned for Client {
    fn owner(&self) -> &AccountSid {
        &self.account_sid
    }
}

impl Owned for User {
    fn owner(&self) -> &AccountSid {
        &self.account_sid
    }
}

pub struct Admin {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    /// Seals `client_secret_jwt` secrets; without it such clients cannot be created.
    sealer: Option<Arc<KeySealer>>,
    /// The node whose in-memory directory a write updates before it returns; the CLI has none
    /// (running nodes follow the change log).
    node: Option<Arc<Engine>>,
    /// What a `jwks_uri` must satisfy: the server's outbound policy, else the strict default.
    outbound: FetchPolicy,
    /// The default audience, never registered as a resource (`None`: not configured).
    issuer: Option<String>,
    /// Mails verification links for new users' addresses (`None`: no mail from here).
    mailroom: Option<crate::mail::Mailroom>,
}

impl Engine {
    /// Administrative operations whose writes reach this node's directory before they return,
    /// so a caller never needs to `sync` after them.
    pub fn node_admin(self: &Arc<Self>) -> Admin {
        let mut admin = self.admin();
        admin.node = Some(Arc::clone(self));
        admin
    }
}

impl Admin {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, rng: Arc<dyn Rng>) -> Self {
        Self {
            store,
            clock,
            rng,
            sealer: None,
            node: None,
            outbound: FetchPolicy::default(),
            issuer: None,
            mailroom: None,
        }
    }

    /// The issuer (the default audience), which clients may name and nobody may register.
    pub fn with_issuer(mut self, issuer: Option<String>) -> Self {
        self.issuer = issuer.map(|i| i.trim_end_matches('/').to_owned());
        self
    }

    pub fn with_mailroom(mut self, mailroom: crate::mail::Mailroom) -> Self {
        self.mailroom = Some(mailroom);
        self
    }

    pub fn with_outbound_policy(mut self, policy: FetchPolicy) -> Self {
        self.outbound = policy;
        self
    }

    /// A `jwks_uri` must pass the outbound policy's static part (DESIGN section 14).
    pub(crate) fn check_jwks_uri(&self, uri: Option<&str>) -> AdminResult<()> {
        match uri.map(|u| self.outbound.check_url(u)) {
            Some(Err(e)) => Err(AdminError::Invalid(format!("jwks_uri {e}"))),
            _ => Ok(()),
        }
    }

    /// A back-channel logout URI must be one the outbound fetcher will POST to.
    pub(crate) fn check_backchannel_uri(&self, uri: Option<&str>) -> AdminResult<()> {
        match uri.map(|u| (u, self.outbound.check_url(u))) {
            Some((_, Err(e))) => Err(AdminError::Invalid(format!("backchannel_logout_uri {e}"))),
            Some((u, Ok(parsed))) if parsed.fragment().is_some() || u.len() > 2000 => Err(
                AdminError::Invalid("backchannel_logout_uri must have no fragment".into()),
            ),
            _ => Ok(()),
        }
    }

    pub fn with_sealer(mut self, sealer: Arc<KeySealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Called after every write: applies the change log to the caller's node, if any.
    async fn written(&self) -> AdminResult<()> {
        if let Some(engine) = &self.node {
            engine.sync().await?;
        }
        Ok(())
    }

    /// A random secret from this administrator's generator (demo passwords).
    pub fn generate_secret(&self) -> AdminResult<Secret> {
        Ok(Secret::generate(self.rng.as_ref())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(last: char) -> AccountSid {
        AccountSid::parse(&format!("AC0123456789abcdef0123456789abcde{last}")).unwrap()
    }

    #[test]
    fn an_account_owns_only_its_own_records() {
        let (mine, theirs) = (sid('1'), sid('2'));
        let me = Caller::Account(mine.clone());
        assert!(me.owns(&mine));
        assert!(!me.owns(&theirs));
        assert!(Caller::Operator.owns(&theirs));
        assert_eq!(me.scope(), Some(&mine));
        assert_eq!(Caller::Operator.scope(), None);
    }
}
