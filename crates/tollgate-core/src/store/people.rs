//! Users, email links, browser sessions, consents, second factors and passkeys.

use async_trait::async_trait;

use crate::ids::{AccountSid, ClientId, UserSid};
use crate::model::{BrowserSession, SignInPolicy, SignInSettings, StoredPasskey, User};
use crate::secret::SecretDigest;

use super::StoreResult;

/// Users and their profiles.
#[async_trait]
pub trait UserDirectory: Send + Sync + 'static {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user(&self, sid: &UserSid) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn users(&self, account: Option<&AccountSid>) -> StoreResult<Vec<User>>;
    /// Deletes the user with its sessions and consents and revokes its refresh families.
    async fn delete_user(&self, sid: &UserSid, at: i64) -> StoreResult<bool>;
    /// Replaces the password hash and ends the user's browser sessions; false when no such user.
    async fn set_user_password(
        &self,
        sid: &UserSid,
        password_hash: &str,
        at: i64,
    ) -> StoreResult<bool>;
    /// Replaces the user's email address, names and administrator flag; false when no such
    /// user, `Conflict` when another user has the address.
    async fn update_user_profile(&self, user: &User, at: i64) -> StoreResult<bool>;
    /// Marks the user's email address verified or not; false when no such user.
    async fn set_user_email_verified(
        &self,
        sid: &UserSid,
        verified: bool,
        at: i64,
    ) -> StoreResult<bool>;
}

/// Single-use email links.
#[async_trait]
pub trait EmailTokens: Send + Sync + 'static {
    /// Stores a single-use email link (its digest only).
    async fn insert_email_token(&self, token: &crate::mail::EmailToken) -> StoreResult<()>;
    async fn email_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<crate::mail::EmailToken>>;
    /// Spends an unused, unexpired link made for `purpose`, in one statement (whichever node
    /// sees it first); `None` otherwise.
    async fn use_email_token(
        &self,
        digest: &SecretDigest,
        purpose: crate::mail::EmailPurpose,
        now: i64,
    ) -> StoreResult<Option<crate::mail::EmailToken>>;
}

/// Browser sessions and the clients each signed in to (logout).
#[async_trait]
pub trait BrowserSessions: Send + Sync + 'static {
    async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()>;
    async fn session(&self, digest: &SecretDigest) -> StoreResult<Option<BrowserSession>>;
    async fn touch_session(&self, digest: &SecretDigest, at: i64) -> StoreResult<()>;
    async fn delete_session(&self, digest: &SecretDigest) -> StoreResult<()>;
    /// The user's unexpired browser sessions, newest first.
    async fn user_sessions(&self, user: &UserSid, now: i64) -> StoreResult<Vec<BrowserSession>>;
    /// Ends every session of the user but `keep`; returns how many ended.
    async fn delete_user_sessions(
        &self,
        user: &UserSid,
        keep: Option<&SecretDigest>,
    ) -> StoreResult<u64>;
    /// Records that a browser session signed in to a client (OpenID Connect logout).
    async fn insert_session_client(&self, link: &crate::model::SessionClient) -> StoreResult<()>;
    /// The clients a browser session signed in to (by its `sid`), oldest first.
    async fn session_clients(
        &self,
        session_sid: &str,
    ) -> StoreResult<Vec<crate::model::SessionClient>>;
    /// The `sid` of the browser session a refresh family started from, if any.
    async fn family_session(&self, family_id: &str) -> StoreResult<Option<String>>;
}

/// What users consented to.
#[async_trait]
pub trait Consents: Send + Sync + 'static {
    async fn consent(&self, user: &UserSid, client: &ClientId) -> StoreResult<Option<Vec<String>>>;
    async fn put_consent(
        &self,
        user: &UserSid,
        client: &ClientId,
        scopes: &[String],
        at: i64,
    ) -> StoreResult<()>;
    /// The apps the user consented to: client, scopes and when, newest first.
    async fn user_consents(&self, user: &UserSid)
    -> StoreResult<Vec<(ClientId, Vec<String>, i64)>>;
    /// Withdraws the user's consent to `client` and revokes the refresh families the client
    /// holds for the user; false when there was neither.
    async fn revoke_user_grant(
        &self,
        user: &UserSid,
        client: &ClientId,
        at: i64,
    ) -> StoreResult<bool>;
}

/// Second factors and how each sign-in was made (`amr`).
#[async_trait]
pub trait SignInFactors: Send + Sync + 'static {
    /// The user's sign-in settings (the defaults when none are stored).
    async fn sign_in_settings(&self, user: &UserSid) -> StoreResult<SignInSettings>;
    async fn set_sign_in_policy(
        &self,
        user: &UserSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<()>;
    /// Sets (or with `None` removes) the sealed RFC 6238 secret, with `last_step` already
    /// used, and replaces the recovery codes with these digests, in one transaction.
    async fn set_totp(
        &self,
        user: &UserSid,
        sealed: Option<&str>,
        last_step: i64,
        recovery_digests: &[String],
        at: i64,
    ) -> StoreResult<()>;
    /// Accepts a time step later than the last accepted one and clears the failures; false
    /// when it is not later (a replayed code).
    async fn accept_totp_step(&self, user: &UserSid, step: i64, at: i64) -> StoreResult<bool>;
    /// Spends an unused recovery code by digest; false when unknown or already used.
    async fn use_recovery_code(&self, user: &UserSid, digest: &str, at: i64) -> StoreResult<bool>;
    /// Counts a failed second-factor attempt; the `limit`th locks until `lock_until`.
    async fn second_factor_failed(
        &self,
        user: &UserSid,
        limit: i64,
        lock_until: i64,
        at: i64,
    ) -> StoreResult<()>;
    /// Records how the sign-in behind an authorization code was made (`amr`).
    async fn insert_code_authn(
        &self,
        code: &SecretDigest,
        amr: &[String],
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn code_authn(&self, code: &SecretDigest) -> StoreResult<Option<Vec<String>>>;
    /// Records the sign-in behind an authorization code with the browser session it came from.
    async fn insert_code_sign_in(
        &self,
        code: &SecretDigest,
        sign_in: &crate::model::CodeSignIn,
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn code_sign_in(
        &self,
        code: &SecretDigest,
    ) -> StoreResult<Option<crate::model::CodeSignIn>>;
    /// Records how the sign-in behind a refresh family was made (`amr`).
    async fn insert_family_authn(&self, family_id: &str, amr: &[String]) -> StoreResult<()>;
    async fn family_authn(&self, family_id: &str) -> StoreResult<Option<Vec<String>>>;
}

/// WebAuthn passkeys.
#[async_trait]
pub trait Passkeys: Send + Sync + 'static {
    /// Registers a passkey; false when its credential id is already registered (to anyone).
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<bool>;
    /// A user's passkeys, oldest first.
    async fn passkeys(&self, user: &UserSid) -> StoreResult<Vec<StoredPasskey>>;
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>>;
    /// Records a sign-in with a passkey: its updated credential (counter, backup state).
    async fn passkey_used(&self, passkey: &StoredPasskey, at: i64) -> StoreResult<()>;
    /// Removes one of `user`'s passkeys; false when they have none by that id.
    async fn delete_passkey(&self, user: &UserSid, credential_id: &str) -> StoreResult<bool>;
}
