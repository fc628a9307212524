//! How people sign in: the per-user policy, their second factor, and what a sign-in proved.

use std::fmt;

/// `acr` of a sign-in with one factor (a password).
pub const ACR_PASSWORD: &str = "urn:tollgate:acr:password";
/// `acr` of a sign-in with two factors (a password and a one-time or recovery code).
pub const ACR_MFA: &str = "urn:tollgate:acr:mfa";
/// `acr` of a sign-in with a passkey (alone or after a password): phishing-resistant, and
/// two factors on its own (every passkey ceremony requires user verification).
pub const ACR_PASSKEY: &str = "urn:tollgate:acr:passkey";

/// Whether a second factor is asked for at sign-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignInPolicy {
    /// A password only; no second factor is asked for or offered.
    Password,
    /// A second factor is asked for once the person has set one up.
    #[default]
    Optional,
    /// A second factor is asked for, and set up at the next sign-in if there is none.
    Required,
}

impl SignInPolicy {
    /// The policy a user signs in under: the account's, unless the user's own setting says
    /// otherwise. `optional` for a user (the default) means "as the account says"; a user's
    /// `required` is a stricter override; a user's `password` relaxes an account's `optional`
    /// but never an account's `required`.
    pub fn effective(account: SignInPolicy, user: SignInPolicy) -> SignInPolicy {
        match (account, user) {
            (SignInPolicy::Required, _) | (_, SignInPolicy::Required) => SignInPolicy::Required,
            (_, SignInPolicy::Password) => SignInPolicy::Password,
            (account, SignInPolicy::Optional) => account,
        }
    }
}

wire_names!(SignInPolicy {
    Password => "password",
    Optional => "optional",
    Required => "required",
} unknown: |s| format!("unknown sign-in policy {s:?} (password, optional or required)"));

/// A user's sign-in settings as stored (defaults when nothing is stored).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignInSettings {
    /// The policy in force: [`SignInPolicy::effective`] of the two below.
    pub policy: SignInPolicy,
    /// The user's own setting (`optional`, the default, defers to the account).
    pub user_policy: SignInPolicy,
    /// The account's setting.
    pub account_policy: SignInPolicy,
    /// The RFC 6238 secret, sealed; `None` when no one-time codes are set up.
    pub totp_sealed: Option<String>,
    pub totp_created_at: Option<i64>,
    /// The last accepted time step: a code is good once.
    pub totp_last_step: i64,
    /// Failed second-factor attempts since the last success or lock.
    pub failures: i64,
    /// No second factor is checked before this time.
    pub locked_until: i64,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// Registered passkeys.
    pub passkeys: i64,
}

impl fmt::Debug for SignInSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInSettings")
            .field("policy", &self.policy)
            .field("totp", &self.totp_sealed.is_some())
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .field("passkeys", &self.passkeys)
            .finish_non_exhaustive()
    }
}

impl SignInSettings {
    pub fn has_totp(&self) -> bool {
        self.totp_sealed.is_some()
    }

    /// One-time codes or a passkey.
    pub fn has_second_factor(&self) -> bool {
        self.has_totp() || self.passkeys > 0
    }

    /// Whether a sign-in must pass a second factor (or set one up first).
    pub fn second_factor_due(&self) -> bool {
        match self.policy {
            SignInPolicy::Password => false,
            SignInPolicy::Optional => self.has_second_factor(),
            SignInPolicy::Required => true,
        }
    }
}

/// What a sign-in proved (RFC 8176 `amr`), and the `acr` that follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authn {
    pub amr: Vec<String>,
}

impl Authn {
    pub fn password() -> Self {
        Self {
            amr: vec!["pwd".into()],
        }
    }

    /// A stored sign-in's methods; none stored means a password (all there was before).
    pub fn recorded(amr: Option<Vec<String>>) -> Self {
        amr.map_or_else(Self::password, |amr| Self { amr })
    }

    /// A password and a one-time (or recovery) code.
    pub fn password_and_otp() -> Self {
        Self {
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        }
    }

    /// A passkey alone: `hwk` for a device-bound key, `swk` for one that may be synced
    /// (its authenticator reports it backup-eligible).
    pub fn passkey(backup_eligible: bool) -> Self {
        Self {
            amr: vec![key_method(backup_eligible).into()],
        }
    }

    /// A password, then a passkey as the second factor.
    pub fn password_and_passkey(backup_eligible: bool) -> Self {
        Self {
            amr: vec![
                "pwd".into(),
                key_method(backup_eligible).into(),
                "mfa".into(),
            ],
        }
    }

    pub fn is_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    /// Whether a passkey was part of this sign-in.
    pub fn used_passkey(&self) -> bool {
        self.amr.iter().any(|m| m == "hwk" || m == "swk")
    }

    pub fn acr(&self) -> &'static str {
        if self.used_passkey() {
            ACR_PASSKEY
        } else if self.is_mfa() {
            ACR_MFA
        } else {
            ACR_PASSWORD
        }
    }

    /// Whether this sign-in meets one of the requested `acr` values (none requested: yes).
    /// A passkey meets the two-factor level too: its ceremony requires user verification.
    pub fn satisfies(&self, acr_values: &[String]) -> bool {
        acr_values.is_empty()
            || acr_values.iter().any(|v| {
                v == ACR_PASSWORD
                    || (v == ACR_MFA && (self.is_mfa() || self.used_passkey()))
                    || (v == ACR_PASSKEY && self.used_passkey())
            })
    }

    /// Words for the account page's session list.
    pub fn describe(&self) -> &'static str {
        let pwd = self.amr.iter().any(|m| m == "pwd");
        match (pwd, self.used_passkey(), self.is_mfa()) {
            (true, true, _) => "Password and passkey",
            (false, true, _) => "Passkey",
            (true, false, true) => "Password and code",
            _ => "Password",
        }
    }
}

fn key_method(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_policy_holds_unless_the_user_is_stricter() {
        use SignInPolicy::{Optional, Password, Required};
        let effective = |a, u| SignInPolicy::effective(a, u);
        assert_eq!(effective(Password, Optional), Password);
        assert_eq!(effective(Optional, Optional), Optional);
        assert_eq!(effective(Required, Optional), Required);
        assert_eq!(effective(Password, Required), Required);
        assert_eq!(effective(Optional, Password), Password);
        assert_eq!(effective(Required, Password), Required);
    }

    #[test]
    fn a_passkey_meets_the_passkey_and_two_factor_levels() {
        let synced = Authn::passkey(true);
        assert_eq!(synced.amr, ["swk"]);
        let device = Authn::password_and_passkey(false);
        assert_eq!(device.amr, ["pwd", "hwk", "mfa"]);
        for a in [&synced, &device] {
            assert_eq!(a.acr(), ACR_PASSKEY);
            assert!(a.satisfies(&[ACR_PASSKEY.to_owned()]));
            assert!(a.satisfies(&[ACR_MFA.to_owned()]));
        }
        let otp = Authn::password_and_otp();
        assert_eq!(otp.acr(), ACR_MFA);
        assert!(!otp.satisfies(&[ACR_PASSKEY.to_owned()]));
        assert!(!Authn::password().satisfies(&[ACR_MFA.to_owned()]));
        assert_eq!(Authn::passkey(false).describe(), "Passkey");
        assert_eq!(device.describe(), "Password and passkey");
    }
}
