//! Codes, refresh families, access tokens, device grants and pushed requests.

use async_trait::async_trait;

use crate::ids::{AccountSid, UserSid};
use crate::model::{
    ActiveRefreshFamily, AuthorizationCode, CodeRedemption, DeviceGrant, DeviceStatus,
    OpaqueAccessToken, PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken,
    User,
};
use crate::secret::SecretDigest;

use super::StoreResult;

/// Authorization codes and their redemption.
#[async_trait]
pub trait AuthorizationCodes: Send + Sync + 'static {
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
}

/// Refresh token families and their rotation.
#[async_trait]
pub trait RefreshFamilies: Send + Sync + 'static {
    /// Starts a family with its first token.
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()>;
    /// Starts a family together with what its sign-in left: how the user signed in (`amr`,
    /// for the id_tokens of later refreshes) and the browser session it came from (so a
    /// logout reaches the family). One write where the backend can make it one.
    async fn start_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
        amr: Option<&[String]>,
        session: Option<&crate::model::SessionClient>,
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
    /// Revokes every refresh token family of the user; returns how many.
    async fn revoke_user_refresh_families(&self, user: &UserSid, at: i64) -> StoreResult<u64>;
}

/// Opaque access tokens and revoked JWT access tokens.
#[async_trait]
pub trait AccessTokens: Send + Sync + 'static {
    /// Records the revocation and logs it for other nodes' in-memory sets.
    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> StoreResult<()>;
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Every revoked access token that has not expired at `now`: `(jti, expires_at)`.
    async fn revoked_access_tokens(&self, now: i64) -> StoreResult<Vec<(String, i64)>>;
    async fn insert_opaque_token(&self, token: &OpaqueAccessToken) -> StoreResult<()>;
    async fn opaque_token(&self, digest: &SecretDigest) -> StoreResult<Option<OpaqueAccessToken>>;
    async fn revoke_opaque_token(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool>;
}

/// Device authorization grants (RFC 8628).
#[async_trait]
pub trait DeviceGrants: Send + Sync + 'static {
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
}

/// Pushed authorization requests (RFC 9126) and spent single-use identifiers.
#[async_trait]
pub trait PushedRequests: Send + Sync + 'static {
    async fn insert_pushed_request(&self, r: &PushedAuthorizationRequest) -> StoreResult<()>;
    async fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<PushedAuthorizationRequest>>;
    /// Marks a pushed request used; false when it already was.
    async fn use_pushed_request(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool>;
    /// Records a single-use identifier until `expires_at`; false when it is already recorded
    /// and unexpired at `now` (a replay), on whichever node it was first seen.
    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool>;
}
