//! Reading our own tokens back: RFC 7662 introspection, RFC 7009 revocation, and the bearer
//! check userinfo uses. JWT and opaque access tokens and refresh tokens are all understood.

use jsonwebtoken::Validation;
use serde::Serialize;

use crate::engine::Engine;
use crate::error::OAuthError;
use crate::ids::ClientId;
use crate::keys::KeySet;
use crate::model::Client;
use crate::secret::SecretDigest;

pub use crate::token::AccessTokenInfo;

/// RFC 7662 response; inactive tokens carry nothing but `active: false`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Introspection {
    pub active: bool,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub token_type: Option<&'static str>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub sub: Option<String>,
    pub aud: Option<serde_json::Value>,
    pub iss: Option<String>,
    pub jti: Option<String>,
    pub account_sid: Option<String>,
    /// RFC 9449 section 6.2: the key a DPoP-bound token is bound to.
    pub cnf: Option<crate::token::TokenConfirmation>,
}

/// Bound on remembered signature checks (about 1 KiB each).
const VERIFIED_CACHE_LIMIT: usize = 50_000;

/// A JWT whose signature checked out: the signature itself (a token is found by a hash of the
/// whole, and must carry this signature), the key that made it, and what it says.
pub(crate) struct VerifiedJwt {
    signature: Box<str>,
    kid: String,
    info: crate::token::AccessTokenInfo,
}

pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// The signature and claims check of a JWT access token: `typ: at+jwt`, a `kid` in `keys`,
/// that key's algorithm, our issuer, unexpired. Returns the signing `kid` and the claims;
/// revocation is the caller's to check.
pub(crate) fn verify_jwt(
    keys: &KeySet,
    issuer: &str,
    token: &str,
) -> Option<(String, AccessTokenInfo)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.typ.as_deref() != Some("at+jwt") {
        return None;
    }
    let key = header.kid.as_deref().and_then(|kid| keys.key(kid))?;
    let decoding = key.decoding_key()?;
    if header.alg != key.jwt_algorithm() {
        return None;
    }
    let mut v = Validation::new(key.jwt_algorithm());
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = jsonwebtoken::decode::<AccessTokenInfo>(token, decoding, &v).ok()?;
    Some((key.kid().to_owned(), data.claims))
}

impl Engine {
    /// A JWT we signed (current key set, our issuer, not expired, `typ: at+jwt`) or an opaque
    /// token we recorded; `None` for anything else, revoked ones included.
    pub async fn inspect_access_token(
        &self,
        token: &str,
    ) -> Result<Option<AccessTokenInfo>, OAuthError> {
        let now = self.clock.now();
        if !looks_like_jwt(token) {
            return self.inspect_opaque_token(token, now).await;
        }
        // A keyed hash finds the entry and the signature must match too: SHA-256 of the
        // whole token cost more than the rest of an introspection.
        let key = std::hash::BuildHasher::hash_one(&self.verified_keys, token);
        let signature = token.rsplit('.').next().unwrap_or_default();
        let cached = self
            .verified
            .get(&key)
            .filter(|e| *e.signature == *signature)
            .map(|e| (e.kid.clone(), e.info.clone()));
        if let Some((kid, info)) = cached {
            if info.exp > now && self.key_set().key(&kid).is_some() {
                if self.access_token_revoked(&info.jti).await? {
                    return Ok(None);
                }
                return Ok(Some(info));
            }
            self.verified.remove(&key);
            return Ok(None);
        }
        let Some((kid, claims)) = verify_jwt(&self.key_set(), self.issuer(), token) else {
            return Ok(None);
        };
        if self.access_token_revoked(&claims.jti).await? {
            return Ok(None);
        }
        if self.verified.len() >= VERIFIED_CACHE_LIMIT {
            let now = self.clock.now();
            self.verified.retain(|_, e| e.info.exp > now);
            if self.verified.len() >= VERIFIED_CACHE_LIMIT {
                self.verified.clear();
            }
        }
        let entry = VerifiedJwt {
            signature: signature.into(),
            kid,
            info: claims.clone(),
        };
        self.verified.insert(key, entry);
        Ok(Some(claims))
    }

    /// An opaque token we recorded, unless revoked or expired.
    async fn inspect_opaque_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<AccessTokenInfo>, OAuthError> {
        let Some(t) = self.store.opaque_token(&SecretDigest::of(token)).await? else {
            return Ok(None);
        };
        if t.revoked_at.is_some() || t.expires_at <= now {
            return Ok(None);
        }
        let aud = match t.audiences.as_slice() {
            [one] => serde_json::Value::String(one.clone()),
            many => serde_json::json!(many),
        };
        Ok(Some(AccessTokenInfo {
            iss: self.issuer().to_owned(),
            sub: t.sub,
            aud,
            client_id: t.client_id.to_string(),
            scope: t.scope,
            iat: t.issued_at,
            nbf: Some(t.issued_at),
            exp: t.expires_at,
            jti: t.jti,
            account_sid: t.account_sid,
            cnf: t
                .dpop_jkt
                .map(|jkt| crate::token::TokenConfirmation { jkt }),
        }))
    }

