//! Passkeys (WebAuthn Level 2/3 through `webauthn-rs`): registration from the account page,
//! sign-in with a passkey alone (a discoverable credential, offered by conditional UI where
//! the browser has it) and a passkey as the second factor after a password.
//!
//! The relying party is the issuer: its host is the RP id, its origin the only origin.
//! Between the options and the browser's answer, a ceremony's state (its challenge) travels
//! with the page, sealed with the key-encryption key and bound to its purpose, the user and
//! the browser's CSRF nonce, with an expiry: any node opens it. Each sealed state is spent
//! once, in the store (`use_once`), so an answer cannot be replayed on any node.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::clock::random_bytes;
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::keys::Bound;
use crate::model::{Authn, StoredPasskey, User};
use crate::secret::SecretDigest;

/// How long the browser has to answer a ceremony.
pub const CEREMONY_SECS: i64 = 300;
/// The longest name a person may give a passkey.
const NAME_MAX: usize = 64;

/// A ceremony's options for `navigator.credentials` (JSON) and its sealed state.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub options: String,
    pub sealed: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed<S> {
    state: S,
    /// The user handle a registration gives the authenticator.
    #[serde(default)]
    handle: String,
    expires_at: i64,
}

/// Why a passkey answer was not accepted (the page says so in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRefused {
    /// The sealed state is not this browser's, is altered, expired or already used.
    Expired,
    /// The authenticator's answer does not verify, or names no passkey of ours.
    Invalid,
    /// The credential is already registered.
    Duplicate,
}

/// `?` for the inner result: returns the refusal as the outcome.
macro_rules! or_refuse {
    ($outcome:expr) => {
        match $outcome {
            Ok(value) => value,
            Err(refused) => return Ok(Err(refused)),
        }
    };
}

/// Logs why webauthn refused an answer; the page only says it is invalid.
fn refused(what: &str, e: impl std::fmt::Display) -> PasskeyRefused {
    tracing::info!(error = %e, "{what} refused");
    PasskeyRefused::Invalid
}

