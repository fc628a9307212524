//! Grant logic. Dialects build a [`TokenRequest`]; the engine authenticates the client, applies
//! the grant and mints tokens.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::cache::{ChangeCursor, Directory};
use crate::clock::{Clock, Rng, random_bytes};
use crate::error::{ErrorKind, OAuthError};
use crate::ids::{AccountSid, ClientId};
use crate::keys::{KeyRing, KeySealer, KeySet, LoadedKey, SigningAlgorithm};
use crate::model::{Account, Client, Entity, GrantType, TokenFormat};
use crate::scope;
use crate::store::{Store, StoreResult};
use crate::token::{AccessTokenClaims, Audience, Issued};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The engine's settings; the server's configuration embeds them (flattened), so a setting is
/// named once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Public base URL, no trailing slash; the `iss` of every token. Empty in configuration
    /// means `http://<listen address>`.
    pub issuer: String,
    pub access_token_ttl: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub refresh_token_ttl: u32,
    /// Two uses of one refresh token this close together both succeed (DESIGN section 5).
    pub refresh_grace_secs: u32,
    pub code_ttl: u32,
    /// Introspection and userinfo also ask the store whether a token was revoked, closing the
    /// window (well under a second with NOTIFY) in which another node's revocation is unseen.
    pub strict_revocation: bool,
    /// A browser session ends after this long without activity…
    pub session_idle_secs: u32,
    /// …and after this long in any case.
    pub session_lifetime_secs: u32,
    /// RFC 8628 device codes live this long…
    pub device_code_ttl: u32,
    /// …and are polled at most this often (seconds) unless slowed down.
    pub device_poll_interval: u32,
    /// RFC 9449 section 8: DPoP proofs must carry a server nonce (sent in `DPoP-Nonce`).
    pub dpop_nonce: bool,
    /// A DPoP proof's `iat` may be this many seconds off the server's clock.
    pub dpop_proof_window: u32,
    /// RFC 9126 `request_uri`s live this long.
    pub par_ttl: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::new("")
    }
}

impl EngineConfig {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            access_token_ttl: 3600,
            signing_algorithm: SigningAlgorithm::ES256,
            refresh_token_ttl: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            code_ttl: 60,
            strict_revocation: false,
            session_idle_secs: 30 * 60,
            session_lifetime_secs: 12 * 3600,
            device_code_ttl: 600,
            device_poll_interval: 5,
            dpop_nonce: false,
            dpop_proof_window: 60,
            par_ttl: 60,
        }
    }
}

/// Client credentials as the dialect found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// Empty when only an assertion names the client.
    pub client_id: String,
    pub secret: Option<String>,
    /// RFC 7523 `client_assertion` (its type already checked by the dialect).
    pub assertion: Option<String>,
    /// The URL of the endpoint authenticated at: an assertion's `aud` may name it.
    pub endpoint: Option<String>,
}

impl ClientAuth {
    pub fn with_secret(client_id: impl Into<String>, secret: Option<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret,
            assertion: None,
            endpoint: None,
        }
    }
}

