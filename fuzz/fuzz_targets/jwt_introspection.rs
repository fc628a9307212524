//! The JWT check introspection and userinfo use (`Engine::inspect_access_token` minus its
//! cache and revocation lookups), against a key set of one ES256, one EdDSA and one RS256 key.
//!
//! Properties: nothing panics on any token; whatever is accepted carries our issuer, is
//! unexpired, was signed by a key of the set and is routed as a JWT; an access token the
//! engine's claims type renders and a set key signs verifies back to the same claims; ID tokens
//! (`typ: JWT`), tokens of another issuer, expired tokens, tokens of a key outside the set and
//! tokens whose header was swapped are refused.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tollgate_core::SystemRng;
use tollgate_core::fuzzing::{looks_like_jwt, verify_jwt};
use tollgate_core::keys::{KeySealer, KeySet, LoadedKey, SigningAlgorithm};
use tollgate_core::token::{AccessTokenClaims, AccessTokenInfo, Audience};

const ISSUER: &str = "https://tollgate.test";

struct Keys {
    set: KeySet,
    signers: Vec<Arc<LoadedKey>>,
    foreign: LoadedKey,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let sealer = KeySealer::new(&[7u8; 32]).expect("a 32-byte KEK");
        let rng = SystemRng::default();
        let t = now() - 60;
        let make = |alg| LoadedKey::generate(alg, &sealer, &rng, t, t).expect("key generation");
        let signers: Vec<Arc<LoadedKey>> = [
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
            SigningAlgorithm::RS256,
        ]
        .into_iter()
        .map(|alg| Arc::new(make(alg)))
        .collect();
        Keys {
            set: KeySet::new(signers.clone(), t),
            signers,
            foreign: make(SigningAlgorithm::ES256),
        }
    })
}

/// Whatever is accepted is ours, unexpired and routed as a JWT.
fn check_accepted(token: &str, kid: &str, info: &AccessTokenInfo) {
    assert_eq!(info.iss, ISSUER);
    assert!(info.exp >= now() - 1, "accepted an expired token");
    assert!(
        keys().set.key(kid).is_some(),
        "kid {kid:?} is not in the set"
    );
    assert!(
        looks_like_jwt(token),
        "accepted {token:?}, routed as opaque"
    );
}

fn verify(token: &str) -> Option<(String, AccessTokenInfo)> {
    let out = verify_jwt(&keys().set, ISSUER, token);
    if let Some((kid, info)) = &out {
        check_accepted(token, kid, info);
    }
    out
}

#[derive(Arbitrary, Debug)]
enum Case {
    /// Any string as a token.
    Raw(String),
    /// Any payload, validly signed by a key of the set.
    Payload {
        key: u8,
        payload: Vec<u8>,
        id_token: bool,
    },
    /// Engine-shaped claims, signed, then tampered with.
    Claims(Claims),
}

#[derive(Arbitrary, Debug)]
struct Claims {
    key: u8,
    other_issuer: Option<String>,
    sub: String,
    aud: Vec<String>,
    client_id: String,
    scope: String,
    iat: i64,
    nbf: i64,
    exp_in: i32,
    jti: String,
    account_sid: Option<String>,
    header: String,
}

fn signer(i: u8) -> &'static LoadedKey {
    let s = &keys().signers;
    &s[usize::from(i) % s.len()]
}

fn header_of(alg: &str, kid: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"}}"#))
}

fn claims_case(c: Claims) {
    let now = now();
    let exp = now.saturating_add(i64::from(c.exp_in));
    let iss = c.other_issuer.as_deref().unwrap_or(ISSUER);
    let claims = AccessTokenClaims {
        iss,
        sub: &c.sub,
        aud: Audience::of(&c.aud),
        client_id: &c.client_id,
        scope: &c.scope,
        iat: c.iat,
        nbf: c.nbf,
        exp,
        jti: &c.jti,
        account_sid: c.account_sid.as_deref(),
        cnf: None,
    };
    let json = serde_json::to_vec(&claims).expect("claims serialize");
    let key = signer(c.key);
    let token = key.sign(&json, true).expect("a set key signs");
    let got = verify(&token);
    if iss != ISSUER || exp < now - 2 {
        assert!(
            got.is_none(),
            "accepted another issuer's or an expired token"
        );
    } else if exp > now + 2 {
        let Some((kid, info)) = got else {
            panic!("refused a valid token {token}");
        };
        assert_eq!(kid, key.kid());
        assert_eq!(info, expected_info(&c, exp), "claims did not round trip");
    }
    check_other_signers_refused(key, &json);
    check_swapped_headers_refused(&token, &c, key);
}

/// What introspection reports for claims `c` that expire at `exp`.
fn expected_info(c: &Claims, exp: i64) -> AccessTokenInfo {
    let aud = serde_json::to_value(Audience::of(&c.aud)).expect("aud serializes");
    AccessTokenInfo {
        iss: ISSUER.to_owned(),
        sub: c.sub.clone(),
        aud,
        client_id: c.client_id.clone(),
        scope: c.scope.clone(),
        iat: c.iat,
        nbf: Some(c.nbf),
        exp,
        jti: c.jti.clone(),
        account_sid: c.account_sid.clone(),
        cnf: None,
    }
}

/// The same claims as an ID token, or from a key outside the set: refused.
fn check_other_signers_refused(key: &LoadedKey, json: &[u8]) {
    let id_token = key.sign(json, false).expect("a set key signs");
    assert!(verify(&id_token).is_none(), "accepted an ID token");
    let foreign = keys().foreign.sign(json, true).expect("a key signs");
    assert!(
        verify(&foreign).is_none(),
        "accepted a token of an unknown key"
    );
}

/// Another header over the same payload and signature: refused.
fn check_swapped_headers_refused(token: &str, c: &Claims, key: &LoadedKey) {
    let Some((original, rest)) = token.split_once('.') else {
        panic!("no header in {token}");
    };
    let other = signer(c.key.wrapping_add(1));
    for header in [
        URL_SAFE_NO_PAD.encode(c.header.as_bytes()),
        header_of(other.jwt_algorithm_name(), other.kid()),
        header_of(key.jwt_algorithm_name(), other.kid()),
        header_of("none", key.kid()),
        header_of("HS256", key.kid()),
    ] {
        if header != original {
            let swapped = format!("{header}.{rest}");
            assert!(
                verify(&swapped).is_none(),
                "accepted a swapped header {swapped}"
            );
        }
    }
}

trait AlgName {
    fn jwt_algorithm_name(&self) -> &'static str;
}

impl AlgName for LoadedKey {
    fn jwt_algorithm_name(&self) -> &'static str {
        self.stored.algorithm.as_str()
    }
}

fuzz_target!(|data: &[u8]| {
    // Every input is also tried as a token as it stands.
    if let Ok(s) = std::str::from_utf8(data) {
        verify(s);
    }
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    match case {
        Case::Raw(token) => {
            verify(&token);
        }
        Case::Payload {
            key,
            payload,
            id_token,
        } => {
            let key = signer(key);
            let token = key.sign(&payload, !id_token).expect("a set key signs");
            match verify(&token) {
                Some((kid, info)) => {
                    assert!(!id_token, "accepted an ID token");
                    assert_eq!(kid, key.kid());
                    let direct: Option<AccessTokenInfo> = serde_json::from_slice(&payload).ok();
                    assert_eq!(direct.as_ref(), Some(&info));
                }
                None => {}
            }
        }
        Case::Claims(c) => claims_case(c),
    }
});
