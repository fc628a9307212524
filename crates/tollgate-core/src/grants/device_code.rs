//! RFC 8628 section 3.4: a device polling the token endpoint with its device code.

use super::{Grant, NewFamily, UserGrant, required};
use crate::client_auth::AuthenticatedClient;
use crate::engine::{Engine, TokenRequest};
use crate::error::{ErrorKind, OAuthError};
use crate::model::{Authn, DeviceGrant, DeviceStatus, GrantType};
use crate::policy::Prior;
use crate::secret::SecretDigest;
use crate::token::Issued;

pub struct DeviceCodeGrant;

pub struct DeviceCodeParams {
    device_code: String,
    device_id: Option<String>,
}

fn refused(kind: ErrorKind, msg: &'static str) -> OAuthError {
    OAuthError::new(kind, msg)
}

impl Grant for DeviceCodeGrant {
    const TYPE: GrantType = GrantType::DeviceCode;
    type Params = DeviceCodeParams;

    fn params(req: TokenRequest) -> Result<DeviceCodeParams, OAuthError> {
        Ok(DeviceCodeParams {
            device_code: required(req.device_code, "device_code")?,
            device_id: req.device_id,
        })
    }

    async fn issue(
        engine: &Engine,
        client: &AuthenticatedClient,
        p: Self::Params,
    ) -> Result<Issued, OAuthError> {
        let digest = SecretDigest::of(&p.device_code);
        let now = engine.clock.now();
        let grant = engine
            .store
            .device_grant(&digest)
            .await?
            .ok_or_else(|| refused(ErrorKind::InvalidGrant, "the device code is unknown"))?;
        if grant.client_id != client.id {
            return Err(refused(
                ErrorKind::InvalidGrant,
                "the device code was issued to another client",
            ));
        }
        if grant.expires_at <= now {
            return Err(refused(
                ErrorKind::ExpiredToken,
                "the device code has expired; start over",
            ));
        }
        match grant.status {
            DeviceStatus::Denied => Err(refused(
                ErrorKind::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Consumed => Err(refused(
                ErrorKind::InvalidGrant,
                "the device code was already used",
            )),
            DeviceStatus::Pending => pending(engine, &grant, &digest, now).await,
            DeviceStatus::Approved => approved(engine, client, &grant, &digest, p, now).await,
        }
    }
}

/// Not decided yet: `authorization_pending`, or `slow_down` for a device polling too fast.
async fn pending(
    engine: &Engine,
    grant: &DeviceGrant,
    digest: &SecretDigest,
    now: i64,
) -> Result<Issued, OAuthError> {
    if grant
        .last_polled_at
        .is_some_and(|last| now - last < grant.interval)
    {
        let slower = grant.interval + 5;
        engine.store.record_device_poll(digest, now, slower).await?;
        return Err(OAuthError::new(
            ErrorKind::SlowDown,
            format!("polling too fast; wait {slower} seconds between requests"),
        ));
    }
    engine
        .store
        .record_device_poll(digest, now, grant.interval)
        .await?;
    Err(refused(
        ErrorKind::AuthorizationPending,
        "the user has not finished yet",
    ))
}

/// Approved: spent once, then issued under the client's current policy.
async fn approved(
    engine: &Engine,
    client: &AuthenticatedClient,
    grant: &DeviceGrant,
    digest: &SecretDigest,
    p: DeviceCodeParams,
    now: i64,
) -> Result<Issued, OAuthError> {
    let prior = Prior {
        scopes: &grant.scopes,
        resources: &grant.audiences,
    };
    let decision = engine.client_policy(client, None, &[], Some(prior))?;
    if !engine
        .store
        .consume_device_grant(digest, p.device_id.as_deref())
        .await?
    {
        return Err(refused(
            ErrorKind::InvalidGrant,
            "the device code was already used",
        ));
    }
    let user_sid = grant
        .user_sid
        .clone()
        .ok_or_else(OAuthError::server_error)?;
    let user = engine
        .store
        .user(&user_sid)
        .await?
        .ok_or_else(|| refused(ErrorKind::InvalidGrant, "the user no longer exists"))?;
    let jti = engine.random_id::<16>()?;
    let family = client
        .allows(GrantType::RefreshToken)
        .then(|| engine.random_id::<16>())
        .transpose()?
        .map(|id| NewFamily {
            id,
            resources: grant.audiences.clone(),
        });
    // `amr` matters only to id_tokens, which a grant without `openid` never gets.
    let authn = if decision.scopes.iter().any(|s| s == "openid") {
        Some(Authn::recorded(engine.store.code_authn(digest).await?))
    } else {
        None
    };
    let g = UserGrant {
        user: &user,
        decision: &decision,
        jti,
        family,
        auth_time: grant.auth_time.unwrap_or(now),
        nonce: None,
        authn,
        session_sid: None,
        session_link: None,
    };
    engine.issue_for_user(client, g).await
}
