//! Second factors at sign-in: RFC 6238 one-time codes (set up with a confirmation code),
//! recovery codes stored as digests and good once, and a per-user lock after repeated
//! failures that holds on every node (it lives in the store).

use crate::clock::random_bytes;
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::keys::Bound;
use crate::model::{SignInSettings, User};
use crate::secret::SecretDigest;
use crate::totp;

/// Failed attempts before the second factor is locked, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_SECS: i64 = 300;
/// Recovery codes handed out with each setup.
pub const RECOVERY_CODES: usize = 10;

/// What checking a second factor found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorCheck {
    Accepted,
    Wrong,
    /// Too many failures: nothing is checked before `until`.
    Locked {
        until: i64,
    },
}

/// A one-time code setup waiting for its confirmation code: the secret (shown to the person
/// once, as a QR code and as text) and its sealed form (carried by the confirmation form).
pub struct TotpSetup {
    pub secret: Vec<u8>,
    pub sealed: String,
}

impl TotpSetup {
    pub fn base32(&self) -> String {
        totp::base32(&self.secret)
    }
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn recovery_digest(code: &str) -> String {
    SecretDigest::of(&normalize_recovery(code)).to_hex()
}

impl Engine {
    /// The user a half-finished sign-in names.
    pub async fn user_by_sid(&self, sid: &crate::ids::UserSid) -> Result<Option<User>, OAuthError> {
        Ok(self.store.user(sid).await?)
    }

    pub async fn sign_in_settings(&self, user: &User) -> Result<SignInSettings, OAuthError> {
        Ok(self.store.sign_in_settings(&user.sid).await?)
    }

    /// A fresh secret for `user`, sealed to them.
    pub fn new_totp_setup(&self, user: &User) -> Result<TotpSetup, OAuthError> {
        let secret: [u8; totp::SECRET_LEN] = random_bytes(self.rng.as_ref())?;
        let sealed = self
            .sealer
            .seal_bound(Bound::Totp(user.sid.as_str()), &secret, self.rng.as_ref())
            .map_err(|_| OAuthError::server_error())?;
        Ok(TotpSetup {
            secret: secret.to_vec(),
            sealed,
        })
    }

    /// The setup behind a confirmation form's sealed secret, if it was sealed to `user`.
    pub fn open_totp_setup(&self, user: &User, sealed: &str) -> Option<TotpSetup> {
        let secret = self
            .sealer
            .open_bound(Bound::Totp(user.sid.as_str()), sealed)?;
        (secret.len() == totp::SECRET_LEN).then(|| TotpSetup {
            secret,
            sealed: sealed.to_owned(),
        })
    }

    /// The `otpauth://` URI an authenticator app scans, labelled with the issuer's host.
    pub fn otpauth_uri(&self, user: &User, setup: &TotpSetup) -> String {
        let issuer = url::Url::parse(self.issuer())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Tollgate".to_owned());
        totp::otpauth_uri(&issuer, &user.email, &setup.secret)
    }

    /// Stores the setup once `code` shows the person's app has the secret, replacing any
    /// earlier one; returns the new recovery codes (shown once, stored as digests), or `None`
    /// when the code is wrong.
    pub async fn confirm_totp(
        &self,
        user: &User,
        setup: &TotpSetup,
        code: &str,
    ) -> Result<Option<Vec<String>>, OAuthError> {
        let now = self.clock.now();
        let Some(step) = totp::verify(&setup.secret, code, now, 0) else {
            return Ok(None);
        };
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let raw: [u8; 7] = random_bytes(self.rng.as_ref())?;
            let s = totp::base32(&raw).to_ascii_lowercase();
            codes.push(format!("{}-{}", &s[..5], &s[5..10]));
        }
        let digests: Vec<String> = codes.iter().map(|c| recovery_digest(c)).collect();
        self.store
            .set_totp(&user.sid, Some(&setup.sealed), step, &digests, now)
            .await?;
        self.mailroom()
            .notify_second_factor_added(user, crate::mail::SecondFactorKind::Totp);
        Ok(Some(codes))
    }

    /// Removes the one-time codes and the recovery codes.
    pub async fn remove_totp(&self, user: &User) -> Result<(), OAuthError> {
        let now = self.clock.now();
        Ok(self.store.set_totp(&user.sid, None, 0, &[], now).await?)
    }

    /// Checks a one-time code (six digits) or a recovery code. Every failure counts towards the
    /// user's lock, and a locked user's codes are not looked at.
    pub async fn check_second_factor(
        &self,
        user: &User,
        code: &str,
    ) -> Result<SecondFactorCheck, OAuthError> {
        let settings = self.store.sign_in_settings(&user.sid).await?;
        let now = self.clock.now();
        if settings.locked_until > now {
            return Ok(SecondFactorCheck::Locked {
                until: settings.locked_until,
            });
        }
        let code = code.trim();
        let accepted = if code.len() == totp::DIGITS as usize {
            let step = settings
                .totp_sealed
                .as_deref()
                .and_then(|s| self.sealer.open_bound(Bound::Totp(user.sid.as_str()), s))
                .and_then(|secret| totp::verify(&secret, code, now, settings.totp_last_step));
            match step {
                Some(step) => self.store.accept_totp_step(&user.sid, step, now).await?,
                None => false,
            }
        } else if normalize_recovery(code).len() == 10 {
            let digest = recovery_digest(code);
            self.store
                .use_recovery_code(&user.sid, &digest, now)
                .await?
        } else {
            false
        };
        if accepted {
            return Ok(SecondFactorCheck::Accepted);
        }
        let until = now + LOCK_SECS;
        self.store
            .second_factor_failed(&user.sid, MAX_FAILURES, until, now)
            .await?;
        if settings.failures + 1 >= MAX_FAILURES {
            return Ok(SecondFactorCheck::Locked { until });
        }
        Ok(SecondFactorCheck::Wrong)
    }
}
