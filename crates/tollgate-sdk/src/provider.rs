//! Client credentials, cached until shortly before expiry, one request in flight.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::error::SdkError;

/// Which of Tollgate's token APIs to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// `POST /oauth/token`, RFC 6749 form with HTTP Basic client authentication.
    #[default]
    Standard,
    /// `POST /v2/token`, Twilio's snake_case form.
    TwilioV2,
    /// `POST /v1/token`, Twilio's PascalCase form (answers 201).
    TwilioV1,
}

/// An access token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    token: String,
    pub token_type: String,
    pub expires_at: SystemTime,
}

impl AccessToken {
    /// The token itself, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

struct Cached {
    token: AccessToken,
    /// Fetch a new one from here on (expiry minus the margin).
    renew_at: Instant,
}

/// What the builder collects and the provider then works with.
struct Settings {
    dialect: Dialect,
    client_id: String,
    client_secret: String,
    audience: Option<String>,
    scope: Option<String>,
    account_sid: Option<String>,
    margin: Duration,
    max_attempts: u32,
    /// RFC 9449: tokens are bound to this key.
    dpop: Option<crate::dpop::DpopKey>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    settings: Settings,
    cached: RwLock<Option<Cached>>,
    /// Held by the one caller that fetches; the others wait and then read its token.
    fetching: Mutex<()>,
}

/// Gets and caches client_credentials tokens. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("endpoint", &self.inner.endpoint)
            .field("client_id", &self.inner.settings.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

pub struct TokenProviderBuilder {
    issuer: String,
    settings: Settings,
}

impl TokenProviderBuilder {
    pub fn client_credentials(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.settings.client_id = id.into();
        self.settings.client_secret = secret.into();
        self
    }
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.settings.dialect = dialect;
        self
    }
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.settings.audience = Some(audience.into());
        self
    }
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.settings.scope = Some(scope.into());
        self
    }
    /// Twilio v2: the account the token acts for.
    pub fn account_sid(mut self, sid: impl Into<String>) -> Self {
        self.settings.account_sid = Some(sid.into());
        self
    }
    /// Renew this long before expiry (default 60 s).
    pub fn renew_before_expiry(mut self, margin: Duration) -> Self {
        self.settings.margin = margin;
        self
    }
    /// Attempts per fetch on 429 and 5xx (default 4).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.settings.max_attempts = n.max(1);
        self
    }

    /// Obtains DPoP-bound tokens (RFC 9449), proving possession of `key`.
    pub fn dpop(mut self, key: crate::dpop::DpopKey) -> Self {
        self.settings.dpop = Some(key);
        self
    }

    pub fn build(self) -> Result<TokenProvider, SdkError> {
        if self.settings.client_id.is_empty() {
            return Err(SdkError::Config(
                "client_credentials(id, secret) is required".into(),
            ));
        }
        let base = self.issuer.trim_end_matches('/');
        let path = match self.settings.dialect {
            Dialect::Standard => "/oauth/token",
            Dialect::TwilioV2 => "/v2/token",
            Dialect::TwilioV1 => "/v1/token",
        };
        Ok(TokenProvider {
            inner: Arc::new(Inner {
                http: crate::http_client()?,
                endpoint: format!("{base}{path}"),
                settings: self.settings,
                cached: RwLock::new(None),
                fetching: Mutex::new(()),
            }),
        })
    }
}

impl TokenProvider {
    pub fn builder(issuer: impl Into<String>) -> TokenProviderBuilder {
        TokenProviderBuilder {
            issuer: issuer.into(),
            settings: Settings {
                dialect: Dialect::Standard,
                client_id: String::new(),
                client_secret: String::new(),
                audience: None,
                scope: None,
                account_sid: None,
                margin: Duration::from_secs(60),
                max_attempts: 4,
                dpop: None,
            },
        }
    }

    /// A token valid for at least the renewal margin.
    pub async fn token(&self) -> Result<AccessToken, SdkError> {
        if let Some(t) = self.fresh().await {
            return Ok(t);
        }
        let _only_one = self.inner.fetching.lock().await;
        // Whoever held the lock before us may have fetched one already.
        if let Some(t) = self.fresh().await {
            return Ok(t);
        }
        let token = self.fetch().await?;
        let lifetime = token
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let renew_at = Instant::now() + lifetime.saturating_sub(self.inner.settings.margin);
        *self.inner.cached.write().await = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// Forgets the cached token (after an API answered 401 with it, say).
    pub async fn invalidate(&self) {
        *self.inner.cached.write().await = None;
    }

    async fn fresh(&self) -> Option<AccessToken> {
        let cached = self.inner.cached.read().await;
        cached
            .as_ref()
            .filter(|c| Instant::now() < c.renew_at)
            .map(|c| c.token.clone())
    }

    /// A DPoP proof for calling a resource with `token` (`None` without a DPoP key).
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        token: &AccessToken,
    ) -> Result<Option<String>, SdkError> {
        match &self.inner.settings.dpop {
            Some(k) => k.proof(method, url, Some(token.secret()), None).map(Some),
            None => Ok(None),
        }
    }

