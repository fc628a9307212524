//! The grant groups on PostgreSQL: reads on the hot connections (`pg_conns`), writes queued
//! for `tollgate_grant_batch` (`pg_batch`, migration 0008), so a busy node commits many grants
//! in one round trip. Pushed requests, device grants and family revocation are not that hot:
//! they use the sqlx pool.

use std::sync::Arc;

use sqlx::Any;
use sqlx::AnyPool;
use sqlx::any::AnyArguments;
use sqlx::any::AnyRow;
use tollgate_core::ids::UserSid;
use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, CodeSignIn, DeviceGrant, DeviceStatus,
    PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken, SessionClient, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use super::jobs::{Job, Redeem};
use super::pg_batch::GrantBatches;
use super::pg_conns::PgConns;
use super::traits::{
    CodeStore, DeviceGrants, PushedRequests, RefreshStore, SessionLinks, SpentIds,
};
use crate::rows;
use crate::sql::{backend_err, json_list};
use crate::statements::{
    CONSUME_DEVICE, DECIDE_DEVICE, INSERT_CODE, INSERT_CODE_SIGN_IN, INSERT_DEVICE,
    INSERT_FAMILY_AUTHN, INSERT_PUSHED, INSERT_SESSION_CLIENT, POLL_DEVICE, REVOKE_FAMILY,
    SELECT_CODE, SELECT_CODE_SIGN_IN, SELECT_DEVICE, SELECT_DEVICE_BY_USER_CODE, SELECT_PUSHED,
    SELECT_TOKEN_FAMILY_USER, SELECT_USER, USE_PUSHED,
};

pub(crate) struct PgGrants {
    conns: Arc<PgConns>,
    batches: GrantBatches,
    pool: AnyPool,
}

type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

impl PgGrants {
    /// Opens nothing yet: hot connections are made on first use. Starts the group commit.
    pub(crate) fn start(url: &str, pool: AnyPool) -> Self {
        let conns = Arc::new(PgConns::new(url));
        PgGrants {
            batches: GrantBatches::start(conns.clone()),
            conns,
            pool,
        }
    }

    /// At most one row, on a hot connection, read by `read`.
    async fn fetch_optional<T>(
        &self,
        query: Query<'_>,
        read: impl FnOnce(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut c = self.conns.get().await?;
        let row = query
            .fetch_optional(&mut c.conn)
            .await
            .map_err(backend_err)?;
        c.done();
        row.as_ref().map(read).transpose()
    }

    /// At most one row, read on the pool (not hot enough for a hot connection).
    async fn pooled_row<T>(
        &self,
        query: Query<'_>,
        read: impl FnOnce(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_err)?;
        row.as_ref().map(read).transpose()
    }

    /// Rows affected by one statement on the pool (not hot enough for a hot connection).
    async fn pooled(&self, query: Query<'_>) -> StoreResult<u64> {
        let done = query.execute(&self.pool).await.map_err(backend_err)?;
        Ok(done.rows_affected())
    }
}

impl CodeStore for PgGrants {
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
        let q = sqlx::query(INSERT_CODE)
            .bind(c.digest.to_hex())
            .bind(c.client_id.as_str())
            .bind(c.user_sid.as_str())
            .bind(&c.redirect_uri)
            .bind(json_list(&c.scopes))
            .bind(&c.nonce)
            .bind(&c.code_challenge)
            .bind(c.auth_time)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(c.used_at)
            .bind(&c.family_id)
            .bind(&c.access_jti)
            .bind(c.access_expires_at)
            .bind(json_list(&c.resources))
            .bind(&c.dpop_jkt);
        let mut conn = self.conns.get().await?;
        q.execute(&mut conn.conn).await.map_err(backend_err)?;
        conn.done();
        Ok(())
    }

    async fn code(&self, digest: &SecretDigest) -> StoreResult<Option<AuthorizationCode>> {
        let q = sqlx::query(SELECT_CODE).bind(digest.to_hex());
        self.fetch_optional(q, rows::code).await
    }

    async fn redeem_code(&self, r: Redeem) -> StoreResult<CodeRedemption> {
        let jti = r.jti.clone();
        self.batches.submit(Job::Redeem(r)).await?.redemption(&jti)
    }
}

impl RefreshStore for PgGrants {
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()> {
        let job = Job::family(family, first);
        self.batches.submit(job).await?.inserted()
    }

    async fn start_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
        amr: Option<&[String]>,
        session: Option<&SessionClient>,
    ) -> StoreResult<()> {
        self.insert_refresh_family(family, first).await?;
        if let Some(amr) = amr {
            self.insert_family_authn(&family.id, amr).await?;
        }
        match session {
            Some(link) => self.insert_session_client(link).await,
            None => Ok(()),
        }
    }

    async fn refresh_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
        let q = sqlx::query(SELECT_TOKEN_FAMILY_USER).bind(digest.to_hex());
        let read = |r: &AnyRow| rows::token_family_user(r, digest);
        self.fetch_optional(q, read).await
    }

    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> StoreResult<RefreshRotation> {
        let job = Job::rotate(old, next, at, grace);
        self.batches.submit(job).await?.rotation()
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> StoreResult<bool> {
        let q = sqlx::query(REVOKE_FAMILY).bind(at).bind(family_id);
        Ok(self.pooled(q).await? > 0)
    }

    async fn user(&self, sid: &UserSid) -> StoreResult<Option<User>> {
        let q = sqlx::query(SELECT_USER).bind(sid.as_str());
        self.fetch_optional(q, rows::user).await
    }
}

