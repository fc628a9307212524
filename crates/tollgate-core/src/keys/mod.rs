//! Signing keys: generation, sealing at rest, the JWKS, and compact JWS signing.
//!
//! Keys are parsed once when loaded and kept ready in memory; signing a token does not
//! re-parse PKCS#8 (which is what a per-call `EncodingKey` would do).

use std::str::FromStr;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::clock::Rng;

mod sealer;
pub use sealer::{Bound, KeySealer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum SigningAlgorithm {
    #[default]
    ES256,
    EdDSA,
    RS256,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::ES256 => "ES256",
            SigningAlgorithm::EdDSA => "EdDSA",
            SigningAlgorithm::RS256 => "RS256",
        }
    }
}

impl TryFrom<String> for SigningAlgorithm {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SigningAlgorithm> for String {
    fn from(a: SigningAlgorithm) -> Self {
        a.as_str().to_owned()
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" | "es256" => Ok(Self::ES256),
            "EdDSA" | "eddsa" | "EDDSA" => Ok(Self::EdDSA),
            "RS256" | "rs256" => Ok(Self::RS256),
            other => Err(format!(
                "unsupported signing algorithm {other:?} (ES256, EdDSA or RS256)"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Rng(#[from] crate::clock::RngError),
    #[error("key generation failed")]
    Generate,
    #[error("key material for {0} could not be decrypted: wrong key-encryption key?")]
    Unseal(String),
    #[error("key material for {0} is not a valid {1} key")]
    Parse(String, &'static str),
    #[error("the key-encryption key must be 32 bytes")]
    KekLength,
}

/// A key as the store keeps it: the private half sealed with the key-encryption key.
/// Serialized as administrators see it: its id, algorithm and lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    /// base64(nonce || AES-256-GCM ciphertext of the PKCS#8 DER), kid as associated data.
    #[serde(skip)]
    pub sealed_private_key: String,
    /// The public JWK, as served.
    #[serde(skip)]
    pub public_jwk: String,
    pub created_at: i64,
    /// Signs from this time on; published from `created_at`.
    pub activates_at: i64,
    /// Stops signing at this time, when set.
    pub retires_at: Option<i64>,
    /// Unpublished at this time, when set.
    pub expires_at: Option<i64>,
}

enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// A key parsed and ready to sign, with its JWS headers pre-encoded.
pub struct LoadedKey {
    pub stored: StoredKey,
    signer: Signer,
    at_jwt_header: String,
    id_token_header: String,
    /// OpenID Connect Back-Channel Logout 1.0 section 2.4: `typ: logout+jwt`.
    logout_header: String,
    /// For verifying our own tokens (userinfo, introspection) without re-parsing the JWK.
    decoding: Option<jsonwebtoken::DecodingKey>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 thumbprint of the required members, used as the `kid`.
fn thumbprint(required_members_json: &str) -> String {
    crate::jose::sha256_b64url(required_members_json.as_bytes())
}

fn public_jwk(alg: SigningAlgorithm, signer: &Signer) -> (String, String) {
    let (canonical, mut jwk) = match signer {
        Signer::Es256(kp) => {
            let point = kp.public_key().as_ref();
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            let x = b64(point.get(1..33).unwrap_or_default());
            let y = b64(point.get(33..65).unwrap_or_default());
            let c = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            (
                c,
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            )
        }
        Signer::EdDsa(kp) => {
            let x = b64(kp.public_key().as_ref());
            let c = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            (
                c,
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
            )
        }
        Signer::Rs256(kp) => {
            let pk = kp.public_key();
            let n = b64(pk.modulus().big_endian_without_leading_zero());
            let e = b64(pk.exponent().big_endian_without_leading_zero());
            let c = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            (c, serde_json::json!({"kty": "RSA", "n": n, "e": e}))
        }
    };
    let kid = thumbprint(&canonical);
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("kid".into(), kid.clone().into());
        obj.insert("use".into(), "sig".into());
        obj.insert("alg".into(), alg.as_str().into());
    }
    (kid, jwk.to_string())
}

fn parse_signer(alg: SigningAlgorithm, kid: &str, pkcs8: &[u8]) -> Result<Signer, KeyError> {
    let err = || KeyError::Parse(kid.to_owned(), alg.as_str());
    Ok(match alg {
        SigningAlgorithm::ES256 => Signer::Es256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|_| err())?,
        ),
        SigningAlgorithm::EdDSA => {
            Signer::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| err())?)
        }
        SigningAlgorithm::RS256 => Signer::Rs256(RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| err())?),
    })
}

