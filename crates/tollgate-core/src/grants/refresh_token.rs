//! RFC 6749 section 6: refresh-token rotation, with a grace window for retries and the whole
//! family revoked on reuse (OAuth 2.0 Security BCP section 4.14).

use super::{Grant, UserGrant, invalid_grant, required};
use crate::client_auth::AuthenticatedClient;
use crate::engine::{Engine, TokenRequest};
use crate::error::{ErrorKind, OAuthError};
use crate::model::{Authn, GrantType, RefreshFamily, RefreshRotation, RefreshToken};
use crate::policy::Prior;
use crate::secret::SecretDigest;
use crate::token::Issued;

pub struct RefreshTokenGrant;

pub struct RefreshParams {
    refresh_token: String,
    scope: Option<String>,
    resource: Vec<String>,
}

impl Grant for RefreshTokenGrant {
    const TYPE: GrantType = GrantType::RefreshToken;
    type Params = RefreshParams;

    fn params(req: TokenRequest) -> Result<RefreshParams, OAuthError> {
        Ok(RefreshParams {
            refresh_token: required(req.refresh_token, "refresh_token")?,
            scope: req.scope,
            resource: req.resource,
        })
    }

    async fn issue(
        engine: &Engine,
        client: &AuthenticatedClient,
        p: Self::Params,
    ) -> Result<Issued, OAuthError> {
        let now = engine.clock.now();
        let digest = SecretDigest::of(&p.refresh_token);
        let Some((token, family, user)) = engine.store.refresh_token_with_user(&digest).await?
        else {
            return Err(invalid_grant("the refresh token is unknown"));
        };
        check_family(client, &token, &family, now)?;
        // Everything that can refuse the request is checked before the token is spent; the
        // client's current policy narrows what the family was granted.
        let prior = Prior {
            scopes: &family.scopes,
            resources: &family.resources,
        };
        let decision =
            engine.client_policy(client, p.scope.as_deref(), &p.resource, Some(prior))?;
        let user = user.ok_or_else(|| invalid_grant("the user no longer exists"))?;
        let (secret, next) = engine.new_refresh_token(&family.id, now)?;
        rotate(engine, client, &digest, &next, now).await?;
        // An id token from a family that a browser session started carries that session's sid.
        // How the user signed in and the session's sid matter only to an id_token: a family
        // without `openid` never gets one, so its rotations skip both reads.
        let openid = decision.scopes.iter().any(|s| s == "openid");
        let (session_sid, authn) = if openid {
            let sid = engine.store.family_session(&family.id).await?;
            let amr = engine.store.family_authn(&family.id).await?;
            (sid, Some(Authn::recorded(amr)))
        } else {
            (None, None)
        };
        let grant = UserGrant {
            user: &user,
            decision: &decision,
            jti: engine.random_id::<16>()?,
            family: None,
            auth_time: family.auth_time,
            nonce: None,
            // How the user signed in to start this grant (none recorded: a password).
            authn,
            session_sid: session_sid.as_deref(),
            session_link: None,
        };
        let mut issued = engine.issue_for_user(client, grant).await?;
        issued.refresh_token = Some(secret.expose().to_owned());
        issued.refresh_token_expires_at = Some(next.expires_at);
        Ok(issued)
    }
}

/// Spends the presented token for `next`. Used before: fine within the grace window (a client
/// retrying, or two tabs racing), otherwise a sign of theft, and the store has revoked the
/// whole family.
async fn rotate(
    engine: &Engine,
    client: &AuthenticatedClient,
    digest: &SecretDigest,
    next: &RefreshToken,
    now: i64,
) -> Result<(), OAuthError> {
    let grace = i64::from(engine.config.refresh_grace_secs);
    if engine
        .store
        .rotate_refresh_token(digest, next, now, grace)
        .await?
        == RefreshRotation::Reused
    {
        metrics::counter!("tollgate_refresh_reuse_detected_total").increment(1);
        tracing::warn!(client_id = %client.id, "refresh token reused; family revoked");
        return Err(invalid_grant(
            "the refresh token was already used; all tokens of this grant are revoked",
        ));
    }
    Ok(())
}

/// The token is this client's, live, and (for a DPoP-bound family) presented with its key.
fn check_family(
    client: &AuthenticatedClient,
    token: &RefreshToken,
    family: &RefreshFamily,
    now: i64,
) -> Result<(), OAuthError> {
    if family.client_id != client.id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if family.revoked_at.is_some() {
        return Err(invalid_grant("the refresh token has been revoked"));
    }
    if token.expires_at <= now {
        return Err(invalid_grant("the refresh token has expired"));
    }
    // RFC 9449 section 5: a public client's refresh token works only with its key.
    if let Some(bound) = &family.dpop_jkt
        && client.dpop_jkt() != Some(bound.as_str())
    {
        return Err(OAuthError::new(
            ErrorKind::InvalidDpopProof,
            "the refresh token is bound to another DPoP key",
        ));
    }
    Ok(())
}
