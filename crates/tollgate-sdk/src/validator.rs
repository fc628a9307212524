//! Checks RFC 9068 access tokens for a resource server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::error::{SdkError, ValidationError};
use crate::introspection::Introspection;
use crate::replay::{MemoryReplayCache, ReplayCache};

/// The claims of an accepted token.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(default)]
    pub aud: Value,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub jti: String,
    /// The Twilio account the token acts for.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Everything else the token carried.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Claims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

/// The `cnf.jkt` of a DPoP-bound token.
fn jkt(claims: &Claims) -> Option<String> {
    claims
        .extra
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

struct Keys {
    set: JwkSet,
    fetched: Option<Instant>,
}

struct Inner {
    http: reqwest::Client,
    issuer: String,
    jwks_uri: String,
    introspection: Option<Introspection>,
    audience: String,
    /// The accounts whose tokens are accepted; empty accepts every account's.
    accounts: Vec<String>,
    leeway: u64,
    refetch_interval: Duration,
    check_revocation: bool,
    now: Now,
    keys: RwLock<Keys>,
    refetching: Mutex<()>,
    /// DPoP proof `jti`s seen recently.
    replay: Arc<dyn ReplayCache>,
}

/// Validates bearer tokens of one issuer for one audience. Cheap to clone.
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

/// Unix seconds; the system clock unless a test injects another.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub struct ValidatorBuilder {
    now: Now,
    issuer: String,
    audience: Option<String>,
    accounts: Vec<String>,
    leeway: u64,
    refetch_interval: Duration,
    introspect_as: Option<(String, String)>,
    check_revocation: bool,
    replay: Option<Arc<dyn ReplayCache>>,
}

impl ValidatorBuilder {
    /// The `aud` this API answers to (required).
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }
    /// Accept only tokens acting for this Twilio account (their `account_sid` claim). Every
    /// account on a Tollgate server shares its issuer, and another account's client can ask
    /// for the same audience string, so without this an API of one tenant accepts the tokens
    /// of all. Call it again to accept several accounts.
    pub fn account(mut self, account_sid: impl Into<String>) -> Self {
        self.accounts.push(account_sid.into());
        self
    }
    /// Where DPoP proofs are remembered against replay (default: this process's memory, see
    /// [`ReplayCache`]); share one between the replicas of an API.
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }
    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }
    /// At most one JWKS refetch for an unknown `kid` per this interval (default 10 s).
    pub fn jwks_refetch_interval(mut self, d: Duration) -> Self {
        self.refetch_interval = d;
        self
    }
    /// This API's own client credentials, for RFC 7662 introspection (opaque tokens).
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        self.introspect_as = Some((client_id.into(), secret.into()));
        self
    }
    /// The clock `exp` and `nbf` are checked against (tests move it instead of sleeping).
    pub fn clock(mut self, now: Now) -> Self {
        self.now = now;
        self
    }
    /// Also ask introspection about JWTs, so a revoked token is refused at once.
    pub fn check_revocation(mut self, yes: bool) -> Self {
        self.check_revocation = yes;
        self
    }

    /// Reads the discovery document and the JWKS.
    pub async fn build(self) -> Result<Validator, SdkError> {
        let audience = self
            .audience
            .ok_or_else(|| SdkError::Config("audience(…) is required".into()))?;
        let http = crate::http_client()?;
        let base = self.issuer.trim_end_matches('/');
        let doc: Value = crate::refuse_redirect(
            http.get(format!("{base}/.well-known/openid-configuration"))
                .send()
                .await?,
        )?
        .error_for_status()?
        .json()
        .await?;
        let field = |name: &str| doc[name].as_str().map(str::to_owned);
        let issuer = field("issuer").ok_or_else(|| SdkError::Malformed("no issuer".into()))?;
        // RFC 8414 section 3.3; a trailing slash typed after the issuer is forgiven.
        if issuer != self.issuer && issuer != base {
            return Err(SdkError::IssuerMismatch {
                configured: self.issuer,
                discovered: issuer,
            });
        }
        let jwks_uri =
            field("jwks_uri").ok_or_else(|| SdkError::Malformed("no jwks_uri".into()))?;
        let introspection = match (field("introspection_endpoint"), self.introspect_as) {
            (Some(endpoint), Some((client_id, secret))) => Some(Introspection {
                endpoint,
                client_id,
                secret,
            }),
            _ => None,
        };
        let v = Validator {
            inner: Arc::new(Inner {
                http,
                issuer,
                jwks_uri,
                introspection,
                audience,
                accounts: self.accounts,
                leeway: self.leeway,
                refetch_interval: self.refetch_interval,
                check_revocation: self.check_revocation,
                now: self.now,
                keys: RwLock::new(Keys {
                    set: JwkSet { keys: Vec::new() },
                    fetched: None,
                }),
                refetching: Mutex::new(()),
                replay: self
                    .replay
                    .unwrap_or_else(|| Arc::new(MemoryReplayCache::new())),
            }),
        };
        v.refetch_keys(true).await?;
        Ok(v)
    }
}

