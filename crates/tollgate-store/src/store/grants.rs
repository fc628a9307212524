//! [`SqlStore`]: Codes, refresh families, access tokens, device grants and pushed requests.

use async_trait::async_trait;

use super::{SqlStore, metered};
use crate::grants::{Grants, Redeem};
use crate::{email_tokens, refresh, revocations};
use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::{
    ActiveRefreshFamily, AuthorizationCode, CodeRedemption, DeviceGrant, DeviceStatus,
    OpaqueAccessToken, PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken,
    User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{
    AccessTokens, AuthorizationCodes, DeviceGrants, PushedRequests, RefreshFamilies, StoreResult,
};

#[async_trait]
impl<G: Grants> AuthorizationCodes for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> RefreshFamilies for SqlStore<G> {
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
    async fn revoke_user_refresh_families(&self, user: &UserSid, at: i64) -> StoreResult<u64> {
        let write = email_tokens::revoke_user_refresh_families(&self.db, user, at);
        metered("revoke_user_refresh_families", write).await
    }
}

#[async_trait]
impl<G: Grants> AccessTokens for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> DeviceGrants for SqlStore<G> {
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
}

#[async_trait]
impl<G: Grants> PushedRequests for SqlStore<G> {
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
    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        metered("use_once", self.grants.use_once(key, expires_at, now)).await
    }
}