/// An engine-level token request: every dialect maps its field names onto this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client: Option<ClientAuth>,
    /// `AccountSid:AuthToken` the caller presented (Twilio v1), to be verified.
    pub account_auth: Option<(String, String)>,
    pub scope: Option<String>,
    pub audience: Vec<String>,
    /// The account the token should act for (Twilio `account_sid`).
    pub account_sid: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    /// The dialect has no redirect URI on its token endpoint (Twilio v1): an absent one is
    /// accepted even when the authorization request named one.
    pub redirect_uri_optional: bool,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub device_code: Option<String>,
    pub device_id: Option<String>,
    /// RFC 8707 `resource` indicators.
    pub resource: Vec<String>,
    /// RFC 9449 proof from the `DPoP` header.
    pub dpop: Option<crate::dpop::DpopProof>,
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) store: Arc<dyn Store>,
    directory: Directory,
    keys: KeyRing,
    pub(crate) sealer: Arc<KeySealer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    cursor: Mutex<ChangeCursor>,
    /// This process, as a lease holder.
    pub(crate) node: String,
    /// Revoked access tokens (`jti` → expiry), applied at once here and from the change log
    /// elsewhere, so introspection needs no store read.
    revoked: dashmap::DashMap<String, i64>,
    /// When changes made elsewhere were last applied (Unix seconds).
    last_sync: std::sync::atomic::AtomicI64,
    /// Concurrent password checks (Argon2), one per core.
    pub(crate) password_slots: Arc<tokio::sync::Semaphore>,
    /// JWT access tokens whose signature already checked out, with the signing kid:
    /// introspecting the same token again skips the signature check (never the expiry,
    /// revocation or key-still-published checks). See `introspection::VerifiedJwt`.
    pub(crate) verified: dashmap::DashMap<u64, crate::introspection::VerifiedJwt>,
    /// Keys the `verified` cache's hash with per-process randomness, so nobody outside can
    /// aim for a collision.
    pub(crate) verified_keys: std::hash::RandomState,
    /// Clients' fetched `jwks_uri` documents.
    pub(crate) jwks_cache: crate::client_assertion::JwksCache,
    pub(crate) jwks_fetcher: std::sync::OnceLock<Arc<dyn crate::client_assertion::JwksFetcher>>,
    /// Tokens this node issued, per account and minute, for the console's overview.
    pub(crate) issued: crate::activity::IssueCounts,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

