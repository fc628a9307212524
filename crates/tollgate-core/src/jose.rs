//! JOSE helpers shared by client authentication (RFC 7523), DPoP (RFC 9449) and the signing
//! keys: accepted algorithms, key fitting, JWKS parsing, RFC 7638 thumbprints. A leaf module:
//! it imports nothing else of the engine.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

/// Signature algorithms accepted from clients (`private_key_jwt`, DPoP proofs).
pub const ASYMMETRIC_ALGS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
];
/// What the FAPI 2.0 Security Profile allows (section 5.4.1).
pub const FAPI_ALGS: [Algorithm; 3] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256];

/// The algorithms a client on (or off) the FAPI 2.0 profile may sign with.
pub fn client_algs(fapi: bool) -> &'static [Algorithm] {
    if fapi { &FAPI_ALGS } else { &ASYMMETRIC_ALGS }
}

/// A compact JWT's header as JSON, read without checking anything else.
pub fn header_json(jwt: &str) -> Option<Value> {
    let head = URL_SAFE_NO_PAD.decode(jwt.split('.').next()?).ok()?;
    serde_json::from_slice(&head).ok()
}

/// Private or symmetric JWK members: a proof's `jwk` and a client's JWKS must have none.
pub fn has_private_members(jwk: &Value) -> bool {
    ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .any(|m| jwk.get(m).is_some())
}

/// Whether a JWK can verify `alg` (key type and curve agree).
pub fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters as P, EllipticCurve};
    match (&jwk.algorithm, alg) {
        (P::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (P::OctetKeyPair(p), Algorithm::EdDSA) => p.curve == EllipticCurve::Ed25519,
        (P::RSA(_), Algorithm::PS256 | Algorithm::RS256) => true,
        _ => false,
    }
}

/// The key of `set` that verifies `alg`: the one named `kid`, else the only one that fits.
pub fn pick_key<'a>(set: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid).filter(|k| key_fits(k, alg)),
        None => {
            let mut fitting = set.keys.iter().filter(|k| key_fits(k, alg));
            match (fitting.next(), fitting.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    }
}

/// A client's JWKS document: public keys only, no symmetric keys.
pub fn parse_jwks(doc: &str) -> Result<JwkSet, String> {
    let raw: Value = serde_json::from_str(doc).map_err(|e| format!("jwks is not JSON: {e}"))?;
    let keys = raw
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("jwks must be an object with a keys array")?;
    if keys.is_empty() {
        return Err("jwks has no keys".into());
    }
    for k in keys {
        if has_private_members(k) {
            return Err("jwks must hold public keys only".into());
        }
        if k.get("kty").and_then(|t| t.as_str()) == Some("oct") {
            return Err("jwks must not hold symmetric keys".into());
        }
    }
    serde_json::from_value(raw).map_err(|e| format!("jwks: {e}"))
}

/// Checks the signature only: times are checked against the engine's clock, not the system's,
/// and audiences by the caller.
pub fn signature_only(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.set_required_spec_claims::<&str>(&[]);
    v
}

/// base64url (unpadded) SHA-256 of `bytes`.
pub fn sha256_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, bytes).as_ref())
}

/// RFC 7638 SHA-256 thumbprint over the required members, in lexicographic order.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = match s("kty")? {
        "EC" => serde_json::json!({"crv": s("crv")?, "kty": "EC", "x": s("x")?, "y": s("y")?}),
        "OKP" => serde_json::json!({"crv": s("crv")?, "kty": "OKP", "x": s("x")?}),
        "RSA" => serde_json::json!({"e": s("e")?, "kty": "RSA", "n": s("n")?}),
        _ => return None,
    };
    // serde_json's map is ordered by key, which is what RFC 7638 section 3 asks for.
    let json = serde_json::to_string(&canonical).ok()?;
    Some(sha256_b64url(json.as_bytes()))
}

/// `ath`: base64url SHA-256 of the access token.
pub fn access_token_hash(token: &str) -> String {
    sha256_b64url(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn private_members_are_spotted() {
        assert!(has_private_members(
            &serde_json::json!({"kty": "EC", "d": "x"})
        ));
        assert!(!has_private_members(
            &serde_json::json!({"kty": "EC", "x": "x"})
        ));
    }

    #[test]
    fn jwks_with_private_or_symmetric_keys_is_refused() {
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#).is_err());
        assert!(
            parse_jwks(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}"#).is_err()
        );
        assert!(parse_jwks("not json").is_err());
    }
}
