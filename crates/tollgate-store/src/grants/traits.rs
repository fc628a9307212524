//! One narrow trait per grant group; `sqlite` and `postgres` implement each once.

use std::future::Future;

use tollgate_core::ids::UserSid;
use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, CodeSignIn, DeviceGrant, DeviceStatus,
    PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken, SessionClient, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use super::jobs::Redeem;

/// Authorization codes: single use, with what their redemption issued (for replay revocation).
pub(crate) trait CodeStore: Send + Sync {
    fn insert_code(&self, code: &AuthorizationCode)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// Reads a code without spending it (to check its binding first).
    fn code(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = StoreResult<Option<AuthorizationCode>>> + Send;
    /// Marks a code used, recording what its redemption will issue, in one transaction.
    fn redeem_code(&self, r: Redeem) -> impl Future<Output = StoreResult<CodeRedemption>> + Send;
}

/// Refresh families and their tokens. A rotation is one transaction that keeps at most one
/// live branch per family: a repeat inside the grace window retires the successor the earlier
/// use got, and any use of a retired token, or a repeat after the window, or a repeat after
/// the successor was itself used, revokes the family.
pub(crate) trait RefreshStore: Send + Sync {
    /// The family, its `amr` and its session link in one write.
    fn start_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
        amr: Option<&[String]>,
        session: Option<&SessionClient>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The token, its family and the family's user in one read.
    fn refresh_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>>> + Send;
    fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> impl Future<Output = StoreResult<RefreshRotation>> + Send;
    fn revoke_refresh_family(
        &self,
        family_id: &str,
        at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The user a grant is issued to (read on the grant path, so it runs where grants do).
    fn user(&self, sid: &UserSid) -> impl Future<Output = StoreResult<Option<User>>> + Send;
}

/// One-time identifiers (an assertion's or a DPoP proof's `jti`).
pub(crate) trait SpentIds: Send + Sync {
    /// True the first time; decided by one statement so several nodes agree.
    fn use_once(
        &self,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// RFC 9126 pushed authorization requests.
pub(crate) trait PushedRequests: Send + Sync {
    fn insert_pushed_request(
        &self,
        r: &PushedAuthorizationRequest,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = StoreResult<Option<PushedAuthorizationRequest>>> + Send;
    /// Spends a pushed request; false when it was already spent.
    fn use_pushed_request(
        &self,
        digest: &SecretDigest,
        at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// RFC 8628 device grants.
pub(crate) trait DeviceGrants: Send + Sync {
    fn insert_device_grant(&self, g: &DeviceGrant) -> impl Future<Output = StoreResult<()>> + Send;
    fn device_grant(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = StoreResult<Option<DeviceGrant>>> + Send;
    fn device_grant_by_user_code(
        &self,
        user_code: &str,
    ) -> impl Future<Output = StoreResult<Option<DeviceGrant>>> + Send;
    /// Approves or denies a pending grant; false when it was not pending.
    fn decide_device_grant(
        &self,
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn record_device_poll(
        &self,
        digest: &SecretDigest,
        at: i64,
        interval: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Spends an approved grant; false when it was not approved (or already spent).
    fn consume_device_grant(
        &self,
        digest: &SecretDigest,
        device_id: Option<&str>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The records a sign-in leaves beside a code and a family (for logout and `amr`), written
/// with the grants: on SQLite a second writer beside the grant writer made both wait.
pub(crate) trait SessionLinks: Send + Sync {
    fn insert_code_sign_in(
        &self,
        code: &SecretDigest,
        sign_in: &CodeSignIn,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// How the user of a code signed in, read when the code is redeemed.
    fn code_sign_in(
        &self,
        code: &SecretDigest,
    ) -> impl Future<Output = StoreResult<Option<CodeSignIn>>> + Send;
    fn insert_session_client(
        &self,
        link: &SessionClient,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// How the user of a family signed in; the first record wins.
    fn insert_family_authn(
        &self,
        family_id: &str,
        amr: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Every grant group; what the store is generic over.
pub(crate) trait Grants:
    CodeStore + RefreshStore + SpentIds + PushedRequests + DeviceGrants + SessionLinks + 'static
{
}
impl<G> Grants for G where
    G: CodeStore + RefreshStore + SpentIds + PushedRequests + DeviceGrants + SessionLinks + 'static
{
}
