//! RFC 9449 DPoP for both ends: a [`DpopKey`] signs proofs for the token provider and for
//! calls to a resource; the validator checks proofs presented with DPoP-bound tokens.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{SdkError, ValidationError};

/// An ES256 key a client proves possession of.
pub struct DpopKey {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.thumbprint())
            .finish()
    }
}

fn random_b64(n: usize) -> Result<String, SdkError> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SdkError::Config("no randomness".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// `ath`: base64url SHA-256 of the access token.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()).as_ref())
}

/// RFC 7638 SHA-256 thumbprint of a public JWK.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = match s("kty")? {
        "EC" => json!({"crv": s("crv")?, "kty": "EC", "x": s("x")?, "y": s("y")?}),
        "OKP" => json!({"crv": s("crv")?, "kty": "OKP", "x": s("x")?}),
        "RSA" => json!({"e": s("e")?, "kty": "RSA", "n": s("n")?}),
        _ => return None,
    };
    let text = serde_json::to_string(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, text.as_bytes()).as_ref()))
}

impl DpopKey {
    /// A fresh ES256 key.
    pub fn generate() -> Result<Self, SdkError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| SdkError::Config("could not generate a DPoP key".into()))?;
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .map_err(|e| SdkError::Config(format!("DPoP key: {e}")))?;
        Ok(Self { encoding, jwk })
    }

    /// The key's `jkt`, which bound tokens carry in `cnf`.
    pub fn thumbprint(&self) -> Option<String> {
        serde_json::to_value(&self.jwk)
            .ok()
            .as_ref()
            .and_then(thumbprint)
    }

    /// A proof for `method` on `url`; `access_token` adds its `ath` (calls to a resource).
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, SdkError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({"htm": method, "htu": url, "iat": now, "jti": random_b64(16)?});
        if let Some(t) = access_token {
            claims["ath"] = json!(access_token_hash(t));
        }
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| SdkError::Config(format!("DPoP proof: {e}")))
    }
}

/// What a resource saw of a DPoP request.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header.
    pub proof: Option<&'a str>,
    /// The request's method and its URL (without query), as the client called it.
    pub method: &'a str,
    pub url: &'a str,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
}

const WINDOW: i64 = 60;

fn invalid(m: &str) -> ValidationError {
    ValidationError::InvalidDpopProof(m.to_owned())
}

fn strip_query(u: &str) -> &str {
    u.split(['?', '#']).next().unwrap_or(u)
}

/// Checks a proof for a token bound to `jkt` at time `now`.
pub(crate) fn verify(
    req: &DpopRequest<'_>,
    token: &str,
    jkt: &str,
    now: i64,
    replay: &dyn crate::replay::ReplayCache,
) -> Result<(), ValidationError> {
    let jwt = req
        .proof
        .ok_or_else(|| invalid("a DPoP proof is required"))?;
    let raw_jwk = bound_key(jwt, jkt)?;
    let c = signed_claims(jwt, &raw_jwk)?;
    if !c.htm.eq_ignore_ascii_case(req.method) || strip_query(&c.htu) != strip_query(req.url) {
        return Err(invalid("the proof is for another request"));
    }
    if (now - c.iat).abs() > WINDOW {
        return Err(invalid("the proof's iat is too old or in the future"));
    }
    if c.ath.as_deref() != Some(access_token_hash(token).as_str()) {
        return Err(invalid("the proof's ath does not match the token"));
    }
    if !replay.check_and_remember(&format!("{jkt}:{}", c.jti), c.iat + WINDOW + 1) {
        return Err(invalid("the proof was already used"));
    }
    Ok(())
}

/// The public key in the proof's header, once it is the one the token is bound to.
fn bound_key(jwt: &str, jkt: &str) -> Result<Value, ValidationError> {
    let head: Value = jwt
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("malformed DPoP proof"))?;
    if head["typ"] != "dpop+jwt" {
        return Err(invalid("the proof's typ must be dpop+jwt"));
    }
    let raw_jwk = head["jwk"].clone();
    if ["d", "p", "q", "k"]
        .iter()
        .any(|m| raw_jwk.get(m).is_some())
    {
        return Err(invalid("the proof's jwk must be public"));
    }
    if thumbprint(&raw_jwk).as_deref() != Some(jkt) {
        return Err(invalid(
            "the proof's key is not the one the token is bound to",
        ));
    }
    Ok(raw_jwk)
}

/// The proof's claims, once its signature by `raw_jwk` (an asymmetric key) checks out.
fn signed_claims(jwt: &str, raw_jwk: &Value) -> Result<ProofClaims, ValidationError> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| invalid("malformed DPoP proof"))?;
    if !matches!(
        header.alg,
        Algorithm::ES256 | Algorithm::EdDSA | Algorithm::PS256 | Algorithm::RS256
    ) {
        return Err(invalid("the proof must use an asymmetric algorithm"));
    }
    let jwk: Jwk =
        serde_json::from_value(raw_jwk.clone()).map_err(|_| invalid("the proof's jwk"))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the proof's jwk"))?;
    let mut v = Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims::<&str>(&[]);
    Ok(jsonwebtoken::decode::<ProofClaims>(jwt, &key, &v)
        .map_err(|_| invalid("the proof's signature or claims are invalid"))?
        .claims)
}