impl LoadedKey {
    /// Generates a fresh key, published from `now` and signing from `activates_at`.
    pub fn generate(
        alg: SigningAlgorithm,
        sealer: &KeySealer,
        rng: &dyn Rng,
        now: i64,
        activates_at: i64,
    ) -> Result<Self, KeyError> {
        let sys = SystemRandom::new();
        let pkcs8: Vec<u8> = match alg {
            SigningAlgorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &sys)
                    .map_err(|_| KeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
            SigningAlgorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&sys)
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|kp| kp.as_der())
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
        };
        let signer = parse_signer(alg, "new key", &pkcs8)?;
        let (kid, jwk) = public_jwk(alg, &signer);
        let stored = StoredKey {
            sealed_private_key: sealer.seal(&kid, &pkcs8, rng)?,
            kid,
            algorithm: alg,
            public_jwk: jwk,
            created_at: now,
            activates_at,
            retires_at: None,
            expires_at: None,
        };
        Ok(Self::with_signer(stored, signer))
    }

    pub fn load(stored: StoredKey, sealer: &KeySealer) -> Result<Self, KeyError> {
        let pkcs8 = sealer.open(&stored.kid, &stored.sealed_private_key)?;
        let signer = parse_signer(stored.algorithm, &stored.kid, &pkcs8)?;
        Ok(Self::with_signer(stored, signer))
    }

    fn with_signer(stored: StoredKey, signer: Signer) -> Self {
        let header = |typ: &str| {
            b64(format!(
                r#"{{"alg":"{}","typ":"{typ}","kid":"{}"}}"#,
                stored.algorithm.as_str(),
                stored.kid
            )
            .as_bytes())
        };
        let decoding = serde_json::from_str::<jsonwebtoken::jwk::Jwk>(&stored.public_jwk)
            .ok()
            .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(&jwk).ok());
        Self {
            at_jwt_header: header("at+jwt"),
            id_token_header: header("JWT"),
            logout_header: header("logout+jwt"),
            stored,
            signer,
            decoding,
        }
    }

    pub fn decoding_key(&self) -> Option<&jsonwebtoken::DecodingKey> {
        self.decoding.as_ref()
    }

    pub fn jwt_algorithm(&self) -> jsonwebtoken::Algorithm {
        match self.stored.algorithm {
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        }
    }

    pub fn kid(&self) -> &str {
        &self.stored.kid
    }

    /// A compact JWS over `claims_json` with `typ: at+jwt` (RFC 9068) or `typ: JWT`.
    pub fn sign(&self, claims_json: &[u8], access_token: bool) -> Option<String> {
        let header = if access_token {
            &self.at_jwt_header
        } else {
            &self.id_token_header
        };
        self.sign_under(header, claims_json)
    }

    /// A compact JWS over `claims_json` with `typ: logout+jwt` (a back-channel logout token).
    pub fn sign_logout(&self, claims_json: &[u8]) -> Option<String> {
        self.sign_under(&self.logout_header, claims_json)
    }

    fn sign_under(&self, header: &str, claims_json: &[u8]) -> Option<String> {
        let mut out = String::with_capacity(header.len() + claims_json.len() * 4 / 3 + 100);
        out.push_str(header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut out);
        let sig: Vec<u8> = match &self.signer {
            Signer::Es256(kp) => kp
                .sign(&SystemRandom::new(), out.as_bytes())
                .ok()?
                .as_ref()
                .to_vec(),
            Signer::EdDsa(kp) => kp.sign(out.as_bytes()).as_ref().to_vec(),
            Signer::Rs256(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    out.as_bytes(),
                    &mut sig,
                )
                .ok()?;
                sig
            }
        };
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut out);
        Some(out)
    }
}

/// The keys a node currently knows: which one signs, and which are published.
pub struct KeySet {
    keys: Vec<Arc<LoadedKey>>,
    keys_json: Arc<str>,
    jwks_json: Arc<str>,
    /// When the next published key expires; the set is rebuilt then.
    next_expiry: i64,
}

