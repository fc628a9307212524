//! [`SqlStore`]: Users, email links, sessions, consents, second factors and passkeys.

use async_trait::async_trait;

use super::{SqlStore, metered};
use crate::grants::Grants;
use crate::{email_tokens, passkeys, sessions, sign_in, users};
use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{
    BrowserSession, CodeSignIn, SessionClient, SignInPolicy, SignInSettings, StoredPasskey, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{
    BrowserSessions, Consents, EmailTokens, Passkeys, SignInFactors, StoreResult, UserDirectory,
};

#[async_trait]
impl<G: Grants> UserDirectory for SqlStore<G> {
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
    async fn update_user_profile(&self, user: &User, at: i64) -> StoreResult<bool> {
        metered(
            "update_user_profile",
            users::update_user_profile(&self.db, user, at),
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
}

#[async_trait]
impl<G: Grants> EmailTokens for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> BrowserSessions for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> Consents for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> SignInFactors for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> Passkeys for SqlStore<G> {
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
}
