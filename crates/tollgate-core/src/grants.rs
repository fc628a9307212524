//! The user grants: authorization code redemption (with PKCE and replay revocation) and
//! refresh-token rotation (with a grace window and family revocation).

use crate::authorize::{s256, valid_pkce_string};
use crate::engine::{Engine, TokenRequest};
use crate::error::{ErrorKind, OAuthError};
use crate::model::{
    Client, CodeRedemption, GrantType, RefreshFamily, RefreshRotation, RefreshToken, User,
};
use crate::scope;
use crate::secret::{Secret, SecretDigest};
use crate::token::Issued;

/// What a refresh family carries beyond its scopes: the RFC 8707 resources granted and, for
/// a public client, the DPoP key its refresh tokens are bound to.
#[derive(Debug, Clone, Default)]
pub(crate) struct FamilyBinding {
    pub auth_time: i64,
    pub resources: Vec<String>,
    pub dpop_jkt: Option<String>,
}

/// RFC 8707 section 2.2: a token request's `resource`s must be among those granted (or, when
/// none were named, registered for the client); none asked means all that were granted.
fn narrowed_audience(
    engine: &Engine,
    client: &Client,
    granted: &[String],
    asked: &[String],
) -> Result<Vec<String>, OAuthError> {
    let asked: Vec<String> = asked.iter().filter(|a| !a.is_empty()).cloned().collect();
    if asked.is_empty() {
        return engine.audience(client, granted);
    }
    if !granted.is_empty()
        && let Some(bad) = asked.iter().find(|a| !granted.contains(a))
    {
        return Err(OAuthError::new(
            ErrorKind::InvalidTarget,
            format!(
                "resource {:?} was not part of the grant",
                bad.chars().take(100).collect::<String>()
            ),
        ));
    }
    engine.audience(client, &asked)
}

fn invalid_grant(msg: &'static str) -> OAuthError {
    OAuthError::new(ErrorKind::InvalidGrant, msg)
}

