//! Accounts and organizations.

use super::validate::check_text;
use super::{Admin, AdminError, AdminResult, Caller};
use crate::ids::{AccountSid, OrganizationSid};
use crate::model::{Account, Organization, SignInPolicy};
use crate::secret::Secret;

impl Admin {
    /// Creates an account, in `organization` or in a new organization of its own.
    pub async fn create_account(
        &self,
        friendly_name: Option<String>,
        organization: Option<OrganizationSid>,
    ) -> AdminResult<(Account, Secret)> {
        let now = self.clock.now();
        let friendly_name = friendly_name.unwrap_or_else(|| "Tollgate account".to_owned());
        check_text("friendly name", &friendly_name)?;
        let organization_sid = match organization {
            Some(sid) => {
                if !self.store.organization_exists(&sid).await? {
                    return Err(AdminError::NotFound(format!("organization {sid}")));
                }
                sid
            }
            None => {
                let org = Organization {
                    sid: OrganizationSid::generate(self.rng.as_ref())?,
                    friendly_name: friendly_name.clone(),
                    created_at: now,
                };
                self.store.insert_organization(&org).await?;
                org.sid
            }
        };
        let token = Secret::generate(self.rng.as_ref())?;
        let account = Account {
            sid: AccountSid::generate(self.rng.as_ref())?,
            organization_sid,
            friendly_name,
            auth_token_digest: token.digest(),
            created_at: now,
        };
        self.store.insert_account(&account).await?;
        self.written().await?;
        Ok((account, token))
    }

    /// On an empty database, creates the default organization and account.
    pub async fn bootstrap(&self) -> AdminResult<Option<(Account, Secret)>> {
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        self.create_account(Some("Default account".to_owned()), None)
            .await
            .map(Some)
    }

    pub async fn accounts(&self) -> AdminResult<Vec<Account>> {
        Ok(self.store.accounts().await?)
    }

    pub async fn account(&self, sid: &AccountSid) -> AdminResult<Account> {
        self.store
            .account(sid)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("account {sid}")))
    }

    /// The given account when it exists, else the only account (the CLI's `--account`).
    pub(super) async fn owning_account(&self, sid: Option<AccountSid>) -> AdminResult<AccountSid> {
        match sid {
            Some(sid) => {
                self.account(&sid).await?;
                Ok(sid)
            }
            None => self.default_account().await,
        }
    }

    pub async fn rotate_auth_token(&self, sid: &AccountSid) -> AdminResult<(Account, Secret)> {
        let token = Secret::generate(self.rng.as_ref())?;
        if !self
            .store
            .set_auth_token(sid, &token.digest(), self.clock.now())
            .await?
        {
            return Err(AdminError::NotFound(format!("account {sid}")));
        }
        self.written().await?;
        Ok((self.account(sid).await?, token))
    }

    /// The only account, when there is exactly one; the CLI's default for `--account`.
    pub async fn default_account(&self) -> AdminResult<AccountSid> {
        let accounts = self.store.accounts().await?;
        match accounts.as_slice() {
            [one] => Ok(one.sid.clone()),
            [] => Err(AdminError::Invalid(
                "there is no account yet: start the server once or run `tollgate account create`"
                    .into(),
            )),
            _ => Err(AdminError::Invalid(
                "there are several accounts: choose one with --account AC…".into(),
            )),
        }
    }
}

impl Admin {
    /// The account's sign-in policy: `password` (no second factor), `optional` (asked for
    /// once set up) or `required` (set up at the next sign-in). A user's own `required`
    /// is stricter still.
    pub async fn sign_in_policy(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
    ) -> AdminResult<(AccountSid, SignInPolicy)> {
        let account = self.policy_account(caller, account).await?;
        let policy = self.store.account_sign_in_policy(&account).await?;
        Ok((account, policy))
    }

    pub async fn set_account_sign_in_policy(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
        policy: SignInPolicy,
    ) -> AdminResult<AccountSid> {
        let account = self.policy_account(caller, account).await?;
        if !self
            .store
            .set_account_sign_in_policy(&account, policy, self.clock.now())
            .await?
        {
            return Err(AdminError::NotFound(format!("account {account}")));
        }
        Ok(account)
    }
}