impl KeySet {
    pub fn new(mut keys: Vec<Arc<LoadedKey>>, now: i64) -> Self {
        keys.retain(|k| k.stored.expires_at.is_none_or(|e| e > now));
        keys.sort_by(|a, b| {
            (b.stored.activates_at, &b.stored.kid).cmp(&(a.stored.activates_at, &a.stored.kid))
        });
        let jwks: Vec<serde_json::Value> = keys
            .iter()
            .filter_map(|k| serde_json::from_str(&k.stored.public_jwk).ok())
            .collect();
        let keys_json = serde_json::Value::Array(jwks).to_string();
        let jwks_json = format!(r#"{{"keys":{keys_json}}}"#);
        let next_expiry = keys
            .iter()
            .filter_map(|k| k.stored.expires_at)
            .min()
            .unwrap_or(i64::MAX);
        Self {
            keys,
            keys_json: keys_json.into(),
            jwks_json: jwks_json.into(),
            next_expiry,
        }
    }

    /// The newest key of `alg` that is active and not retired.
    pub fn signing_key(&self, alg: SigningAlgorithm, now: i64) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().find(|k| {
            k.stored.algorithm == alg
                && k.stored.activates_at <= now
                && k.stored.retires_at.is_none_or(|r| r > now)
        })
    }

    /// `{"keys":[…]}`
    pub fn jwks_json(&self) -> Arc<str> {
        self.jwks_json.clone()
    }

    /// The bare `[…]` array of public JWKs.
    pub fn keys_json(&self) -> &str {
        &self.keys_json
    }

    pub fn keys(&self) -> &[Arc<LoadedKey>] {
        &self.keys
    }

    pub fn key(&self, kid: &str) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().find(|k| k.kid() == kid)
    }
}

/// The node's current [`KeySet`], swapped whole on reload.
pub struct KeyRing {
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    pub fn new(set: KeySet) -> Self {
        Self {
            current: RwLock::new(Arc::new(set)),
        }
    }

    /// The current set; a key whose publication ended is dropped on the first read after.
    pub fn current(&self, now: i64) -> Arc<KeySet> {
        let set = match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if now < set.next_expiry {
            return set;
        }
        let rebuilt = KeySet::new(set.keys.clone(), now);
        self.replace(rebuilt);
        self.current(now)
    }

    pub fn replace(&self, set: KeySet) {
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;
    use jsonwebtoken::{DecodingKey, Validation, decode, jwk::Jwk};

    fn roundtrip(alg: SigningAlgorithm, jwt_alg: jsonwebtoken::Algorithm) {
        let rng = SystemRng::default();
        let sealer = KeySealer::new(&[7u8; 32]).unwrap();
        let key = LoadedKey::generate(alg, &sealer, &rng, 100, 100).unwrap();
        let reloaded = LoadedKey::load(key.stored.clone(), &sealer).unwrap();
        let token = reloaded
            .sign(br#"{"sub":"x","exp":9999999999}"#, true)
            .unwrap();

        let jwk: Jwk = serde_json::from_str(&key.stored.public_jwk).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let mut v = Validation::new(jwt_alg);
        v.validate_aud = false;
        let data =
            decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
        assert_eq!(data.claims["sub"], "x");
    }

    #[test]
    fn es256_signs_and_verifies_against_its_jwk() {
        roundtrip(SigningAlgorithm::ES256, jsonwebtoken::Algorithm::ES256);
    }

    #[test]
    fn eddsa_signs_and_verifies_against_its_jwk() {
        roundtrip(SigningAlgorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA);
    }

    #[test]
    fn rs256_signs_and_verifies_against_its_jwk() {
        roundtrip(SigningAlgorithm::RS256, jsonwebtoken::Algorithm::RS256);
    }

    #[test]
    fn wrong_kek_cannot_open_a_key() {
        let rng = SystemRng::default();
        let sealer = KeySealer::new(&[7u8; 32]).unwrap();
        let key = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 0, 0).unwrap();
        let other = KeySealer::new(&[8u8; 32]).unwrap();
        assert!(LoadedKey::load(key.stored.clone(), &other).is_err());
        assert!(!key.stored.sealed_private_key.contains("PRIVATE"));
    }

    #[test]
    fn key_set_picks_newest_active_key_and_drops_expired() {
        let rng = SystemRng::default();
        let sealer = KeySealer::new(&[1u8; 32]).unwrap();
        let old = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 0, 0).unwrap();
        let next = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 10, 50).unwrap();
        let mut gone = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 0, 0).unwrap();
        gone.stored.expires_at = Some(5);
        let (old_kid, next_kid) = (old.kid().to_owned(), next.kid().to_owned());
        let set = KeySet::new(vec![Arc::new(old), Arc::new(next), Arc::new(gone)], 20);
        assert_eq!(set.keys().len(), 2);
        let es = SigningAlgorithm::ES256;
        assert_eq!(
            set.signing_key(es, 20).map(|k| k.kid().to_owned()),
            Some(old_kid)
        );
        assert_eq!(
            set.signing_key(es, 60).map(|k| k.kid().to_owned()),
            Some(next_kid)
        );
        assert!(set.signing_key(SigningAlgorithm::RS256, 60).is_none());
    }
}