/// Expiry, redirect URI and PKCE: checked before the code is spent.
fn check_code_binding(
    record: &crate::model::AuthorizationCode,
    req: &TokenRequest,
    now: i64,
) -> Result<(), OAuthError> {
    if record.expires_at <= now {
        return Err(invalid_grant("the authorization code has expired"));
    }
    // Twilio v1 has no RedirectUri on its token endpoint: there an absent one is allowed
    // and the code stays bound by client authentication and PKCE.
    let may_omit = req.redirect_uri_optional && req.redirect_uri.is_none();
    if let Some(expected) = &record.redirect_uri
        && !may_omit
        && req.redirect_uri.as_deref() != Some(expected.as_str())
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.code_challenge, req.code_verifier.as_deref()) {
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

impl Engine {
    pub(crate) async fn authorization_code(
        &self,
        client: &Client,
        req: &TokenRequest,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        let code = req
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let now = self.clock.now();
        let family_id = client
            .allows(GrantType::RefreshToken)
            .then(|| self.random_id::<16>())
            .transpose()?;
        let jti = self.random_id::<16>()?;
        let ttl = i64::from(
            client
                .access_token_ttl
                .unwrap_or(self.config.access_token_ttl),
        );
        let digest = SecretDigest::of(code);
        // Nothing is spent or revoked before the code's binding checks out: a client that is
        // not the code's own cannot burn it or revoke what it issued.
        let peek = self
            .store
            .authorization_code(&digest)
            .await?
            .ok_or_else(|| invalid_grant("the authorization code is unknown"))?;
        if peek.client_id != client.id {
            return Err(invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if peek.used_at.is_none() {
            check_code_binding(&peek, req, now)?;
        }
        let audience = narrowed_audience(self, client, &peek.resources, &req.resource)?;
        let redemption = self
            .store
            .redeem_code(&digest, now, family_id.as_deref(), &jti, now + ttl)
            .await?;
        let record = match redemption {
            CodeRedemption::Unknown => {
                return Err(invalid_grant("the authorization code is unknown"));
            }
            CodeRedemption::Replayed(record) => {
                // RFC 6749 section 4.1.2: revoke what the first redemption issued (this is the
                // code's own client: the binding was checked above).
                if let Some(f) = &record.family_id {
                    self.store.revoke_refresh_family(f, now).await?;
                }
                if let (Some(j), Some(exp)) = (&record.access_jti, record.access_expires_at) {
                    self.revoke_access_token(j, exp).await?;
                }
                tracing::warn!(client_id = %record.client_id, "authorization code replayed; its tokens are revoked");
                return Err(invalid_grant(
                    "the authorization code was already used; tokens issued from it are revoked",
                ));
            }
            CodeRedemption::Fresh(record) => record,
        };
        let user = self
            .store
            .user(&record.user_sid)
            .await?
            .ok_or_else(|| invalid_grant("the user no longer exists"))?;
        let scope_str = scope::join(&record.scopes);
        let mut issued = self
            .mint_for_user(client, &user, &scope_str, &audience, &jti, jkt)
            .await?;
        if let Some(family_id) = family_id {
            let resources = if record.resources.is_empty() {
                req.resource.clone()
            } else {
                record.resources.clone()
            };
            let binding = FamilyBinding {
                auth_time: record.auth_time,
                resources,
                dpop_jkt: client
                    .is_public()
                    .then_some(jkt)
                    .flatten()
                    .map(str::to_owned),
            };
            self.start_refresh_family(
                family_id,
                client,
                &user,
                &record.scopes,
                binding,
                &mut issued,
            )
            .await?;
        }
        if record.scopes.iter().any(|s| s == "openid") {
            issued.id_token = Some(self.id_token(
                client,
                &user,
                &record.scopes,
                record.auth_time,
                record.nonce.as_deref(),
            )?);
        }
        Ok(issued)
    }

    pub(crate) async fn refresh(
        &self,
        client: &Client,
        req: &TokenRequest,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        let presented = req
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let now = self.clock.now();
        let digest = SecretDigest::of(presented);
        let Some((token, family, user)) = self.store.refresh_token_with_user(&digest).await? else {
            return Err(invalid_grant("the refresh token is unknown"));
        };
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
            && jkt != Some(bound.as_str())
        {
            return Err(OAuthError::new(
                ErrorKind::InvalidDpopProof,
                "the refresh token is bound to another DPoP key",
            ));
        }
        let audience = narrowed_audience(self, client, &family.resources, &req.resource)?;
        // Everything that can refuse the request is checked before the token is spent.
        let scopes = match req.scope.as_deref().filter(|s| !s.is_empty()) {
            None => family.scopes.clone(),
            Some(raw) => {
                let asked = scope::parse(raw)
                    .map_err(|e| OAuthError::new(ErrorKind::InvalidScope, e.to_string()))?;
                if let Some(bad) = asked.iter().find(|s| !family.scopes.contains(s)) {
                    return Err(OAuthError::new(
                        ErrorKind::InvalidScope,
                        format!("scope {bad:?} was not granted"),
                    ));
                }
                asked
            }
        };
        let user = user.ok_or_else(|| invalid_grant("the user no longer exists"))?;
        let (secret, next) = self.new_refresh_token(&family.id, now)?;
        let grace = i64::from(self.config.refresh_grace_secs);
        // Used before: fine within the grace window (a client retrying, or two tabs racing),
        // otherwise a sign of theft, and the store has revoked the whole family.
        if self
            .store
            .rotate_refresh_token(&digest, &next, now, grace)
            .await?
            == RefreshRotation::Reused
        {
            metrics::counter!("tollgate_refresh_reuse_detected_total").increment(1);
            tracing::warn!(client_id = %client.id, "refresh token reused; family revoked");
            return Err(invalid_grant(
                "the refresh token was already used; all tokens of this grant are revoked",
            ));
        }
        let jti = self.random_id::<16>()?;
        let mut issued = self
            .mint_for_user(client, &user, &scope::join(&scopes), &audience, &jti, jkt)
            .await?;
        issued.refresh_token = Some(secret.expose().to_owned());
        issued.refresh_token_expires_at = Some(next.expires_at);
        if scopes.iter().any(|s| s == "openid") {
            issued.id_token =
                Some(self.id_token(client, &user, &scopes, family.auth_time, None)?);
        }
        Ok(issued)
    }

    fn new_refresh_token(
        &self,
        family_id: &str,
        now: i64,
    ) -> Result<(Secret, RefreshToken), OAuthError> {
        let secret = Secret::generate(self.rng.as_ref())?;
        let token = RefreshToken {
            digest: secret.digest(),
            family_id: family_id.to_owned(),
            created_at: now,
            expires_at: now + i64::from(self.config.refresh_token_ttl),
            used_at: None,
        };
        Ok((secret, token))
    }

    pub(crate) async fn mint_for_user(
        &self,
        client: &Client,
        user: &User,
        scope: &str,
        audience: &[String],
        jti: &str,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        self.mint(
            client,
            user.sid.as_str(),
            scope,
            audience,
            Some(user.account_sid.as_str()),
            (jti, jkt),
        )
        .await
    }

    /// Starts a refresh family for a fresh grant and records its first token on `issued`.
    pub(crate) async fn start_refresh_family(
        &self,
        family_id: String,
        client: &Client,
        user: &User,
        scopes: &[String],
        binding: FamilyBinding,
        issued: &mut Issued,
    ) -> Result<(), OAuthError> {
        let now = self.clock.now();
        let family = RefreshFamily {
            id: family_id,
            client_id: client.id.clone(),
            user_sid: user.sid.clone(),
            scopes: scopes.to_vec(),
            auth_time: binding.auth_time,
            created_at: now,
            revoked_at: None,
            resources: binding.resources,
            dpop_jkt: binding.dpop_jkt,
        };
        let (secret, token) = self.new_refresh_token(&family.id, now)?;
        self.store.insert_refresh_family(&family, &token).await?;
        issued.refresh_token = Some(secret.expose().to_owned());
        issued.refresh_token_expires_at = Some(token.expires_at);
        Ok(())
    }
}
