//! The one implementation of [`Store`]: cold paths call the table modules with the pools,
//! the grant hot path calls the backend's grant groups, and every operation is metered.

use std::sync::Arc;

use async_trait::async_trait;
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, ResourceSid, UserSid};
use tollgate_core::keys::StoredKey;
use tollgate_core::model::{
    Account, ActiveRefreshFamily, AuthorizationCode, BrowserSession, Change, Client,
    CodeRedemption, DeviceGrant, DeviceStatus, OpaqueAccessToken, Organization,
    PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken, Resource,
    SignInPolicy, SignInSettings, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{Store, StoreError, StoreResult};

use crate::grants::{Grants, Redeem};
use crate::registrations;
use crate::sql::{Backend, Db};
use crate::{
    accounts, changes, clients, email_tokens, keys, leases, passkeys, refresh, resources,
    revocations, sessions, sign_in, users,
};
use tollgate_core::model::{
    ClientRegistration, InitialAccessToken, RegistrationPolicy, StoredPasskey,
};
use tollgate_core::model::{CodeSignIn, SessionClient};

/// The cold paths' pools and the grant groups of one backend.
pub(crate) struct SqlStore<G> {
    pub(crate) db: Db,
    pub(crate) grants: G,
}

/// Times one store operation and counts its failures, by operation and kind of failure.
async fn metered<T>(
    op: &'static str,
    f: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let start = std::time::Instant::now();
    let result = f.await;
    metrics::histogram!("tollgate_store_operation_duration_seconds", "op" => op)
        .record(start.elapsed().as_secs_f64());
    if let Err(e) = &result {
        let kind = match e {
            StoreError::Conflict(_) => "conflict",
            StoreError::Backend(_) => "backend",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Corrupt(_) => "corrupt",
        };
        metrics::counter!("tollgate_store_errors_total", "op" => op, "kind" => kind).increment(1);
    }
    result
}

#[async_trait]
impl<G: Grants> Store for SqlStore<G> {
    fn backend(&self) -> &'static str {
        match self.db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn insert_organization(&self, org: &Organization) -> StoreResult<()> {
        metered(
            "insert_organization",
            accounts::insert_organization(&self.db, org),
        )
        .await
    }
    async fn organization_exists(&self, sid: &OrganizationSid) -> StoreResult<bool> {
        metered(
            "organization_exists",
            accounts::organization_exists(&self.db, sid),
        )
        .await
    }
    async fn insert_account(&self, account: &Account) -> StoreResult<()> {
        metered(
            "insert_account",
            accounts::insert_account(&self.db, account),
        )
        .await
    }
    async fn account(&self, sid: &AccountSid) -> StoreResult<Option<Account>> {
        metered("account", accounts::account(&self.db, sid)).await
    }
    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        metered("accounts", accounts::accounts(&self.db)).await
    }
    async fn count_accounts(&self) -> StoreResult<i64> {
        metered("count_accounts", accounts::count_accounts(&self.db)).await
    }
    async fn set_auth_token(
        &self,
        sid: &AccountSid,
        digest: &SecretDigest,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_auth_token",
            accounts::set_auth_token(&self.db, sid, digest, at),
        )
        .await
    }

    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        metered("insert_client", clients::insert_client(&self.db, client)).await
    }
    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        metered("update_client", clients::update_client(&self.db, client)).await
    }
    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        metered("delete_client", clients::delete_client(&self.db, id)).await
    }
    async fn client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        metered("client", clients::client(&self.db, id)).await
    }
    async fn clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Client>> {
        metered("clients", clients::clients(&self.db, account)).await
    }

    async fn insert_resource(&self, r: &Resource) -> StoreResult<()> {
        metered("insert_resource", resources::insert_resource(&self.db, r)).await
    }
    async fn update_resource(&self, r: &Resource) -> StoreResult<bool> {
        metered("update_resource", resources::update_resource(&self.db, r)).await
    }
    async fn resource(&self, sid: &ResourceSid) -> StoreResult<Option<Resource>> {
        metered("resource", resources::resource(&self.db, sid)).await
    }
    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>> {
        let found = resources::resource_by_identifier(&self.db, identifier);
        metered("resource_by_identifier", found).await
    }
    async fn resources(&self, account: Option<&AccountSid>) -> StoreResult<Vec<Resource>> {
        metered("resources", resources::resources(&self.db, account)).await
    }
    async fn delete_resource(&self, sid: &ResourceSid) -> StoreResult<bool> {
        metered("delete_resource", resources::delete_resource(&self.db, sid)).await
    }
    async fn set_resource_grant(
        &self,
        sid: &ResourceSid,
        account: &AccountSid,
        granted: bool,
        at: i64,
    ) -> StoreResult<bool> {
        let write = resources::set_resource_grant(&self.db, sid, account, granted, at);
        metered("set_resource_grant", write).await
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()> {
        metered(
            "insert_signing_key",
            keys::insert_signing_key(&self.db, key),
        )
        .await
    }
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        metered("signing_keys", keys::signing_keys(&self.db)).await
    }
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        metered(
            "delete_signing_key",
            keys::delete_signing_key(&self.db, kid),
        )
        .await
    }
    async fn update_signing_key(
        &self,
        kid: &str,
        retires_at: Option<i64>,
        expires_at: Option<i64>,
    ) -> StoreResult<bool> {
        metered(
            "update_signing_key",
            keys::update_signing_key(&self.db, kid, retires_at, expires_at),
        )
        .await
    }

    async fn changes_since(&self, after: i64) -> StoreResult<Vec<Change>> {
        metered("changes_since", changes::changes_since(&self.db, after)).await
    }
    async fn latest_change(&self) -> StoreResult<i64> {
        metered("latest_change", changes::latest_change(&self.db)).await
    }
    async fn prune_changes(&self, before: i64) -> StoreResult<u64> {
        metered("prune_changes", changes::prune_changes(&self.db, before)).await
    }
    async fn prune_expired(&self, now: i64) -> StoreResult<u64> {
        metered("prune_expired", changes::prune_expired(&self.db, now)).await
    }

    async fn update_user_profile(&self, user: &User, at: i64) -> StoreResult<bool> {
        metered(
            "update_user_profile",
            users::update_user_profile(&self.db, user, at),
        )
        .await
    }
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        metered("insert_user", users::insert_user(&self.db, user)).await
    }
    async fn user(&self, sid: &UserSid) -> StoreResult<Option<User>> {
        metered("user", self.grants.user(sid.as_str())).await
    }
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        metered("user_by_email", users::user_by_email(&self.db, email)).await
    }
    async fn users(&self, account: Option<&AccountSid>) -> StoreResult<Vec<User>> {
        metered("users", users::users(&self.db, account)).await
    }
    async fn delete_user(&self, sid: &UserSid, at: i64) -> StoreResult<bool> {
        metered("delete_user", users::delete_user(&self.db, sid, at)).await
    }
    async fn set_user_password(
        &self,
        sid: &UserSid,
        password_hash: &str,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_user_password",
            users::set_user_password(&self.db, sid, password_hash, at),
        )
        .await
    }
    async fn user_sessions(&self, user: &UserSid, now: i64) -> StoreResult<Vec<BrowserSession>> {
        metered("user_sessions", users::user_sessions(&self.db, user, now)).await
    }
    async fn delete_user_sessions(
        &self,
        user: &UserSid,
        keep: Option<&SecretDigest>,
    ) -> StoreResult<u64> {
        metered(
            "delete_user_sessions",
            users::delete_user_sessions(&self.db, user, keep),
        )
        .await
    }
    async fn user_consents(
        &self,
        user: &UserSid,
    ) -> StoreResult<Vec<(ClientId, Vec<String>, i64)>> {
        metered("user_consents", users::user_consents(&self.db, user)).await
    }
    async fn revoke_user_grant(
        &self,
        user: &UserSid,
        client: &ClientId,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "revoke_user_grant",
            users::revoke_user_grant(&self.db, user, client, at),
        )
        .await
    }
    async fn sign_in_settings(&self, user: &UserSid) -> StoreResult<SignInSettings> {
        metered(
            "sign_in_settings",
            sign_in::sign_in_settings(&self.db, user),
        )
        .await
    }
    async fn set_sign_in_policy(
        &self,
        user: &UserSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<()> {
        metered(
            "set_sign_in_policy",
            sign_in::set_sign_in_policy(&self.db, user, policy, at),
        )
        .await
    }
    async fn set_totp(
        &self,
        user: &UserSid,
        sealed: Option<&str>,
        last_step: i64,
        recovery_digests: &[String],
        at: i64,
    ) -> StoreResult<()> {
        metered(
            "set_totp",
            sign_in::set_totp(&self.db, user, sealed, last_step, recovery_digests, at),
        )
        .await
    }
    async fn accept_totp_step(&self, user: &UserSid, step: i64, at: i64) -> StoreResult<bool> {
        metered(
            "accept_totp_step",
            sign_in::accept_totp_step(&self.db, user, step, at),
        )
        .await
    }
    async fn use_recovery_code(&self, user: &UserSid, digest: &str, at: i64) -> StoreResult<bool> {
        metered(
            "use_recovery_code",
            sign_in::use_recovery_code(&self.db, user, digest, at),
        )
        .await
    }
    async fn second_factor_failed(
        &self,
        user: &UserSid,
        limit: i64,
        lock_until: i64,
        at: i64,
    ) -> StoreResult<()> {
        metered(
            "second_factor_failed",
            sign_in::second_factor_failed(&self.db, user, limit, lock_until, at),
        )
        .await
    }
    async fn insert_code_authn(
        &self,
        code: &SecretDigest,
        amr: &[String],
        expires_at: i64,
    ) -> StoreResult<()> {
        metered(
            "insert_code_authn",
            sign_in::insert_code_authn(&self.db, code, amr, expires_at),
        )
        .await
    }
    async fn code_authn(&self, code: &SecretDigest) -> StoreResult<Option<Vec<String>>> {
        metered("code_authn", sign_in::code_authn(&self.db, code)).await
    }
    async fn insert_code_sign_in(
        &self,
        code: &SecretDigest,
        sign_in: &CodeSignIn,
        expires_at: i64,
    ) -> StoreResult<()> {
        metered(
            "insert_code_sign_in",
            sessions::insert_code_sign_in(&self.db, code, sign_in, expires_at),
        )
        .await
    }
    async fn code_sign_in(&self, code: &SecretDigest) -> StoreResult<Option<CodeSignIn>> {
        metered("code_sign_in", sessions::code_sign_in(&self.db, code)).await
    }
    async fn insert_session_client(&self, link: &SessionClient) -> StoreResult<()> {
        metered(
            "insert_session_client",
            sessions::insert_session_client(&self.db, link),
        )
        .await
    }
    async fn session_clients(&self, session_sid: &str) -> StoreResult<Vec<SessionClient>> {
        metered(
            "session_clients",
            sessions::session_clients(&self.db, session_sid),
        )
        .await
    }
    async fn family_session(&self, family_id: &str) -> StoreResult<Option<String>> {
        metered(
            "family_session",
            sessions::family_session(&self.db, family_id),
        )
        .await
    }
    async fn insert_family_authn(&self, family_id: &str, amr: &[String]) -> StoreResult<()> {
        metered(
            "insert_family_authn",
            sign_in::insert_family_authn(&self.db, family_id, amr),
        )
        .await
    }
    async fn family_authn(&self, family_id: &str) -> StoreResult<Option<Vec<String>>> {
        metered("family_authn", sign_in::family_authn(&self.db, family_id)).await
    }
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<bool> {
        metered(
            "insert_passkey",
            passkeys::insert_passkey(&self.db, passkey),
        )
        .await
    }
    async fn passkeys(&self, user: &UserSid) -> StoreResult<Vec<StoredPasskey>> {
        metered("passkeys", passkeys::passkeys(&self.db, user)).await
    }
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<StoredPasskey>> {
        metered("passkey", passkeys::passkey(&self.db, credential_id)).await
    }
    async fn passkey_used(&self, passkey: &StoredPasskey, at: i64) -> StoreResult<()> {
        metered(
            "passkey_used",
            passkeys::passkey_used(&self.db, passkey, at),
        )
        .await
    }
    async fn delete_passkey(&self, user: &UserSid, credential_id: &str) -> StoreResult<bool> {
        metered(
            "delete_passkey",
            passkeys::delete_passkey(&self.db, user, credential_id),
        )
        .await
    }
    async fn set_account_sign_in_policy(
        &self,
        account: &AccountSid,
        policy: SignInPolicy,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_account_sign_in_policy",
            passkeys::set_account_sign_in_policy(&self.db, account, policy, at),
        )
        .await
    }
    async fn account_sign_in_policy(&self, account: &AccountSid) -> StoreResult<SignInPolicy> {
        metered(
            "account_sign_in_policy",
            passkeys::account_sign_in_policy(&self.db, account),
        )
        .await
    }
    async fn set_user_email_verified(
        &self,
        sid: &UserSid,
        verified: bool,
        at: i64,
    ) -> StoreResult<bool> {
        metered(
            "set_user_email_verified",
            users::set_user_email_verified(&self.db, sid, verified, at),
        )
        .await
    }
    async fn insert_email_token(&self, token: &tollgate_core::mail::EmailToken) -> StoreResult<()> {
        let write = email_tokens::insert_email_token(&self.db, token);
        metered("insert_email_token", write).await
    }
    async fn email_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<tollgate_core::mail::EmailToken>> {
        metered("email_token", email_tokens::email_token(&self.db, digest)).await
    }
    async fn use_email_token(
        &self,
        digest: &SecretDigest,
        purpose: tollgate_core::mail::EmailPurpose,
        now: i64,
    ) -> StoreResult<Option<tollgate_core::mail::EmailToken>> {
        let write = email_tokens::use_email_token(&self.db, digest, purpose, now);
        metered("use_email_token", write).await
    }
    async fn revoke_user_refresh_families(&self, user: &UserSid, at: i64) -> StoreResult<u64> {
        let write = email_tokens::revoke_user_refresh_families(&self.db, user, at);
        metered("revoke_user_refresh_families", write).await
    }
    async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()> {
        metered("insert_session", users::insert_session(&self.db, session)).await
    }
    async fn session(&self, digest: &SecretDigest) -> StoreResult<Option<BrowserSession>> {
        metered("session", users::session(&self.db, digest)).await
    }
    async fn touch_session(&self, digest: &SecretDigest, at: i64) -> StoreResult<()> {
        metered("touch_session", users::touch_session(&self.db, digest, at)).await
    }
    async fn delete_session(&self, digest: &SecretDigest) -> StoreResult<()> {
        metered("delete_session", users::delete_session(&self.db, digest)).await
    }
    async fn consent(&self, user: &UserSid, client: &ClientId) -> StoreResult<Option<Vec<String>>> {
        metered("consent", users::consent(&self.db, user, client)).await
    }
    async fn put_consent(
        &self,
        user: &UserSid,
        client: &ClientId,
        scopes: &[String],
        at: i64,
    ) -> StoreResult<()> {
        metered(
            "put_consent",
            users::put_consent(&self.db, user, client, scopes, at),
        )
        .await
    }

    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        metered("insert_code", self.grants.insert_code(code)).await
    }
    async fn authorization_code(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<AuthorizationCode>> {
        metered("code", self.grants.code(digest)).await
    }
    async fn redeem_code(
        &self,
        digest: &SecretDigest,
        at: i64,
        family_id: Option<&str>,
        access_jti: &str,
        access_expires_at: i64,
    ) -> StoreResult<CodeRedemption> {
        let r = Redeem::new(digest, at, family_id, access_jti, access_expires_at);
        self.grants.redeem_code(r).await
    }

    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()> {
        metered(
            "insert_refresh_family",
            self.grants.insert_refresh_family(family, first),
        )
        .await
    }
    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily)>> {
        metered("refresh_token", refresh::refresh_token(&self.db, digest)).await
    }
    async fn refresh_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
        metered(
            "refresh_token_with_user",
            self.grants.refresh_token_with_user(digest),
        )
        .await
    }
    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> StoreResult<RefreshRotation> {
        metered(
            "rotate_refresh_token",
            self.grants.rotate_refresh_token(old, next, at, grace),
        )
        .await
    }
    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> StoreResult<bool> {
        metered(
            "revoke_refresh_family",
            self.grants.revoke_refresh_family(family_id, at),
        )
        .await
    }
    async fn refresh_family(&self, family_id: &str) -> StoreResult<Option<RefreshFamily>> {
        metered(
            "refresh_family",
            refresh::refresh_family(&self.db, family_id),
        )
        .await
    }
    async fn active_refresh_families(
        &self,
        account: &AccountSid,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<ActiveRefreshFamily>> {
        metered(
            "active_refresh_families",
            refresh::active_refresh_families(&self.db, account, now, limit),
        )
        .await
    }
    async fn count_active_refresh_families(
        &self,
        account: &AccountSid,
        now: i64,
    ) -> StoreResult<i64> {
        metered(
            "count_active_refresh_families",
            refresh::count_active_refresh_families(&self.db, account, now),
        )
        .await
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        metered(
            "revoke_access_token",
            revocations::revoke_access_token(&self.db, jti, expires_at),
        )
        .await
    }
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        metered(
            "access_token_revoked",
            revocations::access_token_revoked(&self.db, jti),
        )
        .await
    }
    async fn revoked_access_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>> {
        metered(
            "revoked_access_tokens",
            revocations::revoked_access_tokens(&self.db, now),
        )
        .await
    }
    async fn try_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> StoreResult<bool> {
        metered(
            "try_lease",
            leases::try_lease(&self.db, name, holder, now, until),
        )
        .await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        metered(
            "release_lease",
            leases::release_lease(&self.db, name, holder),
        )
        .await
    }
    async fn watch_changes(&self, wake: Arc<tokio::sync::Notify>) -> StoreResult<()> {
        // Runs for the life of the node: not an operation to time.
        changes::watch_changes(&self.db, wake).await
    }
    async fn insert_opaque_token(&self, token: &OpaqueAccessToken) -> StoreResult<()> {
        metered(
            "insert_opaque_token",
            revocations::insert_opaque_token(&self.db, token),
        )
        .await
    }
    async fn opaque_token(&self, digest: &SecretDigest) -> StoreResult<Option<OpaqueAccessToken>> {
        metered("opaque_token", revocations::opaque_token(&self.db, digest)).await
    }
    async fn revoke_opaque_token(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
        metered(
            "revoke_opaque_token",
            revocations::revoke_opaque_token(&self.db, digest, at),
        )
        .await
    }

    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        metered("use_once", self.grants.use_once(key, expires_at, now)).await
    }

    async fn insert_pushed_request(&self, r: &PushedAuthorizationRequest) -> StoreResult<()> {
        metered(
            "insert_pushed_request",
            self.grants.insert_pushed_request(r),
        )
        .await
    }

    async fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<PushedAuthorizationRequest>> {
        metered("pushed_request", self.grants.pushed_request(digest)).await
    }

    async fn use_pushed_request(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
        metered(
            "use_pushed_request",
            self.grants.use_pushed_request(digest, at),
        )
        .await
    }

    async fn insert_device_grant(&self, grant: &DeviceGrant) -> StoreResult<()> {
        metered(
            "insert_device_grant",
            self.grants.insert_device_grant(grant),
        )
        .await
    }
    async fn device_grant(&self, digest: &SecretDigest) -> StoreResult<Option<DeviceGrant>> {
        metered("device_grant", self.grants.device_grant(digest)).await
    }
    async fn device_grant_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        metered(
            "device_grant_by_user_code",
            self.grants.device_grant_by_user_code(user_code),
        )
        .await
    }
    async fn decide_device_grant(
        &self,
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> StoreResult<bool> {
        metered(
            "decide_device_grant",
            self.grants
                .decide_device_grant(user_code, status, user, auth_time),
        )
        .await
    }
    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        at: i64,
        interval: i64,
    ) -> StoreResult<()> {
        metered(
            "record_device_poll",
            self.grants.record_device_poll(digest, at, interval),
        )
        .await
    }
    async fn consume_device_grant(
        &self,
        digest: &SecretDigest,
        device_id: Option<&str>,
    ) -> StoreResult<bool> {
        metered(
            "consume_device_grant",
            self.grants.consume_device_grant(digest, device_id),
        )
        .await
    }

    async fn insert_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<()> {
        let write = registrations::insert_registered_client(&self.db, client, registration);
        metered("insert_registered_client", write).await
    }
    async fn update_registered_client(
        &self,
        client: &Client,
        registration: &ClientRegistration,
    ) -> StoreResult<bool> {
        let write = registrations::update_registered_client(&self.db, client, registration);
        metered("update_registered_client", write).await
    }
    async fn client_registration(&self, id: &ClientId) -> StoreResult<Option<ClientRegistration>> {
        let read = registrations::client_registration(&self.db, id);
        metered("client_registration", read).await
    }
    async fn registered_clients(&self, account: Option<&AccountSid>) -> StoreResult<Vec<ClientId>> {
        let read = registrations::registered_clients(&self.db, account);
        metered("registered_clients", read).await
    }
    async fn registration_policy(&self, account: &AccountSid) -> StoreResult<RegistrationPolicy> {
        let read = registrations::registration_policy(&self.db, account);
        metered("registration_policy", read).await
    }
    async fn set_registration_policy(
        &self,
        account: &AccountSid,
        policy: RegistrationPolicy,
        at: i64,
    ) -> StoreResult<()> {
        let write = registrations::set_registration_policy(&self.db, account, policy, at);
        metered("set_registration_policy", write).await
    }
    async fn insert_initial_access_token(&self, token: &InitialAccessToken) -> StoreResult<()> {
        let write = registrations::insert_initial_access_token(&self.db, token);
        metered("insert_initial_access_token", write).await
    }
    async fn initial_access_token(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let read = registrations::initial_access_token(&self.db, digest);
        metered("initial_access_token", read).await
    }
    async fn use_initial_access_token(&self, digest: &SecretDigest, now: i64) -> StoreResult<bool> {
        let write = registrations::use_initial_access_token(&self.db, digest, now);
        metered("use_initial_access_token", write).await
    }
    async fn initial_access_tokens(
        &self,
        account: &AccountSid,
        now: i64,
    ) -> StoreResult<Vec<InitialAccessToken>> {
        let read = registrations::initial_access_tokens(&self.db, account, now);
        metered("initial_access_tokens", read).await
    }
    async fn delete_initial_access_token(
        &self,
        account: &AccountSid,
        digest: &SecretDigest,
    ) -> StoreResult<bool> {
        let write = registrations::delete_initial_access_token(&self.db, account, digest);
        metered("delete_initial_access_token", write).await
    }
}