impl Validator {
    pub fn discover(issuer: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder {
            now: Arc::new(system_now),
            issuer: issuer.into(),
            audience: None,
            accounts: Vec::new(),
            leeway: 30,
            refetch_interval: Duration::from_secs(10),
            introspect_as: None,
            check_revocation: false,
            replay: None,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Accepts a bearer token, or says why not; `required` scopes must all be granted. A
    /// DPoP-bound token is refused here (RFC 9449 section 7.1): use [`Validator::validate_dpop`].
    pub async fn validate(
        &self,
        token: &str,
        required: &[String],
    ) -> Result<Claims, ValidationError> {
        let claims = self.validate_any(token, required).await?;
        if jkt(&claims).is_some() {
            return Err(ValidationError::InvalidToken(
                "the token is DPoP-bound: it needs the DPoP scheme and a proof".into(),
            ));
        }
        Ok(claims)
    }

    /// Accepts a token sent as `Authorization: DPoP` with its proof: the proof must be signed
    /// by the key in the token's `cnf.jkt`, for this request, fresh, unreplayed, and carry the
    /// token's `ath`. An unbound token is refused here.
    pub async fn validate_dpop(
        &self,
        token: &str,
        required: &[String],
        request: &crate::dpop::DpopRequest<'_>,
    ) -> Result<Claims, ValidationError> {
        let claims = self.validate_any(token, required).await?;
        let bound = jkt(&claims).ok_or_else(|| {
            ValidationError::InvalidToken("the token is not DPoP-bound: use Bearer".into())
        })?;
        crate::dpop::verify(
            request,
            token,
            &bound,
            (self.inner.now)(),
            self.inner.replay.as_ref(),
        )?;
        Ok(claims)
    }

    async fn validate_any(
        &self,
        token: &str,
        required: &[String],
    ) -> Result<Claims, ValidationError> {
        let claims = if token.split('.').count() == 3 {
            let claims = self.verify_jwt(token).await?;
            if self.inner.check_revocation {
                self.introspect(token).await?;
            }
            claims
        } else {
            self.introspect(token).await?
        };
        let accounts = &self.inner.accounts;
        if !accounts.is_empty()
            && !claims
                .account_sid
                .as_ref()
                .is_some_and(|sid| accounts.contains(sid))
        {
            return Err(ValidationError::InvalidToken(
                "the token acts for another account".into(),
            ));
        }
        if let Some(missing) = required.iter().find(|s| !claims.has_scope(s)) {
            return Err(ValidationError::InsufficientScope(format!(
                "the token lacks the {missing:?} scope"
            )));
        }
        Ok(claims)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Claims, ValidationError> {
        let invalid = |m: &str| ValidationError::InvalidToken(m.to_owned());
        let header = decode_header(token).map_err(|_| invalid("malformed token"))?;
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(invalid("not an access token (typ must be at+jwt)"));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("the token names no key"))?;
        let key = match self.key(&kid).await {
            Some(k) => k,
            // Perhaps the issuer rotated its keys since we last looked.
            None => {
                self.refetch_keys(false)
                    .await
                    .map_err(|e| ValidationError::Unavailable(e.to_string()))?;
                self.key(&kid)
                    .await
                    .ok_or_else(|| invalid("unknown signing key"))?
            }
        };
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.inner.issuer]);
        v.set_audience(&[&self.inner.audience]);
        // Time is checked below against the validator's own clock.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidIssuer => invalid("the token is from another issuer"),
                K::InvalidAudience => invalid("the token is for another audience"),
                K::InvalidSignature => invalid("bad signature"),
                _ => invalid("the token could not be verified"),
            }
        })?;
        let now = (self.inner.now)();
        let leeway = self.inner.leeway as i64;
        if data.claims.exp + leeway < now {
            return Err(invalid("the token has expired"));
        }
        let nbf = data.claims.extra.get("nbf").and_then(Value::as_i64);
        if nbf.is_some_and(|nbf| nbf - leeway > now) {
            return Err(invalid("the token is not valid yet"));
        }
        Ok(data.claims)
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.inner.keys.read().await;
        let jwk = keys.set.find(kid)?;
        DecodingKey::from_jwk(jwk).ok()
    }

    /// Refetches the JWKS, at most once per interval unless `force`.
    async fn refetch_keys(&self, force: bool) -> Result<(), SdkError> {
        let _one = self.inner.refetching.lock().await;
        let recent = self
            .inner
            .keys
            .read()
            .await
            .fetched
            .is_some_and(|at| at.elapsed() < self.inner.refetch_interval);
        if recent && !force {
            return Ok(());
        }
        let set: JwkSet =
            crate::refuse_redirect(self.inner.http.get(&self.inner.jwks_uri).send().await?)?
                .error_for_status()?
                .json()
                .await?;
        *self.inner.keys.write().await = Keys {
            set,
            fetched: Some(Instant::now()),
        };
        Ok(())
    }

    /// RFC 7662: an inactive answer is an invalid token.
    async fn introspect(&self, token: &str) -> Result<Claims, ValidationError> {
        let Some(introspection) = &self.inner.introspection else {
            return Err(ValidationError::InvalidToken(
                "not a JWT, and no introspection is configured".into(),
            ));
        };
        introspection
            .ask(
                &self.inner.http,
                token,
                &self.inner.issuer,
                &self.inner.audience,
            )
            .await
    }
}
