//! How people sign in: the per-user policy, their second factor, and what a sign-in proved.

use std::fmt;
use std::str::FromStr;

/// `acr` of a sign-in with one factor (a password).
pub const ACR_PASSWORD: &str = "urn:tollgate:acr:password";
/// `acr` of a sign-in with two factors (a password and a one-time or recovery code).
pub const ACR_MFA: &str = "urn:tollgate:acr:mfa";

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
    pub fn as_str(self) -> &'static str {
        match self {
            SignInPolicy::Password => "password",
            SignInPolicy::Optional => "optional",
            SignInPolicy::Required => "required",
        }
    }
}

impl fmt::Display for SignInPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignInPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "password" => Ok(SignInPolicy::Password),
            "optional" => Ok(SignInPolicy::Optional),
            "required" => Ok(SignInPolicy::Required),
            other => Err(format!(
                "unknown sign-in policy {other:?} (password, optional or required)"
            )),
        }
    }
}

/// A user's sign-in settings as stored (defaults when nothing is stored).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignInSettings {
    pub policy: SignInPolicy,
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
}

impl fmt::Debug for SignInSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignInSettings")
            .field("policy", &self.policy)
            .field("totp", &self.totp_sealed.is_some())
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl SignInSettings {
    pub fn has_totp(&self) -> bool {
        self.totp_sealed.is_some()
    }

    /// Whether a sign-in must pass a second factor (or set one up first).
    pub fn second_factor_due(&self) -> bool {
        match self.policy {
            SignInPolicy::Password => false,
            SignInPolicy::Optional => self.has_totp(),
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

    /// A password and a one-time (or recovery) code.
    pub fn password_and_otp() -> Self {
        Self {
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        }
    }

    pub fn is_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    pub fn acr(&self) -> &'static str {
        if self.is_mfa() { ACR_MFA } else { ACR_PASSWORD }
    }

    /// Whether this sign-in meets one of the requested `acr` values (none requested: yes).
    pub fn satisfies(&self, acr_values: &[String]) -> bool {
        acr_values.is_empty()
            || acr_values
                .iter()
                .any(|v| v == ACR_PASSWORD || (v == ACR_MFA && self.is_mfa()))
    }
}
