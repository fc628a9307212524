//! Server-generated high-entropy secrets (client secrets, auth tokens, refresh tokens, codes).
//!
//! They carry 256 random bits, so a SHA-256 digest is enough to store them: no slow hash on the
//! hot path. Comparison is constant time.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::clock::{Rng, RngError, random_bytes};

/// A secret in clear text, as handed to its owner once. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn generate(rng: &dyn Rng) -> Result<Self, RngError> {
        let bytes: [u8; 32] = random_bytes(rng)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        let d = digest(&SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// Constant-time check of a presented secret against this digest.
    pub fn verify(&self, presented: &str) -> bool {
        let candidate = Self::of(presented);
        self.0.ct_eq(&candidate.0).into()
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;

    #[test]
    fn digest_verifies_only_the_same_secret() {
        let rng = SystemRng::default();
        let s = Secret::generate(&rng).unwrap();
        assert_eq!(s.expose().len(), 43);
        let d = s.digest();
        assert!(d.verify(s.expose()));
        assert!(!d.verify("nope"));
        assert_eq!(SecretDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(format!("{s:?}"), "Secret(..)");
    }
}
