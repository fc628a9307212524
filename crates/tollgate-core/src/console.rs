//! What the console needs beyond the CLI's operations: an account's overview and sessions,
//! password resets, and lookups scoped to one account, so an account's administrator never
//! reaches another account's data (another account's record answers as not found).

use crate::activity::Issued;
use crate::admin::{Admin, AdminError, AdminResult};
use crate::engine::Engine;
use crate::ids::{AccountSid, ClientId, UserSid};
use crate::keys::StoredKey;
use crate::model::{ActiveRefreshFamily, Client, User};

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
    /// The account's own app.
    pub async fn account_client(&self, account: &AccountSid, id: &ClientId) -> AdminResult<Client> {
        match self.store.client(id).await? {
            Some(c) if &c.account_sid == account => Ok(c),
            _ => Err(AdminError::NotFound(format!("client {id}"))),
        }
    }

    /// The account's own user.
    pub async fn account_user(&self, account: &AccountSid, sid: &UserSid) -> AdminResult<User> {
        match self.store.user(sid).await? {
            Some(u) if &u.account_sid == account => Ok(u),
            _ => Err(AdminError::NotFound(format!("user {sid}"))),
        }
    }

    /// Sets a new password and ends the user's browser sessions.
    pub async fn reset_password(&self, sid: &UserSid, password: String) -> AdminResult<()> {
        crate::password::check_policy(&password).map_err(AdminError::Invalid)?;
        let hash = self.hash_password(password).await?;
        if self
            .store
            .set_user_password(sid, &hash, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("user {sid}")))
        }
    }

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
        self.account_client(account, &family.client_id)
            .await
            .map_err(|_| not_found())?;
        self.store
            .revoke_refresh_family(family_id, self.clock.now())
            .await?;
        Ok(())
    }
}
