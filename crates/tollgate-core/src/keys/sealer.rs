//! Sealing at rest (AES-256-GCM) and the MAC on tokens pages hand out, both from the
//! key-encryption key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::KeyError;
use crate::clock::{Rng, random_bytes};

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

    /// Seals a `client_secret_jwt` client's secret, bound to the client id.
    pub fn seal_client_secret(
        &self,
        client_id: &str,
        secret: &str,
        rng: &dyn Rng,
    ) -> Result<String, KeyError> {
        self.seal(
            &format!("client-secret:{client_id}"),
            secret.as_bytes(),
            rng,
        )
    }

    pub fn open_client_secret(&self, client_id: &str, sealed: &str) -> Option<Vec<u8>> {
        self.open(&format!("client-secret:{client_id}"), sealed)
            .ok()
    }

    /// Seals a user's RFC 6238 secret, bound to the user (a sealed secret copied onto another
    /// user does not open).
    pub fn seal_totp_secret(
        &self,
        user_sid: &str,
        secret: &[u8],
        rng: &dyn Rng,
    ) -> Result<String, KeyError> {
        self.seal(&format!("totp:{user_sid}"), secret, rng)
    }

    pub fn open_totp_secret(&self, user_sid: &str, sealed: &str) -> Option<Vec<u8>> {
        self.open(&format!("totp:{user_sid}"), sealed).ok()
    }

    /// Seals a WebAuthn ceremony's state (its challenge) for the browser to carry back,
    /// bound to `binding` (the purpose, the user and the browser): any node opens it.
    pub fn seal_ceremony(
        &self,
        binding: &str,
        state: &[u8],
        rng: &dyn Rng,
    ) -> Result<String, KeyError> {
        self.seal(&format!("webauthn:{binding}"), state, rng)
    }

    pub fn open_ceremony(&self, binding: &str, sealed: &str) -> Option<Vec<u8>> {
        self.open(&format!("webauthn:{binding}"), sealed).ok()
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