impl Engine {
    /// Loads clients, accounts and keys; creates the first signing key on an empty store.
    pub async fn start(
        config: EngineConfig,
        store: Arc<dyn Store>,
        sealer: KeySealer,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, StartError> {
        let latest = store.latest_change().await?;
        let directory = Directory::default();
        directory.load_all(store.as_ref()).await?;
        let now = clock.now();
        let node = URL_SAFE_NO_PAD
            .encode(random_bytes::<12>(rng.as_ref()).map_err(crate::keys::KeyError::from)?);
        let stored = first_key(&config, store.as_ref(), &sealer, rng.as_ref(), &node, now).await?;
        let set = load_key_set(stored, &sealer, now)?;
        let revoked = dashmap::DashMap::new();
        for (jti, exp) in store.revoked_access_tokens(now).await? {
            revoked.insert(jti, exp);
        }
        Ok(Self {
            config,
            store,
            directory,
            keys: KeyRing::new(set),
            sealer: Arc::new(sealer),
            clock,
            rng,
            jwks_cache: Default::default(),
            jwks_fetcher: std::sync::OnceLock::new(),
            cursor: Mutex::new(ChangeCursor::starting_at(latest)),
            verified: dashmap::DashMap::new(),
            verified_keys: std::hash::RandomState::new(),
            issued: crate::activity::IssueCounts::default(),
            last_sync: std::sync::atomic::AtomicI64::new(now),
            node,
            revoked,
            password_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Administrative operations on this engine's store.
    pub fn admin(&self) -> crate::admin::Admin {
        crate::admin::Admin::new(self.store.clone(), self.clock.clone(), self.rng.clone())
            .with_sealer(self.sealer.clone())
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A tag binding `parts` (CSRF tokens, device confirmations), valid on every node.
    pub fn page_mac(&self, parts: &[&[u8]]) -> String {
        self.sealer.mac(parts)
    }

    pub fn verify_page_mac(&self, parts: &[&[u8]], tag: &str) -> bool {
        self.sealer.verify_mac(parts, tag)
    }

    pub fn rng(&self) -> &dyn Rng {
        self.rng.as_ref()
    }

    pub fn key_set(&self) -> Arc<KeySet> {
        self.keys.current(self.clock.now())
    }

    pub fn client(&self, id: &ClientId) -> Option<Arc<Client>> {
        self.directory.client(id)
    }

    /// Applies changes other processes made (the admin CLI, other nodes).
    pub async fn sync(&self) -> StoreResult<usize> {
        let mut cursor = self.cursor.lock().await;
        let changes = self.store.changes_since(cursor.read_from()).await?;
        let fresh = cursor.take_new(changes);
        let mut keys_changed = false;
        for change in &fresh {
            match change.entity {
                Entity::SigningKey => keys_changed = true,
                Entity::Revocation => self.remember_revocation(&change.id),
                _ => self.directory.refresh(self.store.as_ref(), change).await?,
            }
        }
        if keys_changed {
            self.reload_keys().await?;
        }
        self.last_sync
            .store(self.clock.now(), std::sync::atomic::Ordering::Relaxed);
        Ok(fresh.len())
    }

    pub async fn reload_keys(&self) -> StoreResult<()> {
        let stored = self.store.signing_keys().await?;
        match load_key_set(stored, &self.sealer, self.clock.now()) {
            Ok(set) => self.keys.replace(set),
            Err(e) => {
                tracing::error!(error = %e, "could not load signing keys; keeping the old set")
            }
        }
        Ok(())
    }

    /// Whether the store answers (readiness).
    pub async fn ping_store(&self) -> StoreResult<()> {
        self.store.latest_change().await.map(|_| ())
    }

    /// Whether an access token was revoked: from memory, and also from the store under
    /// `strict_revocation`.
    pub(crate) async fn access_token_revoked(&self, jti: &str) -> Result<bool, OAuthError> {
        if self.revoked.contains_key(jti) {
            return Ok(true);
        }
        if self.config.strict_revocation {
            return Ok(self.store.access_token_revoked(jti).await?);
        }
        Ok(false)
    }

    /// Revokes an access token: stored (and logged for other nodes) and applied here before
    /// the caller answers.
    pub(crate) async fn revoke_access_token(&self, jti: &str, exp: i64) -> Result<(), OAuthError> {
        self.store.revoke_access_token(jti, exp).await?;
        self.revoked.insert(jti.to_owned(), exp);
        Ok(())
    }

    /// A change-log revocation id is `<expires_at>:<jti>`.
    fn remember_revocation(&self, id: &str) {
        if let Some((exp, jti)) = id.split_once(':')
            && let Ok(exp) = exp.parse::<i64>()
        {
            self.revoked.insert(jti.to_owned(), exp);
        }
    }

    /// Forgets revocations of tokens that have expired anyway (and issue counts older than a
    /// day).
    pub fn prune_revocations(&self, now: i64) {
        self.issued.prune(now);
        self.revoked.retain(|_, exp| *exp > now);
        metrics::gauge!("tollgate_cache_entries", "cache" => "revocations")
            .set(self.revoked.len() as f64);
    }

    /// Seconds since changes made elsewhere were last applied.
    pub fn sync_lag(&self, now: i64) -> Option<i64> {
        let at = self.last_sync.load(std::sync::atomic::Ordering::Relaxed);
        Some((now - at).max(0))
    }

    /// Clients and accounts held in memory, for metrics.
    pub fn directory_sizes(&self) -> (usize, usize) {
        self.directory.sizes()
    }

    /// Whether a browser app at `origin` may call the token endpoints (CORS).
    pub fn is_client_origin(&self, origin: &str) -> bool {
        self.directory.is_client_origin(origin)
    }

    /// A client by id: from memory, or read through to the store on a miss.
    pub async fn find_client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, OAuthError> {
        let now = self.clock.now();
        Ok(self
            .directory
            .client_or_load(self.store.as_ref(), id, now)
            .await?)
    }

    /// An account by SID, read through like [`Engine::find_client`].
    pub async fn find_account(&self, sid: &AccountSid) -> Result<Option<Arc<Account>>, OAuthError> {
        let now = self.clock.now();
        Ok(self
            .directory
            .account_or_load(self.store.as_ref(), sid, now)
            .await?)
    }

    /// RFC 6749 client authentication against the in-memory directory. On Twilio v1 the
    /// owning account's `AccountSid:AuthToken` may stand in for the client secret.
    pub async fn authenticate_client(
        &self,
        auth: Option<&ClientAuth>,
        account_auth: Option<&(String, String)>,
    ) -> Result<Arc<Client>, OAuthError> {
        let account = match account_auth {
            Some((sid, token)) => Some(self.authenticate_account(sid, token).await?),
            None => None,
        };
        let Some(auth) = auth else {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        };
        if let Some(assertion) = &auth.assertion {
            if account.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: an assertion or account credentials",
                ));
            }
            return self.authenticate_by_assertion(auth, assertion).await;
        }
        let unknown = || {
            OAuthError::invalid_client(
                "client authentication failed: unknown client or wrong secret",
            )
        };
        let id = ClientId::parse(&auth.client_id).map_err(|_| unknown())?;
        let client = self.find_client(&id).await?.ok_or_else(unknown)?;
        if let Some(account) = &account
            && account.sid != client.account_sid
        {
            // Another account's app answers as an unknown one: nothing about it is disclosed.
            return Err(unknown());
        }
        if client.auth_method.uses_assertion() {
            // FAPI 2.0 and private_key_jwt clients never authenticate with a plain secret.
            return Err(OAuthError::invalid_client(format!(
                "this client must authenticate with a client_assertion ({})",
                client.auth_method.as_str()
            )));
        }
        match (&client.secret_digest, &auth.secret) {
            (Some(digest), Some(secret)) if digest.verify(secret) => Ok(client),
            (Some(_), None) if account.is_some() => Ok(client),
            (Some(_), _) => Err(unknown()),
            // A public client identifies itself by id alone.
            (None, None) => Ok(client),
            (None, Some(_)) => Err(OAuthError::invalid_client(
                "client authentication failed: this client is public and has no secret",
            )),
        }
    }

    /// Verifies Twilio `AccountSid:AuthToken` credentials.
    pub async fn authenticate_account(
        &self,
        sid: &str,
        token: &str,
    ) -> Result<Arc<Account>, OAuthError> {
        let fail = || OAuthError::invalid_client("account authentication failed");
        let sid = AccountSid::parse(sid).map_err(|_| fail())?;
        let account = self.find_account(&sid).await?.ok_or_else(fail)?;
        if account.auth_token_digest.verify(token) {
            Ok(account)
        } else {
            Err(fail())
        }
    }

    pub async fn token(&self, req: TokenRequest) -> Result<Issued, OAuthError> {
        let grant = match req.grant_type.as_deref() {
            None | Some("") => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(g) => g
                .parse::<GrantType>()
                .map_err(|e| OAuthError::new(ErrorKind::UnsupportedGrantType, e.to_string()))?,
        };
        let client = self
            .authenticate_client(req.client.as_ref(), req.account_auth.as_ref())
            .await?;
        if !client.allows(grant) {
            return Err(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                format!("this client may not use the {grant} grant"),
            ));
        }
        let jkt = self.token_dpop(&client, &req).await?;
        let jkt = jkt.as_deref();
        let issued = match grant {
            GrantType::ClientCredentials => self.client_credentials(&client, &req, jkt).await,
            GrantType::AuthorizationCode => self.authorization_code(&client, &req, jkt).await,
            GrantType::RefreshToken => self.refresh(&client, &req, jkt).await,
            GrantType::DeviceCode => self.device_code(&client, &req, jkt).await,
        };
        if issued.is_ok() {
            self.issued.record(&client.account_sid, self.clock.now());
        }
        issued
    }

    /// The DPoP key a token request proves, when it sends a proof; required of clients
    /// registered for DPoP-bound tokens.
    async fn token_dpop(
        &self,
        client: &Client,
        req: &TokenRequest,
    ) -> Result<Option<String>, OAuthError> {
        match &req.dpop {
            Some(proof) => Ok(Some(
                self.verify_dpop_proof(proof, None, client.is_fapi())
                    .await?,
            )),
            None if client.requires_dpop() => Err(OAuthError::new(
                ErrorKind::InvalidDpopProof,
                "this client must send a DPoP proof: its tokens are DPoP-bound",
            )),
            None => Ok(None),
        }
    }

    /// A random, URL-safe identifier of `N` bytes.
    pub(crate) fn random_id<const N: usize>(&self) -> Result<String, OAuthError> {
        Ok(URL_SAFE_NO_PAD.encode(random_bytes::<N>(self.rng.as_ref())?))
    }

    async fn client_credentials(
        &self,
        client: &Client,
        req: &TokenRequest,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                "public clients cannot use the client_credentials grant",
            ));
        }
        let scopes = self.granted_scopes(client, req.scope.as_deref())?;
        let mut asked = req.audience.clone();
        asked.extend(req.resource.iter().cloned());
        let audience = self.audience(client, &asked)?;
        let account = self
            .acting_account(client, req.account_sid.as_deref())
            .await?;
        let jti = self.random_id::<16>()?;
        self.mint(
            client,
            client.id.as_str(),
            &scopes,
            &audience,
            Some(account.as_str()),
            (&jti, jkt),
        )
        .await
    }

    /// Requested scopes must all be registered for the client; none requested means all of them.
    fn granted_scopes(
        &self,
        client: &Client,
        requested: Option<&str>,
    ) -> Result<String, OAuthError> {
        let requested = match requested {
            None => return Ok(scope::join(&client.scopes)),
            Some(raw) => scope::parse(raw)
                .map_err(|e| OAuthError::new(ErrorKind::InvalidScope, e.to_string()))?,
        };
        if requested.is_empty() {
            return Ok(scope::join(&client.scopes));
        }
        if let Some(bad) = requested.iter().find(|s| !client.scopes.contains(s)) {
            return Err(OAuthError::new(
                ErrorKind::InvalidScope,
                format!("scope {bad:?} is not allowed for this client"),
            ));
        }
        Ok(scope::join(&requested))
    }

    pub(crate) fn audience(
        &self,
        client: &Client,
        requested: &[String],
    ) -> Result<Vec<String>, OAuthError> {
        let requested: Vec<&String> = requested.iter().filter(|a| !a.is_empty()).collect();
        if requested.is_empty() {
            return Ok(if client.audiences.is_empty() {
                vec![self.config.issuer.clone()]
            } else {
                client.audiences.clone()
            });
        }
        let mut out: Vec<String> = Vec::with_capacity(requested.len());
        for aud in requested {
            if !client.audiences.contains(aud) {
                return Err(OAuthError::new(
                    ErrorKind::InvalidTarget,
                    format!(
                        "audience {:?} is not registered for this client",
                        truncate(aud)
                    ),
                ));
            }
            if !out.contains(aud) {
                out.push(aud.clone());
            }
        }
        Ok(out)
    }

    /// The client's own account by default; another account only within the same organization.
    async fn acting_account(
        &self,
        client: &Client,
        requested: Option<&str>,
    ) -> Result<AccountSid, OAuthError> {
        let Some(raw) = requested.filter(|s| !s.is_empty()) else {
            return Ok(client.account_sid.clone());
        };
        let sid = AccountSid::parse(raw)
            .map_err(|e| OAuthError::invalid_request(format!("account_sid: {e}")))?;
        if sid == client.account_sid {
            return Ok(sid);
        }
        let own = self.find_account(&client.account_sid).await?;
        let target = self.find_account(&sid).await?;
        match (own, target) {
            (Some(own), Some(target)) if own.organization_sid == target.organization_sid => Ok(sid),
            _ => Err(OAuthError::new(
                ErrorKind::InvalidTarget,
                format!("account_sid {sid} is not an account of this OAuth app's organization"),
            )),
        }
    }

    /// Signs an access token; `jti` is chosen by the caller so it can be recorded first.
    pub(crate) async fn mint(
        &self,
        client: &Client,
        subject: &str,
        scope: &str,
        audience: &[String],
        account_sid: Option<&str>,
        // The token's `jti` and the DPoP key it is bound to, if any.
        (jti, jkt): (&str, Option<&str>),
    ) -> Result<Issued, OAuthError> {
        let now = self.clock.now();
        let ttl = i64::from(
            client
                .access_token_ttl
                .unwrap_or(self.config.access_token_ttl),
        );
        if client.token_format == TokenFormat::Opaque {
            // Doorkeeper-style: a random string, recorded by digest for introspection.
            let token = crate::secret::Secret::generate(self.rng.as_ref())?;
            self.store
                .insert_opaque_token(&crate::model::OpaqueAccessToken {
                    digest: token.digest(),
                    jti: jti.to_owned(),
                    client_id: client.id.clone(),
                    sub: subject.to_owned(),
                    scope: scope.to_owned(),
                    audiences: audience.to_vec(),
                    account_sid: account_sid.map(str::to_owned),
                    issued_at: now,
                    expires_at: now + ttl,
                    revoked_at: None,
                    dpop_jkt: jkt.map(str::to_owned),
                })
                .await?;
            return Ok(Issued {
                access_token: token.expose().to_owned(),
                expires_in: ttl,
                issued_at: now,
                scope: scope.to_owned(),
                refresh_token: None,
                refresh_token_expires_at: None,
                id_token: None,
                dpop_bound: jkt.is_some(),
            });
        }
        let claims = AccessTokenClaims {
            iss: &self.config.issuer,
            sub: subject,
            aud: Audience::of(audience),
            client_id: client.id.as_str(),
            scope,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti,
            account_sid,
            cnf: jkt.map(|jkt| crate::token::Confirmation { jkt }),
        };
        let access_token = self.sign(&claims, true)?;
        Ok(Issued {
            access_token,
            expires_in: ttl,
            issued_at: now,
            scope: scope.to_owned(),
            refresh_token: None,
            refresh_token_expires_at: None,
            id_token: None,
            dpop_bound: jkt.is_some(),
        })
    }
}