    /// Whether `caller` may see a token issued to `owner`: clients of the same account may.
    fn may_see(&self, caller: &Client, owner: &str) -> bool {
        ClientId::parse(owner)
            .ok()
            .and_then(|id| self.client(&id))
            .is_some_and(|c| c.account_sid == caller.account_sid)
    }

    /// RFC 7662. Only confidential clients may ask; they see tokens of their own account.
    pub async fn introspect(
        &self,
        caller: &Client,
        token: &str,
        hint: Option<&str>,
    ) -> Result<Introspection, OAuthError> {
        if caller.is_public() {
            return Err(OAuthError::invalid_client(
                "public clients cannot use introspection",
            ));
        }
        let refresh_first = hint == Some("refresh_token") && !looks_like_jwt(token);
        if refresh_first && let Some(i) = self.introspect_refresh(caller, token).await? {
            return Ok(i);
        }
        if let Some(at) = self.inspect_access_token(token).await?
            && self.may_see(caller, &at.client_id)
        {
            return Ok(Introspection {
                active: true,
                scope: Some(at.scope),
                client_id: Some(at.client_id),
                token_type: Some(if at.cnf.is_some() { "DPoP" } else { "Bearer" }),
                exp: Some(at.exp),
                iat: Some(at.iat),
                nbf: at.nbf,
                sub: Some(at.sub),
                aud: Some(at.aud),
                iss: Some(at.iss),
                jti: Some(at.jti),
                account_sid: at.account_sid,
                cnf: at.cnf,
            });
        }
        if !refresh_first
            && !looks_like_jwt(token)
            && let Some(i) = self.introspect_refresh(caller, token).await?
        {
            return Ok(i);
        }
        Ok(Introspection::default())
    }

    async fn introspect_refresh(
        &self,
        caller: &Client,
        token: &str,
    ) -> Result<Option<Introspection>, OAuthError> {
        let now = self.clock.now();
        let Some((t, family)) = self.store.refresh_token(&SecretDigest::of(token)).await? else {
            return Ok(None);
        };
        let spent = t
            .used_at
            .is_some_and(|u| now - u > i64::from(self.config.refresh_grace_secs));
        if family.revoked_at.is_some()
            || t.expires_at <= now
            || spent
            || !self.may_see(caller, family.client_id.as_str())
        {
            return Ok(Some(Introspection::default()));
        }
        Ok(Some(Introspection {
            active: true,
            scope: Some(family.scopes.join(" ")),
            client_id: Some(family.client_id.to_string()),
            token_type: Some("refresh_token"),
            exp: Some(t.expires_at),
            iat: Some(t.created_at),
            sub: Some(family.user_sid.to_string()),
            iss: Some(self.issuer().to_owned()),
            ..Introspection::default()
        }))
    }

    /// RFC 7009. Tokens that are unknown, invalid or another client's are ignored (200 all the
    /// same, so revocation reveals nothing). The hint only orders the search: a refresh token
    /// sent with `token_type_hint=access_token` is still found (section 2.1).
    pub async fn revoke(
        &self,
        caller: &Client,
        token: &str,
        hint: Option<&str>,
    ) -> Result<(), OAuthError> {
        let refresh_first = hint != Some("access_token");
        if refresh_first && self.revoke_refresh(caller, token).await? {
            return Ok(());
        }
        if let Some(at) = self.inspect_access_token(token).await? {
            if at.client_id == caller.id.as_str() {
                if looks_like_jwt(token) {
                    self.revoke_access_token(&at.jti, at.exp).await?;
                } else {
                    self.store
                        .revoke_opaque_token(&SecretDigest::of(token), self.clock.now())
                        .await?;
                }
            }
            return Ok(());
        }
        if !refresh_first {
            self.revoke_refresh(caller, token).await?;
        }
        Ok(())
    }

    /// Revokes the family of a refresh token of the caller's; true when `token` is a refresh
    /// token at all (the caller's or not).
    async fn revoke_refresh(&self, caller: &Client, token: &str) -> Result<bool, OAuthError> {
        if looks_like_jwt(token) {
            return Ok(false);
        }
        let Some((_, family)) = self.store.refresh_token(&SecretDigest::of(token)).await? else {
            return Ok(false);
        };
        if family.client_id == caller.id {
            self.store
                .revoke_refresh_family(&family.id, self.clock.now())
                .await?;
        }
        Ok(true)
    }
}
