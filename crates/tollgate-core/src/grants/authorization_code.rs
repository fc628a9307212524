//! RFC 6749 section 4.1: redeeming an authorization code, with PKCE (RFC 7636), RFC 8707
//! resources, and revocation of what a replayed code issued.

use super::{Grant, NewFamily, UserGrant, invalid_grant, required};
use crate::authorize::{s256, valid_pkce_string};
use crate::client_auth::AuthenticatedClient;
use crate::engine::{Engine, TokenRequest};
use crate::error::OAuthError;
use crate::model::{Authn, AuthorizationCode, CodeRedemption, GrantType, SessionClient};
use crate::policy::Prior;
use crate::secret::SecretDigest;
use crate::store::AuthorizationCodes;
use crate::token::Issued;

pub struct AuthorizationCodeGrant;

pub struct CodeParams {
    code: String,
    redirect_uri: Option<String>,
    /// The dialect has no redirect URI on its token endpoint (Twilio v1).
    redirect_uri_optional: bool,
    code_verifier: Option<String>,
    resource: Vec<String>,
}

impl Grant for AuthorizationCodeGrant {
    const TYPE: GrantType = GrantType::AuthorizationCode;
    type Params = CodeParams;

    fn params(req: TokenRequest) -> Result<CodeParams, OAuthError> {
        Ok(CodeParams {
            code: required(req.code, "code")?,
            redirect_uri: req.redirect_uri,
            redirect_uri_optional: req.redirect_uri_optional,
            code_verifier: req.code_verifier,
            resource: req.resource,
        })
    }

    async fn issue(
        engine: &Engine,
        client: &AuthenticatedClient,
        p: Self::Params,
    ) -> Result<Issued, OAuthError> {
        let now = engine.clock.now();
        let family_id = client
            .allows(GrantType::RefreshToken)
            .then(|| engine.random_id::<16>())
            .transpose()?;
        let jti = engine.random_id::<16>()?;
        let digest = SecretDigest::of(&p.code);
        let peek = peek(engine.store.as_ref(), client, &digest, &p, now).await?;
        let prior = Prior {
            scopes: &peek.scopes,
            resources: &peek.resources,
        };
        let decision = engine.client_policy(client, None, &p.resource, Some(prior))?;
        let record = redeem(engine, client, &digest, family_id.as_deref(), &jti, now).await?;
        let user = engine
            .store
            .user(&record.user_sid)
            .await?
            .ok_or_else(|| invalid_grant("the user no longer exists"))?;
        let family = family_id.map(|id| NewFamily {
            id,
            resources: if record.resources.is_empty() {
                p.resource.clone()
            } else {
                record.resources.clone()
            },
        });
        // How the user signed in (no record means a password) and the browser session.
        let sign_in = engine.store.code_sign_in(&digest).await?;
        let session_sid = sign_in.as_ref().and_then(|s| s.session_sid.clone());
        let authn = decision
            .scopes
            .iter()
            .any(|s| s == "openid")
            .then(|| Authn::recorded(sign_in.map(|s| s.amr)));
        let family_id = family.as_ref().map(|f| f.id.clone());
        let grant = UserGrant {
            user: &user,
            decision: &decision,
            jti,
            family,
            auth_time: record.auth_time,
            nonce: record.nonce.as_deref(),
            authn,
            session_sid: session_sid.as_deref(),
            session_link: session_sid
                .clone()
                .map(|sid| session_link(engine, client, sid, family_id, now)),
        };
        engine.issue_for_user(client, grant).await
    }
}

/// Reads the code without spending it and checks that it is this client's and, unless it was
/// used already (a replay, handled at redemption), its binding.
async fn peek(
    store: &(impl AuthorizationCodes + ?Sized),
    client: &AuthenticatedClient,
    digest: &SecretDigest,
    p: &CodeParams,
    now: i64,
) -> Result<AuthorizationCode, OAuthError> {
    // Nothing is spent or revoked before the code's binding checks out: a client that is
    // not the code's own cannot burn it or revoke what it issued.
    let peek = store
        .authorization_code(digest)
        .await?
        .ok_or_else(|| invalid_grant("the authorization code is unknown"))?;
    if peek.client_id != client.id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if peek.used_at.is_none() {
        check_code_binding(&peek, p, now)?;
        // RFC 9449 section 10: a code bound to a key needs a proof of that key.
        if let Some(bound) = &peek.dpop_jkt
            && client.dpop_jkt() != Some(bound.as_str())
        {
            return Err(invalid_grant(
                "the authorization code is bound to a DPoP key: send a proof of that key",
            ));
        }
    }
    Ok(peek)
}

/// The record that the browser session signed in to this client: a logout reaches it and its
/// family.
fn session_link(
    engine: &Engine,
    client: &AuthenticatedClient,
    sid: String,
    family_id: Option<String>,
    now: i64,
) -> SessionClient {
    SessionClient {
        session_sid: sid,
        client_id: client.id.clone(),
        family_id,
        created_at: now,
        expires_at: now
            + i64::from(engine.config.session_lifetime_secs)
            + i64::from(engine.config.refresh_token_ttl),
    }
}

/// Spends the code, recording the family and access token it issues; a replay revokes what
/// the first redemption issued (RFC 6749 section 4.1.2).
async fn redeem(
    engine: &Engine,
    client: &AuthenticatedClient,
    digest: &SecretDigest,
    family_id: Option<&str>,
    jti: &str,
    now: i64,
) -> Result<AuthorizationCode, OAuthError> {
    let ttl = i64::from(
        client
            .access_token_ttl
            .unwrap_or(engine.config.access_token_ttl),
    );
    match engine
        .store
        .redeem_code(digest, now, family_id, jti, now + ttl)
        .await?
    {
        CodeRedemption::Unknown => Err(invalid_grant("the authorization code is unknown")),
        CodeRedemption::Replayed(record) => {
            // This is the code's own client: the binding was checked before.
            if let Some(f) = &record.family_id {
                engine.store.revoke_refresh_family(f, now).await?;
            }
            if let (Some(j), Some(exp)) = (&record.access_jti, record.access_expires_at) {
                engine.revoke_access_token(j, exp).await?;
            }
            tracing::warn!(client_id = %record.client_id, "authorization code replayed; its tokens are revoked");
            Err(invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ))
        }
        CodeRedemption::Fresh(record) => Ok(record),
    }
}

/// Expiry, redirect URI and PKCE: checked before the code is spent.
fn check_code_binding(
    record: &AuthorizationCode,
    p: &CodeParams,
    now: i64,
) -> Result<(), OAuthError> {
    if record.expires_at <= now {
        return Err(invalid_grant("the authorization code has expired"));
    }
    // Twilio v1 has no RedirectUri on its token endpoint: there an absent one is allowed
    // and the code stays bound by client authentication and PKCE.
    let may_omit = p.redirect_uri_optional && p.redirect_uri.is_none();
    if let Some(expected) = &record.redirect_uri
        && !may_omit
        && p.redirect_uri.as_deref() != Some(expected.as_str())
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.code_challenge, p.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) => {
            if !valid_pkce_string(verifier) || s256(verifier) != *challenge {
                return Err(invalid_grant(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier given but the request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}