impl Engine {
    /// Signs claims with the current key: `typ: at+jwt` for access tokens, `JWT` otherwise.
    pub(crate) fn sign<T: serde::Serialize>(
        &self,
        claims: &T,
        access_token: bool,
    ) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
        let keys = self.keys.current(self.clock.now());
        let key = keys.signing_key(self.clock.now()).ok_or_else(|| {
            tracing::error!("no active signing key");
            OAuthError::server_error()
        })?;
        key.sign(&json, access_token)
            .ok_or_else(OAuthError::server_error)
    }
}

/// The signing keys at start. On an empty store exactly one node creates the first key, under
/// a lease; the others wait for it.
async fn first_key(
    config: &EngineConfig,
    store: &dyn Store,
    sealer: &KeySealer,
    rng: &dyn Rng,
    node: &str,
    now: i64,
) -> Result<Vec<crate::keys::StoredKey>, StartError> {
    let usable =
        |keys: &[crate::keys::StoredKey]| keys.iter().any(|k| k.expires_at.is_none_or(|e| e > now));
    for _ in 0..300 {
        let stored = store.signing_keys().await?;
        if usable(&stored) {
            return Ok(stored);
        }
        if store.try_lease(KEY_LEASE, node, now, now + 30).await? {
            let stored = store.signing_keys().await?;
            if !usable(&stored) {
                let key = LoadedKey::generate(config.signing_algorithm, sealer, rng, now, now)?;
                store.insert_signing_key(&key.stored).await?;
                tracing::info!(
                    kid = key.kid(),
                    alg = config.signing_algorithm.as_str(),
                    "created signing key"
                );
            }
            store.release_lease(KEY_LEASE, node).await?;
            return Ok(store.signing_keys().await?);
        }
        // Another node is creating it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StartError::Key(crate::keys::KeyError::Generate))
}

/// The lease every key creation and rotation takes, so nodes never create two at once.
pub(crate) const KEY_LEASE: &str = "signing-keys";

fn load_key_set(
    stored: Vec<crate::keys::StoredKey>,
    sealer: &KeySealer,
    now: i64,
) -> Result<KeySet, crate::keys::KeyError> {
    let mut loaded = Vec::with_capacity(stored.len());
    for k in stored {
        loaded.push(Arc::new(LoadedKey::load(k, sealer)?));
    }
    Ok(KeySet::new(loaded, now))
}

fn truncate(s: &str) -> String {
    s.chars().take(100).collect()
}
