//! RFC 9449 DPoP: proofs of possession checked at the token endpoint and at userinfo, key
//! thumbprints (RFC 7638) for `cnf.jkt`, and stateless server nonces.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::jose::{
    access_token_hash, client_algs, has_private_members, key_fits, signature_only, thumbprint,
};

/// A `DPoP` header as the dialect found it, with the request it must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    pub jwt: String,
    /// `htm`: the request's method.
    pub method: String,
    /// `htu`: the request's URL, without query and fragment.
    pub url: String,
}

/// Seconds a nonce window lasts; a nonce is good in its window and the next.
const NONCE_WINDOW: i64 = 60;

/// `htu` compares without query and fragment (RFC 9449 section 4.3).
fn normalise_htu(u: &str) -> Option<String> {
    let mut url = url::Url::parse(u).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

#[derive(Debug, Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

pub(crate) fn invalid_proof(why: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorKind::InvalidDpopProof, why)
}

/// A proof's key thumbprint (`jkt`) and claims, once its header, public key and signature
/// check out.
fn signed_claims(jwt: &str, fapi: bool) -> Result<(String, ProofClaims), OAuthError> {
    let head = crate::jose::header_json(jwt)
        .ok_or_else(|| invalid_proof("the DPoP proof is not a well-formed JWT"))?;
    if head.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid_proof("the DPoP proof's typ must be dpop+jwt"));
    }
    let header = jsonwebtoken::decode_header(jwt)
        .map_err(|_| invalid_proof("the DPoP proof's header is not understood"))?;
    if !client_algs(fapi).contains(&header.alg) {
        return Err(invalid_proof(
            "the DPoP proof must be signed with an asymmetric algorithm this server accepts",
        ));
    }
    let raw_jwk = head
        .get("jwk")
        .ok_or_else(|| invalid_proof("the DPoP proof has no jwk header"))?;
    if has_private_members(raw_jwk) {
        return Err(invalid_proof("the DPoP proof's jwk must be a public key"));
    }
    let jwk: Jwk = serde_json::from_value(raw_jwk.clone())
        .map_err(|_| invalid_proof("the DPoP proof's jwk is not understood"))?;
    if !key_fits(&jwk, header.alg) {
        return Err(invalid_proof("the DPoP proof's jwk does not fit its alg"));
    }
    let jkt = thumbprint(raw_jwk)
        .ok_or_else(|| invalid_proof("the DPoP proof's jwk is not understood"))?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| invalid_proof("the DPoP proof's jwk is not understood"))?;
    let v = signature_only(header.alg);
    let claims = jsonwebtoken::decode::<ProofClaims>(jwt, &key, &v)
        .map_err(|_| invalid_proof("the DPoP proof's signature or claims are invalid"))?
        .claims;
    Ok((jkt, claims))
}

impl Engine {
    /// Checks a proof and spends its `jti`; returns the key's thumbprint (`jkt`).
    /// `access_token` is given at resource use, where the proof must carry its `ath`.
    pub async fn verify_dpop_proof(
        &self,
        proof: &DpopProof,
        access_token: Option<&str>,
        fapi: bool,
    ) -> Result<String, OAuthError> {
        let (jkt, claims) = signed_claims(proof.jwt.trim(), fapi)?;
        // RFC 9449 section 4.3: method names are case-sensitive (RFC 9110 section 9.1).
        if claims.htm != proof.method {
            return Err(invalid_proof(
                "the DPoP proof's htm is not this request's method",
            ));
        }
        if normalise_htu(&claims.htu).is_none()
            || normalise_htu(&claims.htu) != normalise_htu(&proof.url)
        {
            return Err(invalid_proof(
                "the DPoP proof's htu is not this endpoint's URL",
            ));
        }
        let now = self.clock.now();
        let window = i64::from(self.config.dpop_proof_window);
        if (now - claims.iat).abs() > window {
            return Err(invalid_proof(
                "the DPoP proof's iat is too old or in the future",
            ));
        }
        if self.config.dpop_nonce
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|n| self.dpop_nonce_valid(n, now))
        {
            return Err(OAuthError::new(
                ErrorKind::UseDpopNonce,
                "the DPoP proof must carry the nonce given in the DPoP-Nonce header",
            ));
        }
        if let Some(token) = access_token
            && claims.ath.as_deref() != Some(access_token_hash(token).as_str())
        {
            return Err(invalid_proof(
                "the DPoP proof's ath does not match the access token",
            ));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(invalid_proof("the DPoP proof needs a jti"));
        }
        let key = format!("dpop:{jkt}:{}", claims.jti);
        if !self
            .store
            .use_once(&key, claims.iat + window + 1, now)
            .await?
        {
            return Err(invalid_proof(
                "the DPoP proof was already used (jti replayed)",
            ));
        }
        Ok(jkt)
    }

    /// The nonce to send in `DPoP-Nonce`, when server nonces are on.
    pub fn dpop_nonce(&self) -> Option<String> {
        if !self.config.dpop_nonce {
            return None;
        }
        let window = self.clock.now().div_euclid(NONCE_WINDOW);
        Some(self.nonce_for(window))
    }

    fn nonce_for(&self, window: i64) -> String {
        let w = window.to_string();
        format!("{w}.{}", self.sealer.mac(&[b"dpop-nonce", w.as_bytes()]))
    }

    fn dpop_nonce_valid(&self, nonce: &str, now: i64) -> bool {
        let Some((w, tag)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(window) = w.parse::<i64>() else {
            return false;
        };
        let current = now.div_euclid(NONCE_WINDOW);
        (window == current || window + 1 == current)
            && self.sealer.verify_mac(&[b"dpop-nonce", w.as_bytes()], tag)
    }
}
