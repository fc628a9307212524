//! What the console needs beyond the CLI's operations: an account's overview and sessions.
//! Lookups scoped to one account go through [`Caller`], like every admin operation.

use crate::activity::Issued;
use crate::admin::{Admin, AdminError, AdminResult, Caller};
use crate::engine::Engine;
use crate::ids::AccountSid;
use crate::keys::StoredKey;
use crate::model::ActiveRefreshFamily;

/// The most sessions the console lists at once.
pub const SESSION_LIST_LIMIT: i64 = 500;

/// One account at a glance.
#[derive(Debug, Clone)]
pub struct Overview {
    pub apps: usize,
    pub users: usize,
    pub admins: usize,
    /// Tokens this node issued to the account's apps.
    pub issued: Issued,
    pub active_refresh_families: i64,
    /// The server's signing keys (shared by every account), newest first.
    pub keys: Vec<StoredKey>,
}

impl Engine {
    pub async fn overview(&self, account: &AccountSid) -> AdminResult<Overview> {
        let now = self.clock.now();
        let users = self.store.users(Some(account)).await?;
        let mut keys = self.store.signing_keys().await?;
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        Ok(Overview {
            apps: self.store.clients(Some(account)).await?.len(),
            users: users.len(),
            admins: users.iter().filter(|u| u.admin).count(),
            issued: self.issued.counts(account, now),
            active_refresh_families: self
                .store
                .count_active_refresh_families(account, now)
                .await?,
            keys,
        })
    }
}

impl Admin {
    /// The account's refresh families that can still mint tokens, most recently used first.
    pub async fn active_sessions(
        &self,
        account: &AccountSid,
    ) -> AdminResult<Vec<ActiveRefreshFamily>> {
        Ok(self
            .store
            .active_refresh_families(account, self.clock.now(), SESSION_LIST_LIMIT)
            .await?)
    }

    /// Revokes one of the account's refresh families (every token in it stops working).
    pub async fn revoke_session(&self, account: &AccountSid, family_id: &str) -> AdminResult<()> {
        let not_found = || AdminError::NotFound("session".into());
        let family = self
            .store
            .refresh_family(family_id)
            .await?
            .ok_or_else(not_found)?;
        self.client_for(&Caller::Account(account.clone()), &family.client_id)
            .await
            .map_err(|_| not_found())?;
        self.store
            .revoke_refresh_family(family_id, self.clock.now())
            .await?;
        Ok(())
    }
}
