//! Sealing at rest (AES-256-GCM) and the MAC on tokens pages hand out, both from the
//! key-encryption key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::KeyError;
use crate::clock::{Rng, random_bytes};

/// What a sealed secret is bound to (its additional authenticated data).
#[derive(Debug, Clone, Copy)]
pub enum Bound<'a> {
    /// A `client_secret_jwt` client's secret, by client id.
    ClientSecret(&'a str),
    /// A user's RFC 6238 secret, by user SID (a sealed secret copied onto another user does not
    /// open).
    Totp(&'a str),
    /// A WebAuthn ceremony's state (its challenge) the browser carries back, by the purpose,
    /// the user and the browser: any node opens it.
    Ceremony(&'a str),
}

impl Bound<'_> {
    fn aad(self) -> String {
        match self {
            Bound::ClientSecret(id) => format!("client-secret:{id}"),
            Bound::Totp(user) => format!("totp:{user}"),
            Bound::Ceremony(binding) => format!("webauthn:{binding}"),
        }
    }
}

/// Seals private keys at rest with AES-256-GCM.
pub struct KeySealer {
    key: LessSafeKey,
    /// Derived from the key-encryption key, so every node shares it: authenticates the tokens
    /// pages hand out (CSRF, device confirmations).
    mac: hmac::Key,
}

impl KeySealer {
    pub fn new(kek: &[u8]) -> Result<Self, KeyError> {
        let unbound = UnboundKey::new(&AES_256_GCM, kek).map_err(|_| KeyError::KekLength)?;
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, kek),
            b"tollgate page tokens v1",
        );
        Ok(Self {
            key: LessSafeKey::new(unbound),
            mac: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        })
    }

    /// HMAC-SHA256 over length-prefixed parts, base64url.
    pub fn mac(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.mac, &framed(parts)).as_ref())
    }

    /// Constant-time check of a [`KeySealer::mac`] tag.
    pub fn verify_mac(&self, parts: &[&[u8]], tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.mac, &framed(parts), &tag).is_ok()
    }

    /// Seals a secret bound to what it belongs to: the same bytes sealed for one client, user
    /// or ceremony never open for another.
    pub fn seal_bound(
        &self,
        bound: Bound<'_>,
        secret: &[u8],
        rng: &dyn Rng,
    ) -> Result<String, KeyError> {
        self.seal(&bound.aad(), secret, rng)
    }

    /// Opens what [`KeySealer::seal_bound`] sealed for the same `bound`.
    pub fn open_bound(&self, bound: Bound<'_>, sealed: &str) -> Option<Vec<u8>> {
        self.open(&bound.aad(), sealed).ok()
    }

    pub(super) fn seal(
        &self,
        kid: &str,
        plaintext: &[u8],
        rng: &dyn Rng,
    ) -> Result<String, KeyError> {
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes(rng).map_err(|_| KeyError::Generate)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| KeyError::Generate)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(STANDARD.encode(out))
    }

    pub(super) fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let raw = STANDARD
            .decode(sealed)
            .map_err(|_| KeyError::Unseal(kid.to_owned()))?;
        if raw.len() < NONCE_LEN {
            return Err(KeyError::Unseal(kid.to_owned()));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| KeyError::Unseal(kid.to_owned()))?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| KeyError::Unseal(kid.to_owned()))?;
        Ok(plain.to_vec())
    }
}

/// Length-prefixes every part, so different splits of the same bytes never share a tag.
fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut msg = Vec::new();
    for p in parts {
        msg.extend_from_slice(&(p.len() as u64).to_be_bytes());
        msg.extend_from_slice(p);
    }
    msg
}
