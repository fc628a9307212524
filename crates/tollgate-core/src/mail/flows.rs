//! What the server mails and what it does when a link comes back.

use super::{
    EmailPurpose, FORGOT_PASSWORD_PATH, Mail, MailError, Mailroom, RESET_PASSWORD_PATH,
    RESET_PASSWORD_TTL, VERIFY_EMAIL_PATH, VERIFY_EMAIL_TTL,
};
use crate::error::OAuthError;
use crate::model::User;

/// A sign-in method whose addition the account holder is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorKind {
    /// RFC 6238 one-time codes from an authenticator app.
    Totp,
    /// A WebAuthn credential.
    Passkey,
}

impl SecondFactorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Totp => "One-time codes from an authenticator app",
            Self::Passkey => "A passkey",
        }
    }
}

/// Why a password reset was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetRefused {
    /// The link is forged, used, expired, or its user or address is gone.
    Link,
    /// The new password breaks the password rules (the link stays usable).
    Password(String),
}

fn url_escape(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Mailroom {
    fn link(&self, path: &str, value: &str) -> String {
        format!("{}{path}?token={}", self.issuer, url_escape(value))
    }

    /// Mails a verification link to the user's address (and waits for the mail server, so
    /// the CLI can say whether it went). `Ok(false)` when mail is not configured or the
    /// address is verified already.
    pub async fn send_verification(&self, user: &User) -> Result<bool, OAuthError> {
        let Some(mailer) = self.mailer.clone() else {
            return Ok(false);
        };
        if user.email_verified {
            return Ok(false);
        }
        let (value, token) = self.new_link(EmailPurpose::VerifyEmail, user, VERIFY_EMAIL_TTL)?;
        self.store.insert_email_token(&token).await?;
        let mail = Mail {
            to: user.email.clone(),
            subject: "Confirm your email address".into(),
            text: format!(
                "Someone (we hope you) gave this address to {issuer}.\r\n\r\n\
                 To confirm it is yours, open this link (it works once, for 24 hours):\r\n\r\n\
                 {link}\r\n\r\nIf this was not you, ignore this message.\r\n",
                issuer = self.issuer,
                link = self.link(VERIFY_EMAIL_PATH, &value),
            ),
        };
        mailer.send(&mail).await.map_err(|e: MailError| {
            tracing::warn!(error = %e, user = %user.sid, "verification mail not delivered");
            OAuthError::new(
                crate::error::ErrorKind::TemporarilyUnavailable { retry_after: 30 },
                "the verification mail could not be sent",
            )
        })?;
        Ok(true)
    }

    /// Spends a verification link; the user's `email_verified` turns true when the link was
    /// sent to the address the user still has. `None`: the link is not (or no longer) good.
    pub async fn verify_email(&self, value: &str) -> Result<Option<User>, OAuthError> {
        let Some(token) = self.spend_link(EmailPurpose::VerifyEmail, value).await? else {
            return Ok(None);
        };
        let Some(user) = self.store.user(&token.user_sid).await? else {
            return Ok(None);
        };
        if user.email != token.email {
            return Ok(None);
        }
        let now = self.clock.now();
        self.store
            .set_user_email_verified(&user.sid, true, now)
            .await?;
        Ok(self.store.user(&user.sid).await?)
    }

    /// Starts a password reset for `email`. The caller's answer is the same whether or not
    /// the address belongs to anyone: the same store read happens either way, and the link
    /// is made, stored and mailed in the background.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), OAuthError> {
        if self.mailer.is_none() {
            return Ok(());
        }
        let email = email.trim().to_lowercase();
        let user = if email.is_empty() || email.len() > 320 {
            None
        } else {
            self.store.user_by_email(&email).await?
        };
        let Some(user) = user else {
            return Ok(());
        };
        let (value, token) =
            self.new_link(EmailPurpose::ResetPassword, &user, RESET_PASSWORD_TTL)?;
        let mail = Mail {
            to: user.email.clone(),
            subject: "Reset your password".into(),
            text: format!(
                "A password reset was asked for your account at {issuer}.\r\n\r\n\
                 To choose a new password, open this link (it works once, for one hour):\r\n\r\n\
                 {link}\r\n\r\nChoosing a new password signs you out everywhere. If you did \
                 not ask for this, ignore this message: your password stays as it is.\r\n",
                issuer = self.issuer,
                link = self.link(RESET_PASSWORD_PATH, &value),
            ),
        };
        let room = self.clone();
        tokio::spawn(async move {
            match room.store.insert_email_token(&token).await {
                Ok(()) => room.post(mail),
                Err(e) => tracing::warn!(error = %e, "password reset link not stored"),
            }
        });
        Ok(())
    }

    /// Spends a reset link and sets the new password; every browser session of the user ends
    /// and every refresh token family is revoked.
    pub async fn reset_password(
        &self,
        value: &str,
        password: String,
    ) -> Result<Result<User, ResetRefused>, OAuthError> {
        if let Err(problem) = crate::password::check_policy(&password) {
            return Ok(Err(ResetRefused::Password(problem)));
        }
        let Some(token) = self.spend_link(EmailPurpose::ResetPassword, value).await? else {
            return Ok(Err(ResetRefused::Link));
        };
        let user = match self.store.user(&token.user_sid).await? {
            Some(u) if u.email == token.email => u,
            _ => return Ok(Err(ResetRefused::Link)),
        };
        let salt: [u8; 16] = crate::clock::random_bytes(self.rng.as_ref())
            .map_err(|_| OAuthError::server_error())?;
        let hash = crate::password::hash_off_runtime(password, salt)
            .await
            .ok_or_else(OAuthError::server_error)?;
        let now = self.clock.now();
        self.store.set_user_password(&user.sid, &hash, now).await?;
        let families = self
            .store
            .revoke_user_refresh_families(&user.sid, now)
            .await?;
        tracing::info!(user = %user.sid, families, "password reset by email link");
        Ok(Ok(user))
    }

    /// Tells the account holder a sign-in method was added (a stolen session adding its own
    /// factor should not go unnoticed). Does nothing without mail.
    pub fn notify_second_factor_added(&self, user: &User, kind: SecondFactorKind) {
        let when = self
            .clock
            .now_datetime()
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        self.post(Mail {
            to: user.email.clone(),
            subject: "A new sign-in method was added to your account".into(),
            text: format!(
                "{what} was added to your account {email} at {issuer} ({when}).\r\n\r\n\
                 If this was you, there is nothing to do. If it was not, reset your password \
                 now ({issuer}{FORGOT_PASSWORD_PATH}) and remove the method on your account \
                 page ({issuer}/account).\r\n",
                what = kind.describe(),
                email = user.email,
                issuer = self.issuer,
            ),
        });
    }
}