impl SpentIds for PgGrants {
    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        let job = Job::once(key, expires_at, now);
        self.batches.submit(job).await?.first_use()
    }
}

impl PushedRequests for PgGrants {
    async fn insert_pushed_request(&self, r: &PushedAuthorizationRequest) -> StoreResult<()> {
        let q = sqlx::query(INSERT_PUSHED)
            .bind(r.digest.to_hex())
            .bind(r.client_id.as_str())
            .bind(&r.params)
            .bind(r.created_at)
            .bind(r.expires_at)
            .bind(r.used_at);
        self.pooled(q).await.map(|_| ())
    }

    async fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<PushedAuthorizationRequest>> {
        let q = sqlx::query(SELECT_PUSHED).bind(digest.to_hex());
        self.pooled_row(q, |r| rows::pushed(r, digest)).await
    }

    async fn use_pushed_request(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
        let q = sqlx::query(USE_PUSHED).bind(at).bind(digest.to_hex());
        Ok(self.pooled(q).await? > 0)
    }
}

impl DeviceGrants for PgGrants {
    async fn insert_device_grant(&self, g: &DeviceGrant) -> StoreResult<()> {
        let q = sqlx::query(INSERT_DEVICE)
            .bind(g.digest.to_hex())
            .bind(&g.user_code)
            .bind(g.client_id.as_str())
            .bind(json_list(&g.scopes))
            .bind(json_list(&g.audiences))
            .bind(g.created_at)
            .bind(g.expires_at)
            .bind(g.interval)
            .bind(g.last_polled_at)
            .bind(g.status.as_str())
            .bind(g.user_sid.as_ref().map(UserSid::as_str))
            .bind(g.auth_time)
            .bind(&g.device_id);
        self.pooled(q).await.map(|_| ())
    }

    async fn device_grant(&self, digest: &SecretDigest) -> StoreResult<Option<DeviceGrant>> {
        let q = sqlx::query(SELECT_DEVICE).bind(digest.to_hex());
        self.pooled_row(q, rows::device).await
    }

    async fn device_grant_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        let q = sqlx::query(SELECT_DEVICE_BY_USER_CODE).bind(user_code);
        self.pooled_row(q, rows::device).await
    }

    async fn decide_device_grant(
        &self,
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> StoreResult<bool> {
        let q = sqlx::query(DECIDE_DEVICE)
            .bind(status.as_str())
            .bind(user.as_str())
            .bind(auth_time)
            .bind(user_code);
        Ok(self.pooled(q).await? > 0)
    }

    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        at: i64,
        interval: i64,
    ) -> StoreResult<()> {
        let q = sqlx::query(POLL_DEVICE)
            .bind(at)
            .bind(interval)
            .bind(digest.to_hex());
        self.pooled(q).await.map(|_| ())
    }

    async fn consume_device_grant(
        &self,
        digest: &SecretDigest,
        device_id: Option<&str>,
    ) -> StoreResult<bool> {
        let q = sqlx::query(CONSUME_DEVICE)
            .bind(device_id)
            .bind(digest.to_hex());
        Ok(self.pooled(q).await? > 0)
    }
}

impl SessionLinks for PgGrants {
    async fn insert_code_sign_in(
        &self,
        code: &SecretDigest,
        sign_in: &CodeSignIn,
        expires_at: i64,
    ) -> StoreResult<()> {
        let q = sqlx::query(INSERT_CODE_SIGN_IN)
            .bind(code.to_hex())
            .bind(json_list(&sign_in.amr))
            .bind(&sign_in.session_sid)
            .bind(expires_at);
        self.pooled(q).await.map(|_| ())
    }

    async fn code_sign_in(&self, code: &SecretDigest) -> StoreResult<Option<CodeSignIn>> {
        // Read at every redemption: a hot connection, like the code and the user.
        let q = sqlx::query(SELECT_CODE_SIGN_IN).bind(code.to_hex());
        self.fetch_optional(q, rows::code_sign_in).await
    }

    async fn insert_session_client(&self, l: &SessionClient) -> StoreResult<()> {
        let q = sqlx::query(INSERT_SESSION_CLIENT)
            .bind(&l.session_sid)
            .bind(l.client_id.as_str())
            .bind(&l.family_id)
            .bind(l.created_at)
            .bind(l.expires_at);
        self.pooled(q).await.map(|_| ())
    }

    async fn insert_family_authn(&self, family_id: &str, amr: &[String]) -> StoreResult<()> {
        let q = sqlx::query(INSERT_FAMILY_AUTHN)
            .bind(family_id)
            .bind(json_list(amr));
        self.pooled(q).await.map(|_| ())
    }
}