const REGISTER: &str = "register";
const SIGN_IN: &str = "sign-in";
const SECOND: &str = "second-factor";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn flag(v: &serde_json::Value, name: &str) -> bool {
    v.pointer(&format!("/cred/{name}"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

impl Engine {
    /// The relying party: `None` when the issuer's host is an IP address (WebAuthn needs a
    /// domain name) or the issuer does not parse.
    fn relying_party(&self) -> Option<Webauthn> {
        let origin = Url::parse(self.issuer()).ok()?;
        let host = origin.domain()?.to_owned();
        WebauthnBuilder::new(&host, &origin)
            .ok()?
            .rp_name(&host)
            .build()
            .ok()
    }

    /// Whether this server can offer passkeys (its issuer names a host).
    pub fn passkeys_available(&self) -> bool {
        self.relying_party().is_some()
    }

    fn rp(&self) -> Result<Webauthn, OAuthError> {
        self.relying_party().ok_or_else(|| {
            OAuthError::invalid_request("passkeys need an issuer whose host is a domain name")
        })
    }

    fn seal_ceremony<S: Serialize>(
        &self,
        purpose: &str,
        user: &str,
        browser: &str,
        state: S,
        handle: String,
    ) -> Result<String, OAuthError> {
        let sealed = Sealed {
            state,
            handle,
            expires_at: self.clock.now() + CEREMONY_SECS,
        };
        let bytes = serde_json::to_vec(&sealed).map_err(|_| OAuthError::server_error())?;
        self.sealer
            .seal_bound(
                Bound::Ceremony(&format!("{purpose}:{user}:{browser}")),
                &bytes,
                self.rng.as_ref(),
            )
            .map_err(|_| OAuthError::server_error())
    }

    /// Opens and spends a sealed ceremony; `None` when it is not this one, expired or spent.
    async fn spend_ceremony<S: DeserializeOwned>(
        &self,
        purpose: &str,
        user: &str,
        browser: &str,
        sealed: &str,
    ) -> Result<Option<Sealed<S>>, OAuthError> {
        let binding = format!("{purpose}:{user}:{browser}");
        let Some(bytes) = self.sealer.open_bound(Bound::Ceremony(&binding), sealed) else {
            return Ok(None);
        };
        let Ok(opened) = serde_json::from_slice::<Sealed<S>>(&bytes) else {
            return Ok(None);
        };
        let now = self.clock.now();
        if opened.expires_at <= now {
            return Ok(None);
        }
        let key = format!("webauthn:{}", SecretDigest::of(sealed).to_hex());
        if !self.store.use_once(&key, opened.expires_at, now).await? {
            return Ok(None);
        }
        Ok(Some(opened))
    }

    /// Spends the ceremony sealed for `[purpose, user, browser]` and reads the authenticator's
    /// answer to it.
    async fn ceremony_answer<S: DeserializeOwned, A: DeserializeOwned>(
        &self,
        [purpose, user, browser]: [&str; 3],
        sealed: &str,
        credential: &str,
    ) -> Result<Result<(Sealed<S>, A), PasskeyRefused>, OAuthError> {
        let Some(opened) = self
            .spend_ceremony::<S>(purpose, user, browser, sealed)
            .await?
        else {
            return Ok(Err(PasskeyRefused::Expired));
        };
        let Ok(answer) = serde_json::from_str::<A>(credential) else {
            return Ok(Err(PasskeyRefused::Invalid));
        };
        Ok(Ok((opened, answer)))
    }

    pub async fn list_passkeys(&self, user: &User) -> Result<Vec<StoredPasskey>, OAuthError> {
        Ok(self.store.passkeys(&user.sid).await?)
    }

    pub async fn delete_passkey(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<bool, OAuthError> {
        Ok(self.store.delete_passkey(&user.sid, credential_id).await?)
    }

    /// Options for registering a discoverable passkey for `user` (their other passkeys are
    /// excluded), with the state sealed to them and this browser.
    pub async fn start_passkey_registration(
        &self,
        user: &User,
        browser: &str,
    ) -> Result<Ceremony, OAuthError> {
        let rp = self.rp()?;
        let existing = self.store.passkeys(&user.sid).await?;
        let handle = match existing.first().map(|p| Uuid::parse_str(&p.user_handle)) {
            Some(Ok(h)) => h,
            _ => Uuid::from_bytes(random_bytes(self.rng.as_ref())?),
        };
        let exclude = existing
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let label = user.display_name().unwrap_or_else(|| user.email.clone());
        let (options, state) = rp
            .start_passkey_registration(handle, &user.email, &label, Some(exclude))
            .map_err(|_| OAuthError::server_error())?;
        // Sign-in without a username needs the key kept on the authenticator.
        let mut options = serde_json::to_value(options).map_err(|_| OAuthError::server_error())?;
        if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
            sel["residentKey"] = "required".into();
            sel["requireResidentKey"] = true.into();
        }
        let sealed = self.seal_ceremony::<PasskeyRegistration>(
            REGISTER,
            user.sid.as_str(),
            browser,
            state,
            handle.to_string(),
        )?;
        Ok(Ceremony {
            options: options.to_string(),
            sealed,
        })
    }

    /// Verifies the authenticator's answer and stores the passkey under `name`.
    pub async fn finish_passkey_registration(
        &self,
        user: &User,
        browser: &str,
        sealed: &str,
        credential: &str,
        name: &str,
    ) -> Result<Result<StoredPasskey, PasskeyRefused>, OAuthError> {
        let rp = self.rp()?;
        let (opened, answer) = or_refuse!(
            self.ceremony_answer::<PasskeyRegistration, RegisterPublicKeyCredential>(
                [REGISTER, user.sid.as_str(), browser],
                sealed,
                credential
            )
            .await?
        );
        let passkey = or_refuse!(
            rp.finish_passkey_registration(&answer, &opened.state)
                .map_err(|e| refused("passkey registration", e))
        );
        let json = serde_json::to_value(&passkey).map_err(|_| OAuthError::server_error())?;
        let name: String = name.trim().chars().take(NAME_MAX).collect();
        let now = self.clock.now();
        let stored = StoredPasskey {
            credential_id: b64(passkey.cred_id().as_ref()),
            user_sid: user.sid.clone(),
            user_handle: opened.handle,
            name: if name.is_empty() {
                "Passkey".to_owned()
            } else {
                name
            },
            backup_eligible: flag(&json, "backup_eligible"),
            backup_state: flag(&json, "backup_state"),
            sign_count: json
                .pointer("/cred/counter")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0),
            passkey: json.to_string(),
            created_at: now,
            last_used_at: None,
        };
        if !self.store.insert_passkey(&stored).await? {
            return Ok(Err(PasskeyRefused::Duplicate));
        }
        self.mailroom()
            .notify_second_factor_added(user, crate::mail::SecondFactorKind::Passkey);
        Ok(Ok(stored))
    }

    /// Options for signing in with any passkey the browser holds for this server.
    pub fn start_passkey_sign_in(&self, browser: &str) -> Result<Ceremony, OAuthError> {
        let rp = self.rp()?;
        let (options, state) = rp
            .start_discoverable_authentication()
            .map_err(|_| OAuthError::server_error())?;
        let sealed = self.seal_ceremony::<DiscoverableAuthentication>(
            SIGN_IN,
            "",
            browser,
            state,
            String::new(),
        )?;
        let options = serde_json::to_string(&options).map_err(|_| OAuthError::server_error())?;
        Ok(Ceremony { options, sealed })
    }

    /// The user a passkey sign-in proves, and how (`hwk` or `swk`).
    pub async fn finish_passkey_sign_in(
        &self,
        browser: &str,
        sealed: &str,
        credential: &str,
    ) -> Result<Result<(User, Authn), PasskeyRefused>, OAuthError> {
        let rp = self.rp()?;
        let (opened, answer) = or_refuse!(
            self.ceremony_answer::<DiscoverableAuthentication, PublicKeyCredential>(
                [SIGN_IN, "", browser],
                sealed,
                credential
            )
            .await?
        );
        let Ok((handle, id)) = rp.identify_discoverable_authentication(&answer) else {
            return Ok(Err(PasskeyRefused::Invalid));
        };
        let stored = match self.store.passkey(&b64(id)).await? {
            Some(s) if Uuid::parse_str(&s.user_handle).ok() == Some(handle) => s,
            _ => return Ok(Err(PasskeyRefused::Invalid)),
        };
        let Ok(mut passkey) = serde_json::from_str::<Passkey>(&stored.passkey) else {
            return Err(OAuthError::server_error());
        };
        let key = DiscoverableKey::from(&passkey);
        let result = or_refuse!(
            rp.finish_discoverable_authentication(&answer, opened.state, &[key])
                .map_err(|e| refused("passkey sign-in", e))
        );
        let Some(user) = self.store.user(&stored.user_sid).await? else {
            return Ok(Err(PasskeyRefused::Invalid));
        };
        passkey.update_credential(&result);
        self.record_passkey_use(stored, &passkey, &result).await?;
        Ok(Ok((user, Authn::passkey(result.backup_eligible()))))
    }

    /// Options for proving `user` holds one of their passkeys (after their password);
    /// `None` when they have none.
    pub async fn start_passkey_second_factor(
        &self,
        user: &User,
        browser: &str,
    ) -> Result<Option<Ceremony>, OAuthError> {
        let keys = self.user_passkeys(user).await?;
        if keys.is_empty() || !self.passkeys_available() {
            return Ok(None);
        }
        let rp = self.rp()?;
        let keys: Vec<Passkey> = keys.into_iter().map(|(_, p)| p).collect();
        let (options, state) = rp
            .start_passkey_authentication(&keys)
            .map_err(|_| OAuthError::server_error())?;
        let sealed = self.seal_ceremony::<PasskeyAuthentication>(
            SECOND,
            user.sid.as_str(),
            browser,
            state,
            String::new(),
        )?;
        let options = serde_json::to_string(&options).map_err(|_| OAuthError::server_error())?;
        Ok(Some(Ceremony { options, sealed }))
    }

    /// Checks a passkey answer as `user`'s second factor.
    pub async fn finish_passkey_second_factor(
        &self,
        user: &User,
        browser: &str,
        sealed: &str,
        credential: &str,
    ) -> Result<Result<Authn, PasskeyRefused>, OAuthError> {
        let rp = self.rp()?;
        let (opened, answer) = or_refuse!(
            self.ceremony_answer::<PasskeyAuthentication, PublicKeyCredential>(
                [SECOND, user.sid.as_str(), browser],
                sealed,
                credential
            )
            .await?
        );
        let result = or_refuse!(
            rp.finish_passkey_authentication(&answer, &opened.state)
                .map_err(|e| refused("passkey second factor", e))
        );
        let used = b64(result.cred_id().as_ref());
        let keys = self.user_passkeys(user).await?;
        let Some((stored, mut passkey)) = keys.into_iter().find(|(s, _)| s.credential_id == used)
        else {
            return Ok(Err(PasskeyRefused::Invalid));
        };
        passkey.update_credential(&result);
        self.record_passkey_use(stored, &passkey, &result).await?;
        Ok(Ok(Authn::password_and_passkey(result.backup_eligible())))
    }

    async fn user_passkeys(
        &self,
        user: &User,
    ) -> Result<Vec<(StoredPasskey, Passkey)>, OAuthError> {
        Ok(self
            .store
            .passkeys(&user.sid)
            .await?
            .into_iter()
            .filter_map(|s| {
                let p = serde_json::from_str::<Passkey>(&s.passkey).ok()?;
                Some((s, p))
            })
            .collect())
    }

    /// Stores the credential's new counter and backup state after a sign-in.
    async fn record_passkey_use(
        &self,
        mut stored: StoredPasskey,
        passkey: &Passkey,
        result: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<(), OAuthError> {
        stored.passkey = serde_json::to_string(passkey).map_err(|_| OAuthError::server_error())?;
        stored.sign_count = i64::from(result.counter());
        stored.backup_eligible = result.backup_eligible();
        stored.backup_state = result.backup_state();
        Ok(self.store.passkey_used(&stored, self.clock.now()).await?)
    }
}
