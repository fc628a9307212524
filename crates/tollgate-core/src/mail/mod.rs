//! Mail the server sends on its own: address verification, password reset and notices of new
//! sign-in methods. The engine decides what to send and when; a [`Mailer`] (SMTP in the
//! server) only delivers. Links carry a random secret and a MAC over it; the store keeps the
//! secret's digest only and spends a link once.

mod flows;
mod links;

use std::sync::Arc;

use crate::clock::{Clock, Rng};
use crate::ids::UserSid;
use crate::keys::KeySealer;
use crate::secret::SecretDigest;
use crate::store::Store;

pub use flows::{ResetRefused, SecondFactorKind};

/// How long a verification link works.
pub const VERIFY_EMAIL_TTL: i64 = 24 * 3600;
/// How long a password reset link works.
pub const RESET_PASSWORD_TTL: i64 = 3600;
/// Where the links lead (the pages live in the HTTP layer).
pub const VERIFY_EMAIL_PATH: &str = "/account/verify-email";
pub const RESET_PASSWORD_PATH: &str = "/password-reset/new";
pub const FORGOT_PASSWORD_PATH: &str = "/password-reset";

/// One plain-text message to one address; the mailer adds the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address or message cannot be expressed as mail.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The mail server could not be reached or refused the message.
    #[error("mail delivery failed: {0}")]
    Delivery(String),
}

/// Delivers mail. The server's implementation speaks SMTP; tests run it against a real SMTP
/// server on loopback.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
    /// Connects and greets the server (for `tollgate config check`), sending nothing.
    async fn check(&self) -> Result<(), MailError>;
}

/// What a link is for; a link made for one purpose is refused for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    VerifyEmail,
    ResetPassword,
}

wire_names!(EmailPurpose {
    VerifyEmail => "verify_email",
    ResetPassword => "reset_password",
});

/// A link as stored: the digest of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    pub digest: SecretDigest,
    pub purpose: EmailPurpose,
    pub user_sid: UserSid,
    /// The address the link was sent to.
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The engine's post office: makes links, sends the mail, and acts on links that come back.
#[derive(Clone)]
pub struct Mailroom {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) sealer: Arc<KeySealer>,
    /// The public base URL the links start with.
    pub(crate) issuer: String,
    pub(crate) mailer: Option<Arc<dyn Mailer>>,
}

impl Mailroom {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        sealer: Arc<KeySealer>,
        issuer: String,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        Self {
            store,
            clock,
            rng,
            sealer,
            issuer: issuer.trim_end_matches('/').to_owned(),
            mailer,
        }
    }

    /// Whether mail can go out at all (SMTP configured).
    pub fn configured(&self) -> bool {
        self.mailer.is_some()
    }

    /// Delivers in the background: the answer to the request that caused the mail does not
    /// wait for (or reveal anything through) the mail server. Failures are logged without
    /// the message, which may hold a link.
    pub(crate) fn post(&self, mail: Mail) {
        let Some(mailer) = self.mailer.clone() else {
            return;
        };
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&mail).await {
                tracing::warn!(error = %e, "mail not delivered");
                metrics::counter!("tollgate_mail_failures_total").increment(1);
            } else {
                metrics::counter!("tollgate_mail_sent_total").increment(1);
            }
        });
    }
}

impl crate::Engine {
    /// Supplies the mailer (once, at start); without one, nothing is mailed.
    pub fn set_mailer(&self, mailer: Arc<dyn Mailer>) {
        let _ = self.mailer.set(mailer);
    }

    /// Whether mail goes out (SMTP configured).
    pub fn mail_configured(&self) -> bool {
        self.mailer.get().is_some()
    }

    /// The post office, with this engine's store, clock, keys and issuer.
    pub fn mailroom(&self) -> Mailroom {
        Mailroom::new(
            self.store.clone(),
            self.clock.clone(),
            self.rng.clone(),
            self.sealer.clone(),
            self.config.issuer.clone(),
            self.mailer.get().cloned(),
        )
    }
}
