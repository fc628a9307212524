//! Users who sign in on the login page (and, as account administrators, in the console).

use super::validate::{first_problem, user_problems};
use super::{Admin, AdminError, AdminResult, Caller};
use crate::ids::{AccountSid, UserSid};
use crate::model::User;
use crate::store::StoreError;

#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub friendly_name: Option<String>,
    pub account_sid: Option<AccountSid>,
    /// An administrator of the account: may use the console.
    pub admin: bool,
    /// The operator vouches for the address (OpenID Connect `email_verified`).
    pub email_verified: bool,
}

/// Emails are unique across the server (sign-in has no account selector).
pub const EMAIL_TAKEN: &str = "a user with this email address already exists on this server";

impl Admin {
    pub async fn user_by_email(&self, email: &str) -> AdminResult<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }

    /// Creates a user; the password is hashed with Argon2id off the async runtime.
    pub async fn create_user(&self, spec: UserSpec) -> AdminResult<User> {
        let account_sid = self.owning_account(spec.account_sid.clone()).await?;
        first_problem(user_problems(&spec))?;
        let email = spec.email.trim().to_lowercase();
        let password_hash = self.hash_password(spec.password).await?;
        let now = self.clock.now();
        let user = User {
            sid: UserSid::generate(self.rng.as_ref())?,
            account_sid,
            email,
            password_hash,
            first_name: spec.first_name,
            last_name: spec.last_name,
            friendly_name: spec.friendly_name,
            admin: spec.admin,
            email_verified: spec.email_verified,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_user(&user).await {
            Err(StoreError::Conflict(_)) => {
                // The same words whichever account holds the address, and the address is not
                // echoed: the answer does not tell one tenant's users from another's.
                return Err(AdminError::Invalid(EMAIL_TAKEN.into()));
            }
            other => other?,
        }
        self.written().await?;
        self.send_verification(&user).await;
        Ok(user)
    }

    /// Mails a verification link when mail is configured and the address is not vouched for
    /// already. A mail server that is down does not undo the user: the failure is logged and
    /// `resend` is the way to try again.
    async fn send_verification(&self, user: &User) -> bool {
        let Some(room) = &self.mailroom else {
            return false;
        };
        match room.send_verification(user).await {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(user = %user.sid, error = %e, "no verification mail");
                false
            }
        }
    }

    /// Mails the user a new verification link; false when mail is not configured or the
    /// address is verified already.
    pub async fn resend_verification(&self, caller: &Caller, sid: &UserSid) -> AdminResult<bool> {
        let user = self.user_for(caller, sid).await?;
        Ok(self.send_verification(&user).await)
    }

    /// Argon2id with a salt from the injected generator, off the async runtime.
    pub(crate) async fn hash_password(&self, password: String) -> AdminResult<String> {
        let salt: [u8; 16] = crate::clock::random_bytes(self.rng.as_ref())?;
        crate::password::hash_off_runtime(password, salt)
            .await
            .ok_or_else(|| AdminError::Invalid("the password could not be hashed".into()))
    }

    pub async fn users(&self, account: Option<&AccountSid>) -> AdminResult<Vec<User>> {
        Ok(self.store.users(account).await?)
    }

    /// Any user (the operator's view).
    pub async fn user(&self, sid: &UserSid) -> AdminResult<User> {
        self.user_for(&Caller::Operator, sid).await
    }

    /// The user, when it belongs to the caller ([`Caller::owns`]).
    pub async fn user_for(&self, caller: &Caller, sid: &UserSid) -> AdminResult<User> {
        caller.owned(self.store.user(sid).await?, format!("user {sid}"))
    }

    pub async fn delete_user(&self, sid: &UserSid) -> AdminResult<()> {
        if !self.store.delete_user(sid, self.clock.now()).await? {
            return Err(AdminError::NotFound(format!("user {sid}")));
        }
        self.written().await
    }

    /// Marks the user's email address verified (or not), for `email_verified` in id tokens
    /// and userinfo.
    pub async fn set_email_verified(
        &self,
        caller: &Caller,
        sid: &UserSid,
        verified: bool,
    ) -> AdminResult<User> {
        self.user_for(caller, sid).await?;
        if !self
            .store
            .set_user_email_verified(sid, verified, self.clock.now())
            .await?
        {
            return Err(AdminError::NotFound(format!("user {sid}")));
        }
        self.written().await?;
        self.user_for(caller, sid).await
    }

    /// Sets whether the user signs in with a password only, or with a second factor when
    /// one is set up (`optional`), or always (`required`: set up at the next sign-in).
    pub async fn set_sign_in_policy(
        &self,
        caller: &Caller,
        sid: &UserSid,
        policy: crate::model::SignInPolicy,
    ) -> AdminResult<crate::model::SignInSettings> {
        self.user_for(caller, sid).await?;
        let now = self.clock.now();
        self.store.set_sign_in_policy(sid, policy, now).await?;
        Ok(self.store.sign_in_settings(sid).await?)
    }

    /// Sets a new password and ends the user's browser sessions.
    pub async fn reset_password(&self, sid: &UserSid, password: String) -> AdminResult<()> {
        crate::password::check_policy(&password).map_err(AdminError::Invalid)?;
        let hash = self.hash_password(password).await?;
        if !self
            .store
            .set_user_password(sid, &hash, self.clock.now())
            .await?
        {
            return Err(AdminError::NotFound(format!("user {sid}")));
        }
        self.written().await
    }
}
