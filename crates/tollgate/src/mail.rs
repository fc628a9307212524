//! Outgoing mail over SMTP (`lettre`, rustls): the server's [`Mailer`].
//!
//! `smtp_url` names the server, the TLS mode and the credentials:
//! `smtp://host:port` (no TLS), `smtp://host:port?tls=required` (STARTTLS, refused without
//! it), `smtp://host:port?tls=opportunistic` (STARTTLS when offered), `smtps://host:port`
//! (TLS from the first byte). User and password come from the URL's user info, or the
//! password from `smtp_password`. The password is never logged or shown by `Debug`.

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tollgate_core::mail::{Mail, MailError, Mailer};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network).
    None,
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// STARTTLS, or no mail.
    StartTls,
    /// TLS from the first byte (`smtps://`, usually port 465).
    Tls,
}

/// The SMTP settings, parsed and checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    password: Option<String>,
    pub from: Mailbox,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from.to_string())
            .finish()
    }
}

fn decoded(s: &str) -> String {
    // Percent-decoding only: a `+` in user info is a plus, not a space.
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl SmtpSettings {
    /// Parses `smtp_url` and `smtp_from`; `password` (from `smtp_password`) wins over one in
    /// the URL. Errors never contain the password.
    pub fn parse(url: &str, from: &str, password: Option<&str>) -> Result<Self, String> {
        let safe = crate::check::redact_url(url);
        let u = url::Url::parse(url).map_err(|e| format!("smtp_url {safe} is not a URL: {e}"))?;
        let query = |name: &str| {
            u.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let tls = match (u.scheme(), query("tls").as_deref()) {
            ("smtps", None) => SmtpTls::Tls,
            ("smtp", None | Some("none")) => SmtpTls::None,
            ("smtp", Some("required")) => SmtpTls::StartTls,
            ("smtp", Some("opportunistic")) => SmtpTls::Opportunistic,
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "smtp_url {safe}: tls={other} is not one of none, opportunistic, required"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "smtp_url {safe}: the scheme {other} is not smtp or smtps"
                ));
            }
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("smtp_url {safe} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = u.port().unwrap_or(match tls {
            SmtpTls::Tls => 465,
            SmtpTls::StartTls => 587,
            SmtpTls::None | SmtpTls::Opportunistic => 25,
        });
        let username = Some(decoded(u.username())).filter(|n| !n.is_empty());
        let password = password
            .map(str::to_owned)
            .or_else(|| u.password().map(decoded))
            .filter(|p| !p.is_empty());
        if password.is_some() && username.is_none() {
            return Err(format!("smtp_url {safe}: a password needs a user name"));
        }
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("smtp_from {from:?} is not an email address: {e}"))?;
        Ok(Self {
            host,
            port,
            tls,
            username,
            password,
            from,
        })
    }
}

/// Sends through one SMTP server; a connection per message (mail is rare).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let params = || {
            TlsParameters::new(settings.host.clone())
                .map_err(|e| format!("SMTP TLS settings for {}: {e}", settings.host))
        };
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Opportunistic => Tls::Opportunistic(params()?),
            SmtpTls::StartTls => Tls::Required(params()?),
            SmtpTls::Tls => Tls::Wrapper(params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(15)));
        if let Some(user) = &settings.username {
            let password = settings.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }
}

/// lettre's errors name the server and the SMTP reply, never the credentials.
fn delivery(e: lettre::transport::smtp::Error) -> MailError {
    MailError::Delivery(e.to_string())
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Invalid(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(delivery)
    }

    async fn check(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Delivery("the server did not answer NOOP".into())),
            Err(e) => Err(delivery(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_tls_mode_and_default_ports() {
        let s = SmtpSettings::parse("smtp://mail.example:2525", "a@example.com", None).unwrap();
        assert_eq!(
            (s.tls, s.port, s.username.clone()),
            (SmtpTls::None, 2525, None)
        );
        let s =
            SmtpSettings::parse("smtp://mail.example?tls=required", "a@example.com", None).unwrap();
        assert_eq!((s.tls, s.port), (SmtpTls::StartTls, 587));
        let s =
            SmtpSettings::parse("smtps://u%40x:p%2Fw@mail.example", "a@example.com", None).unwrap();
        assert_eq!((s.tls, s.port), (SmtpTls::Tls, 465));
        assert_eq!(s.username.as_deref(), Some("u@x"));
        assert_eq!(s.password.as_deref(), Some("p/w"));
        assert!(SmtpSettings::parse("http://x", "a@example.com", None).is_err());
        assert!(SmtpSettings::parse("smtp://x?tls=maybe", "a@example.com", None).is_err());
        assert!(SmtpSettings::parse("smtp://x", "not an address", None).is_err());
    }

    #[test]
    fn the_password_is_neither_debugged_nor_in_errors() {
        let s =
            SmtpSettings::parse("smtp://u:hunter22@mail.example", "a@example.com", None).unwrap();
        assert!(!format!("{s:?}").contains("hunter22"));
        let e =
            SmtpSettings::parse("smtp://u:hunter22@mail.example?tls=x", "a@b.c", None).unwrap_err();
        assert!(!e.contains("hunter22"), "{e}");
        let e = SmtpSettings::parse("smtp://u:hunter22@mail.example", "bad", None).unwrap_err();
        assert!(!e.contains("hunter22"), "{e}");
    }
}
