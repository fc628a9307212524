//! [`SqlStore`]: Codes, refresh families, access tokens, device grants and pushed requests.

use super::metered;
use crate::grants::Redeem;
use crate::{email_tokens, refresh, revocations};
use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::{
    ActiveRefreshFamily, AuthorizationCode, CodeRedemption, DeviceGrant, DeviceStatus,
    OpaqueAccessToken, PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken,
    SessionClient, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{
    AccessTokens, AuthorizationCodes, DeviceGrants, PushedRequests, RefreshFamilies, StoreResult,
};

forward! {
    impl AuthorizationCodes {
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
    grants.insert_code(code: &AuthorizationCode) -> ();
}

forward! {
    impl RefreshFamilies;
    grants.insert_refresh_family(family: &RefreshFamily, first: &RefreshToken) -> ();
    grants.start_refresh_family(
        family: &RefreshFamily,
        first: &RefreshToken,
        amr: Option<&[String]>,
        session: Option<&SessionClient>,
    ) -> ();
    refresh::refresh_token(digest: &SecretDigest) -> Option<(RefreshToken, RefreshFamily)>;
    grants.refresh_token_with_user(
        digest: &SecretDigest,
    ) -> Option<(RefreshToken, RefreshFamily, Option<User>)>;
    grants.rotate_refresh_token(
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> RefreshRotation;
    grants.revoke_refresh_family(family_id: &str, at: i64) -> bool;
    refresh::refresh_family(family_id: &str) -> Option<RefreshFamily>;
    refresh::active_refresh_families(
        account: &AccountSid,
        now: i64,
        limit: i64,
    ) -> Vec<ActiveRefreshFamily>;
    refresh::count_active_refresh_families(account: &AccountSid, now: i64) -> i64;
    email_tokens::revoke_user_refresh_families(user: &UserSid, at: i64) -> u64;
}

forward! {
    impl AccessTokens;
    revocations::revoke_access_token(jti: &str, expires_at: i64) -> ();
    revocations::access_token_revoked(jti: &str) -> bool;
    revocations::revoked_access_tokens(now: i64) -> Vec<(String, i64)>;
    revocations::insert_opaque_token(token: &OpaqueAccessToken) -> ();
    revocations::opaque_token(digest: &SecretDigest) -> Option<OpaqueAccessToken>;
    revocations::revoke_opaque_token(digest: &SecretDigest, at: i64) -> bool;
}

forward! {
    impl DeviceGrants;
    grants.insert_device_grant(grant: &DeviceGrant) -> ();
    grants.device_grant(digest: &SecretDigest) -> Option<DeviceGrant>;
    grants.device_grant_by_user_code(user_code: &str) -> Option<DeviceGrant>;
    grants.decide_device_grant(
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> bool;
    grants.record_device_poll(digest: &SecretDigest, at: i64, interval: i64) -> ();
    grants.consume_device_grant(digest: &SecretDigest, device_id: Option<&str>) -> bool;
}

forward! {
    impl PushedRequests;
    grants.insert_pushed_request(r: &PushedAuthorizationRequest) -> ();
    grants.pushed_request(digest: &SecretDigest) -> Option<PushedAuthorizationRequest>;
    grants.use_pushed_request(digest: &SecretDigest, at: i64) -> bool;
    grants.use_once(key: &str, expires_at: i64, now: i64) -> bool;
}