    fn request(&self, nonce: Option<&str>) -> Result<reqwest::RequestBuilder, SdkError> {
        let (i, s) = (&self.inner, &self.inner.settings);
        let mut form: Vec<(&str, &str)> = Vec::new();
        let req = match s.dialect {
            Dialect::Standard => {
                form.push(("grant_type", "client_credentials"));
                i.http.post(&i.endpoint).basic_auth(
                    form_encode(&s.client_id),
                    Some(form_encode(&s.client_secret)),
                )
            }
            Dialect::TwilioV2 => {
                form.extend([
                    ("grant_type", "client_credentials"),
                    ("client_id", s.client_id.as_str()),
                    ("client_secret", s.client_secret.as_str()),
                ]);
                i.http.post(&i.endpoint)
            }
            Dialect::TwilioV1 => {
                form.extend([
                    ("GrantType", "client_credentials"),
                    ("ClientSid", s.client_id.as_str()),
                    ("ClientSecret", s.client_secret.as_str()),
                ]);
                i.http.post(&i.endpoint)
            }
        };
        let (aud, scope, account) = match s.dialect {
            Dialect::TwilioV1 => ("Audience", "Scope", None),
            _ => ("audience", "scope", Some("account_sid")),
        };
        if let Some(a) = &s.audience {
            form.push((aud, a));
        }
        if let Some(v) = &s.scope {
            form.push((scope, v));
        }
        if let (Some(name), Some(sid)) = (account, &s.account_sid) {
            form.push((name, sid));
        }
        let req = match &s.dpop {
            Some(k) => req.header("DPoP", k.proof("POST", &i.endpoint, None, nonce)?),
            None => req,
        };
        Ok(req.form(&form))
    }

    async fn fetch(&self) -> Result<AccessToken, SdkError> {
        let mut wait = Duration::from_millis(200);
        let mut nonce: Option<String> = None;
        for attempt in 1..=self.inner.settings.max_attempts {
            let resp = self.request(nonce.as_deref())?.send().await;
            // RFC 9449 section 8: retry once with the server's nonce.
            if let Ok(r) = &resp
                && r.status().as_u16() == 400
                && nonce.is_none()
                && let Some(n) = r.headers().get("dpop-nonce").and_then(|v| v.to_str().ok())
            {
                nonce = Some(n.to_owned());
                continue;
            }
            let retry = match resp {
                Ok(r) if r.status().is_redirection() => return Err(crate::redirected(&r)),
                Ok(r) if r.status().is_success() => return parse_token(r.json().await?),
                Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                    retry_after(&r).unwrap_or(wait)
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    return Err(SdkError::Refused { status, body });
                }
                Err(e) if e.is_connect() || e.is_timeout() => wait,
                Err(e) => return Err(e.into()),
            };
            if attempt == self.inner.settings.max_attempts {
                return Err(SdkError::GaveUp {
                    attempts: attempt,
                    last_wait: retry,
                });
            }
            tracing::debug!(
                attempt,
                ?retry,
                "token request throttled or failed; retrying"
            );
            tokio::time::sleep(jitter(retry)).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
        Err(SdkError::GaveUp {
            attempts: self.inner.settings.max_attempts,
            last_wait: wait,
        })
    }
}

/// RFC 6749 section 2.3.1: Basic credentials are form-encoded first.
fn form_encode(s: &str) -> String {
    url_encode(s)
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = r
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

/// Up to half again, so many clients throttled together do not return together.
fn jitter(d: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let extra = d.as_millis() as u64 * u64::from(nanos % 500) / 1000;
    d + Duration::from_millis(extra)
}

/// Standard and v2 bodies carry `expires_in`; a v1 body may carry only
/// `access_token_expires_at` (RFC 2822); the JWT's own `exp` is the last resort.
fn parse_token(body: Value) -> Result<AccessToken, SdkError> {
    let token = body["access_token"]
        .as_str()
        .ok_or_else(|| SdkError::Malformed("no access_token in the response".into()))?
        .to_owned();
    let now = SystemTime::now();
    let expires_at = if let Some(secs) = body["expires_in"].as_u64() {
        now + Duration::from_secs(secs)
    } else if let Some(at) = body["access_token_expires_at"].as_str().and_then(rfc2822) {
        at
    } else {
        jwt_exp(&token).ok_or_else(|| SdkError::Malformed("no expiry in the response".into()))?
    };
    Ok(AccessToken {
        token,
        token_type: body["token_type"].as_str().unwrap_or("Bearer").to_owned(),
        expires_at,
    })
}

fn rfc2822(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).ok()?))
}

fn jwt_exp(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(claims["exp"].as_u64()?))
}
