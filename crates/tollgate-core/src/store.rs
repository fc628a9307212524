//! The persistence contract. Every write that other nodes must see also appends a [`Change`]
//! in the same transaction.

use async_trait::async_trait;

use crate::ids::{AccountSid, ClientId, ResourceSid, UserSid};
use crate::keys::StoredKey;
use crate::model::{
    Account, ActiveRefreshFamily, AuthorizationCode, BrowserSession, Change, Client,
    CodeRedemption, DeviceGrant, DeviceStatus, OpaqueAccessToken, Organization,
    PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken, Resource,
    SignInPolicy, SignInSettings, User,
};
use crate::model::{ClientRegistration, InitialAccessToken, RegistrationPolicy, StoredPasskey};
use crate::secret::SecretDigest;

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

    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;

    /// Changes with `seq > after`, in order.
    async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>>;
    async fn latest_change(&self) -> StoreResult<i64>;
    async fn prune_changes(&self, before: i64) -> StoreResult<u64>;

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
    /// Revokes every refresh token family of the user; returns how many.
    async fn revoke_user_refresh_families(&self, user: &UserSid, at: i64) -> StoreResult<u64>;

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
    /// Records that a browser session signed in to a client (OpenID Connect logout).
    async fn insert_session_client(&self, link: &crate::model::SessionClient) -> StoreResult<()>;
    /// The clients a browser session signed in to (by its `sid`), oldest first.
    async fn session_clients(
        &self,
        session_sid: &str,
    ) -> StoreResult<Vec<crate::model::SessionClient>>;
    /// The `sid` of the browser session a refresh family started from, if any.
    async fn family_session(&self, family_id: &str) -> StoreResult<Option<String>>;

    /// Records how the sign-in behind a refresh family was made (`amr`).
    async fn insert_family_authn(&self, family_id: &str, amr: &[String]) -> StoreResult<()>;
    async fn family_authn(&self, family_id: &str) -> StoreResult<Option<Vec<String>>>;

    /// Registers a passkey; false when its credential id is already registered (to anyone).
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<bool>;
    /// A user's passkeys, oldest first.
    async fn passkeys(&self, user: &UserSid) -> StoreResult<Vec<StoredPasskey>>;
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>>;
    /// Records a sign-in with a passkey: its updated credential (counter, backup state).
    async fn passkey_used(&self, passkey: &StoredPasskey, at: i64) -> StoreResult<()>;
    /// Removes one of `user`'s passkeys; false when they have none by that id.
    async fn delete_passkey(&self, user: &UserSid, credential_id: &str) -> StoreResult<bool>;
    /// Sets an account's sign-in policy; false when there is no such account.
    async fn set_account_sign_in_policy(
        &self,
        account: &AccountSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<bool>;
    async fn account_sign_in_policy(&self, account: &AccountSid) -> StoreResult<SignInPolicy>;

    async fn consent(&self, user: &UserSid, client: &ClientId) -> StoreResult<Option<Vec<String>>>;
    async fn put_consent(
        &self,
        user: &UserSid,
        client: &ClientId,
        scopes: &[String],
        at: i64,
    ) -> StoreResult<()>;

    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// Reads a code without spending it (its client binding is checked first).
    async fn authorization_code(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks a code used, recording what its redemption will issue, in one atomic step.
    async fn redeem_code(
        &self,
        digest: &SecretDigest,
        at: i64,
        family_id: Option<&str>,
        access_jti: &str,
        access_expires_at: i64,
    ) -> StoreResult<CodeRedemption>;

    /// Starts a family with its first token.
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()>;
    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily)>>;
    /// The same with the family's user, in one read (the rotation hot path).
    async fn refresh_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>>;
    /// In one transaction: marks `old` used (keeping the time of its first use) and stores
    /// `next` as its successor, retiring any earlier successor so one branch lives; when `old`
    /// was first used more than `grace` seconds ago, was itself retired, or its successor was
    /// already used, revokes the family instead.
    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> StoreResult<RefreshRotation>;
    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> StoreResult<bool>;
    async fn refresh_family(&self, family_id: &str) -> StoreResult<Option<RefreshFamily>>;
    /// The account's families that can still mint tokens at `now` (unrevoked, with a live
    /// token), most recently used first, at most `limit`.
    async fn active_refresh_families(
        &self,
        account: &AccountSid,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<ActiveRefreshFamily>>;
    async fn count_active_refresh_families(
        &self,
        account: &AccountSid,
        now: i64,
    ) -> StoreResult<i64>;

    /// Records the revocation and logs it for other nodes' in-memory sets.
    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()>;
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Every revoked access token that has not expired at `now`: `(jti, expires_at)`.
    async fn revoked_access_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>>;

    /// Takes the named lease until `until` unless another holder has it unexpired; true when
    /// taken. Serializes work that must happen once across nodes (key rotation).
    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// Wakes `wake` whenever another node may have written a change (PostgreSQL NOTIFY).
    /// Returns at once where the backend cannot push; the caller then polls.
    async fn watch_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }

    /// Deletes expired codes, sessions, refresh tokens and revocations.
    async fn prune_expired(&self, now: i64) -> StoreResult<u64>;

    async fn update_signing_key(
        &self,
        kid: &str,
        retires_at: Option<i64>,
        expires_at: Option<i64>,
    ) -> StoreResult<bool>;

    /// Conflict when the user code is taken.
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()>;
    async fn device_grant(&self, digest: &SecretDigest) -> StoreResult<Option<DeviceGrant>>;
    async fn device_grant_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>>;
    /// Approves or denies a pending grant; false when it is no longer pending.
    async fn decide_device_grant(
        &self,
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> StoreResult<bool>;
    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        at: i64,
        interval: i64,
    ) -> StoreResult<()>;
    /// Moves an approved grant to consumed; false when another poll got there first.
    async fn consume_device_grant(
        &self,
        digest: &SecretDigest,
        device_id: Option<&str>,
    ) -> StoreResult<bool>;

    async fn insert_opaque_token(&self, token: &OpaqueAccessToken) -> StoreResult<()>;
    async fn opaque_token(&self, digest: &SecretDigest) -> StoreResult<Option<OpaqueAccessToken>>;
    async fn revoke_opaque_token(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool>;

    /// Records a single-use identifier until `expires_at`; false when it is already recorded
    /// and unexpired at `now` (a replay), on whichever node it was first seen.
    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool>;

    async fn insert_pushed_request(&self, r: &PushedAuthorizationRequest) -> StoreResult<()>;
    async fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<PushedAuthorizationRequest>>;
    /// Marks a pushed request used; false when it already was.
    async fn use_pushed_request(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool>;

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
