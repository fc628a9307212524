//! [`SqlStore`]: Users, email links, sessions, consents, second factors and passkeys.

use crate::{email_tokens, passkeys, sessions, sign_in, users};
use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{
    BrowserSession, CodeSignIn, SessionClient, SignInPolicy, SignInSettings, StoredPasskey, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{
    BrowserSessions, Consents, EmailTokens, Passkeys, SignInFactors, UserDirectory,
};

forward! {
    impl UserDirectory;
    users::insert_user(user: &User) -> ();
    grants.user(sid: &UserSid) -> Option<User>;
    users::user_by_email(email: &str) -> Option<User>;
    users::users(account: Option<&AccountSid>) -> Vec<User>;
    users::delete_user(sid: &UserSid, at: i64) -> bool;
    users::set_user_password(sid: &UserSid, password_hash: &str, at: i64) -> bool;
    users::update_user_profile(user: &User, at: i64) -> bool;
    users::set_user_email_verified(sid: &UserSid, verified: bool, at: i64) -> bool;
}

forward! {
    impl EmailTokens;
    email_tokens::insert_email_token(token: &tollgate_core::mail::EmailToken) -> ();
    email_tokens::email_token(digest: &SecretDigest) -> Option<tollgate_core::mail::EmailToken>;
    email_tokens::use_email_token(
        digest: &SecretDigest,
        purpose: tollgate_core::mail::EmailPurpose,
        now: i64,
    ) -> Option<tollgate_core::mail::EmailToken>;
}

forward! {
    impl BrowserSessions;
    users::insert_session(session: &BrowserSession) -> ();
    users::session(digest: &SecretDigest) -> Option<BrowserSession>;
    users::touch_session(digest: &SecretDigest, at: i64) -> ();
    users::delete_session(digest: &SecretDigest) -> ();
    users::user_sessions(user: &UserSid, now: i64) -> Vec<BrowserSession>;
    users::delete_user_sessions(user: &UserSid, keep: Option<&SecretDigest>) -> u64;
    grants.insert_session_client(link: &SessionClient) -> ();
    sessions::session_clients(session_sid: &str) -> Vec<SessionClient>;
    sessions::family_session(family_id: &str) -> Option<String>;
}

forward! {
    impl Consents;
    users::consent(user: &UserSid, client: &ClientId) -> Option<Vec<String>>;
    users::put_consent(user: &UserSid, client: &ClientId, scopes: &[String], at: i64) -> ();
    users::user_consents(user: &UserSid) -> Vec<(ClientId, Vec<String>, i64)>;
    users::revoke_user_grant(user: &UserSid, client: &ClientId, at: i64) -> bool;
}

forward! {
    impl SignInFactors;
    sign_in::sign_in_settings(user: &UserSid) -> SignInSettings;
    sign_in::set_sign_in_policy(user: &UserSid, policy: SignInPolicy, at: i64) -> ();
    sign_in::set_totp(
        user: &UserSid,
        sealed: Option<&str>,
        last_step: i64,
        recovery_digests: &[String],
        at: i64,
    ) -> ();
    sign_in::accept_totp_step(user: &UserSid, step: i64, at: i64) -> bool;
    sign_in::use_recovery_code(user: &UserSid, digest: &str, at: i64) -> bool;
    sign_in::second_factor_failed(user: &UserSid, limit: i64, lock_until: i64, at: i64) -> ();
    sign_in::insert_code_authn(code: &SecretDigest, amr: &[String], expires_at: i64) -> ();
    sign_in::code_authn(code: &SecretDigest) -> Option<Vec<String>>;
    grants.insert_code_sign_in(code: &SecretDigest, sign_in: &CodeSignIn, expires_at: i64) -> ();
    grants.code_sign_in(code: &SecretDigest) -> Option<CodeSignIn>;
    grants.insert_family_authn(family_id: &str, amr: &[String]) -> ();
    sign_in::family_authn(family_id: &str) -> Option<Vec<String>>;
}

forward! {
    impl Passkeys;
    passkeys::insert_passkey(passkey: &StoredPasskey) -> bool;
    passkeys::passkeys(user: &UserSid) -> Vec<StoredPasskey>;
    passkeys::passkey(credential_id: &str) -> Option<StoredPasskey>;
    passkeys::passkey_used(passkey: &StoredPasskey, at: i64) -> ();
    passkeys::delete_passkey(user: &UserSid, credential_id: &str) -> bool;
}
