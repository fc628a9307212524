//! Administrative operations shared by the CLI and the account admin API.

use std::sync::Arc;

use crate::clock::{Clock, Rng};
use crate::fetch::FetchPolicy;
use crate::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use crate::keys::{KeySealer, LoadedKey, SigningAlgorithm, StoredKey};
use crate::model::{
    Account, Client, ClientProfile, GrantType, Organization, TokenEndpointAuthMethod, TokenFormat,
    User,
};
use crate::scope;
use crate::secret::Secret;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Rng(#[from] crate::clock::RngError),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// The longest access-token lifetime a client may ask for: 30 days.
pub const MAX_ACCESS_TOKEN_TTL: u32 = 30 * 24 * 3600;

#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub friendly_name: String,
    pub account_sid: Option<AccountSid>,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub public: bool,
    pub token_format: TokenFormat,
    pub access_token_ttl: Option<u32>,
    /// PKCE even though the client is confidential.
    pub require_pkce: bool,
    /// Defaults to `client_secret_basic` (`none` for public clients).
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// Inline JWKS document for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub require_par: bool,
    pub require_dpop: bool,
    pub profile: ClientProfile,
}

#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub friendly_name: Option<String>,
    pub account_sid: Option<AccountSid>,
    /// An administrator of the account: may use the console.
    pub admin: bool,
}

pub struct Admin {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    /// Seals `client_secret_jwt` secrets; without it such clients cannot be created.
    sealer: Option<Arc<KeySealer>>,
    /// What a `jwks_uri` must satisfy: the server's outbound policy, else the strict default.
    outbound: FetchPolicy,
}

impl Admin {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, rng: Arc<dyn Rng>) -> Self {
        Self {
            store,
            clock,
            rng,
            sealer: None,
            outbound: FetchPolicy::default(),
        }
    }

    pub fn with_outbound_policy(mut self, policy: FetchPolicy) -> Self {
        self.outbound = policy;
        self
    }

    /// A `jwks_uri` must pass the outbound policy's static part (DESIGN section 14).
    fn check_jwks_uri(&self, uri: Option<&str>) -> AdminResult<()> {
        match uri.map(|u| self.outbound.check_url(u)) {
            Some(Err(e)) => Err(AdminError::Invalid(format!("jwks_uri {e}"))),
            _ => Ok(()),
        }
    }

    pub fn with_sealer(mut self, sealer: Arc<KeySealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    pub async fn user_by_email(&self, email: &str) -> AdminResult<Option<User>> {
        Ok(self.store.user_by_email(email).await?)
    }

    /// A random secret from this administrator's generator (demo passwords).
    pub fn generate_secret(&self) -> AdminResult<Secret> {
        Ok(Secret::generate(self.rng.as_ref())?)
    }

    /// Creates an account, in `organization` or in a new organization of its own.
    pub async fn create_account(
        &self,
        friendly_name: Option<String>,
        organization: Option<OrganizationSid>,
    ) -> AdminResult<(Account, Secret)> {
        let now = self.clock.now();
        let friendly_name = friendly_name.unwrap_or_else(|| "Tollgate account".to_owned());
        check_text("friendly name", &friendly_name)?;
        let organization_sid = match organization {
            Some(sid) => {
                if !self.store.organization_exists(&sid).await? {
                    return Err(AdminError::NotFound(format!("organization {sid}")));
                }
                sid
            }
            None => {
                let org = Organization {
                    sid: OrganizationSid::generate(self.rng.as_ref())?,
                    friendly_name: friendly_name.clone(),
                    created_at: now,
                };
                self.store.insert_organization(&org).await?;
                org.sid
            }
        };
        let token = Secret::generate(self.rng.as_ref())?;
        let account = Account {
            sid: AccountSid::generate(self.rng.as_ref())?,
            organization_sid,
            friendly_name,
            auth_token_digest: token.digest(),
            created_at: now,
        };
        self.store.insert_account(&account).await?;
        Ok((account, token))
    }

    /// On an empty database, creates the default organization and account.
    pub async fn bootstrap(&self) -> AdminResult<Option<(Account, Secret)>> {
        if self.store.count_accounts().await? > 0 {
            return Ok(None);
        }
        self.create_account(Some("Default account".to_owned()), None)
            .await
            .map(Some)
    }

    pub async fn accounts(&self) -> AdminResult<Vec<Account>> {
        Ok(self.store.accounts().await?)
    }

    pub async fn account(&self, sid: &AccountSid) -> AdminResult<Account> {
        self.store
            .account(sid)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("account {sid}")))
    }

    pub async fn rotate_auth_token(&self, sid: &AccountSid) -> AdminResult<(Account, Secret)> {
        let token = Secret::generate(self.rng.as_ref())?;
        if !self
            .store
            .set_auth_token(sid, &token.digest(), self.clock.now())
            .await?
        {
            return Err(AdminError::NotFound(format!("account {sid}")));
        }
        Ok((self.account(sid).await?, token))
    }

    /// The only account, when there is exactly one; the CLI's default for `--account`.
    pub async fn default_account(&self) -> AdminResult<AccountSid> {
        let accounts = self.store.accounts().await?;
        match accounts.as_slice() {
            [one] => Ok(one.sid.clone()),
            [] => Err(AdminError::Invalid(
                "there is no account yet: start the server once or run `tollgate account create`"
                    .into(),
            )),
            _ => Err(AdminError::Invalid(
                "there are several accounts: choose one with --account AC…".into(),
            )),
        }
    }

    pub async fn create_client(&self, spec: ClientSpec) -> AdminResult<(Client, Option<Secret>)> {
        let account_sid = match spec.account_sid.clone() {
            Some(sid) => {
                self.account(&sid).await?;
                sid
            }
            None => self.default_account().await?,
        };
        let grant_types = normalise_grants(&spec)?;
        validate_spec(&spec)?;
        let method = auth_method(&spec)?;
        self.check_jwks_uri(spec.jwks_uri.as_deref())?;
        // private_key_jwt clients prove themselves with their keys and get no secret.
        let secret = (!spec.public && method != TokenEndpointAuthMethod::PrivateKeyJwt)
            .then(|| Secret::generate(self.rng.as_ref()))
            .transpose()?;
        let now = self.clock.now();
        let id = ClientId::generate(self.rng.as_ref())?;
        let sealed_secret = self.seal_if_needed(method, &id, secret.as_ref())?;
        let client = Client {
            id,
            account_sid,
            friendly_name: spec.friendly_name,
            secret_digest: secret.as_ref().map(Secret::digest),
            grant_types,
            redirect_uris: dedup(spec.redirect_uris),
            scopes: dedup(spec.scopes),
            audiences: dedup(spec.audiences),
            token_format: spec.token_format,
            access_token_ttl: spec.access_token_ttl,
            require_pkce: spec.require_pkce,
            created_at: now,
            updated_at: now,
            auth_method: method,
            jwks: spec.jwks,
            jwks_uri: spec.jwks_uri,
            sealed_secret,
            require_par: spec.require_par,
            require_dpop: spec.require_dpop,
            profile: spec.profile,
        };
        self.store.insert_client(&client).await?;
        Ok((client, secret))
    }

    /// Replaces a client's settings (not its secret or owner).
    pub async fn update_client(&self, id: &ClientId, spec: ClientSpec) -> AdminResult<Client> {
        let mut client = self.client(id).await?;
        let grant_types = normalise_grants(&ClientSpec {
            public: client.is_public(),
            ..spec.clone()
        })?;
        validate_spec(&ClientSpec {
            public: client.is_public(),
            ..spec.clone()
        })?;
        client.friendly_name = spec.friendly_name;
        client.grant_types = grant_types;
        client.redirect_uris = dedup(spec.redirect_uris);
        client.scopes = dedup(spec.scopes);
        client.audiences = dedup(spec.audiences);
        client.token_format = spec.token_format;
        client.access_token_ttl = spec.access_token_ttl;
        client.require_pkce = spec.require_pkce;
        client.require_par = spec.require_par;
        client.require_dpop = spec.require_dpop;
        client.profile = spec.profile;
        if spec.jwks.is_some() || spec.jwks_uri.is_some() {
            client.jwks = spec.jwks;
            client.jwks_uri = spec.jwks_uri;
        }
        if let Some(m) = spec.auth_method
            && m != client.auth_method
        {
            // Switching between secret and key methods would need a new credential.
            let secret_based = |m: TokenEndpointAuthMethod| {
                matches!(
                    m,
                    TokenEndpointAuthMethod::ClientSecretBasic
                        | TokenEndpointAuthMethod::ClientSecretPost
                )
            };
            if !(secret_based(m) && secret_based(client.auth_method)) {
                return Err(AdminError::Invalid(format!(
                    "token_endpoint_auth_method cannot change from {} to {}; create a new client",
                    client.auth_method.as_str(),
                    m.as_str()
                )));
            }
            client.auth_method = m;
        }
        check_client_security(&client)?;
        self.check_jwks_uri(client.jwks_uri.as_deref())?;
        client.updated_at = self.clock.now();
        if !self.store.update_client(&client).await? {
            return Err(AdminError::NotFound(format!("client {id}")));
        }
        Ok(client)
    }

    pub async fn client(&self, id: &ClientId) -> AdminResult<Client> {
        self.store
            .client(id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("client {id}")))
    }

    pub async fn clients(&self, account: Option<&AccountSid>) -> AdminResult<Vec<Client>> {
        Ok(self.store.clients(account).await?)
    }

    pub async fn rotate_client_secret(&self, id: &ClientId) -> AdminResult<(Client, Secret)> {
        let mut client = self.client(id).await?;
        if client.is_public() {
            return Err(AdminError::Invalid(format!(
                "client {id} is public and has no secret"
            )));
        }
        if client.auth_method == TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(AdminError::Invalid(format!(
                "client {id} authenticates with private_key_jwt and has no secret"
            )));
        }
        let secret = Secret::generate(self.rng.as_ref())?;
        client.secret_digest = Some(secret.digest());
        client.sealed_secret = self.seal_if_needed(client.auth_method, id, Some(&secret))?;
        client.updated_at = self.clock.now();
        if !self.store.update_client(&client).await? {
            return Err(AdminError::NotFound(format!("client {id}")));
        }
        Ok((client, secret))
    }

    fn seal_if_needed(
        &self,
        method: TokenEndpointAuthMethod,
        id: &ClientId,
        secret: Option<&Secret>,
    ) -> AdminResult<Option<String>> {
        if method != TokenEndpointAuthMethod::ClientSecretJwt {
            return Ok(None);
        }
        let (Some(sealer), Some(secret)) = (&self.sealer, secret) else {
            return Err(AdminError::Invalid(
                "client_secret_jwt needs the key-encryption key to seal the secret".into(),
            ));
        };
        Ok(Some(sealer.seal_client_secret(
            id.as_str(),
            secret.expose(),
            self.rng.as_ref(),
        )?))
    }

    pub async fn delete_client(&self, id: &ClientId) -> AdminResult<()> {
        if self.store.delete_client(id).await? {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("client {id}")))
        }
    }

    /// Creates a user; the password is hashed with Argon2id off the async runtime.
    pub async fn create_user(&self, spec: UserSpec) -> AdminResult<User> {
        let account_sid = match spec.account_sid.clone() {
            Some(sid) => {
                self.account(&sid).await?;
                sid
            }
            None => self.default_account().await?,
        };
        first_problem(user_problems(&spec))?;
        let email = spec.email.trim().to_lowercase();
        let password_hash = self.hash_password(spec.password).await?;
        let now = self.clock.now();
        let user = User {
            sid: UserSid::generate(self.rng.as_ref())?,
            account_sid,
            email,
            password_hash,
            first_name: spec.first_name,
            last_name: spec.last_name,
            friendly_name: spec.friendly_name,
            admin: spec.admin,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_user(&user).await {
            Err(StoreError::Conflict(_)) => Err(AdminError::Invalid(format!(
                "a user with email {} already exists",
                user.email
            ))),
            other => other.map(|()| user).map_err(Into::into),
        }
    }

    /// Argon2id with a salt from the injected generator, off the async runtime.
    pub(crate) async fn hash_password(&self, password: String) -> AdminResult<String> {
        let salt: [u8; 16] = crate::clock::random_bytes(self.rng.as_ref())?;
        tokio::task::spawn_blocking(move || crate::password::hash(&password, &salt))
            .await
            .ok()
            .flatten()
            .ok_or_else(|| AdminError::Invalid("the password could not be hashed".into()))
    }

    pub async fn users(&self, account: Option<&AccountSid>) -> AdminResult<Vec<User>> {
        Ok(self.store.users(account).await?)
    }

    pub async fn user(&self, sid: &UserSid) -> AdminResult<User> {
        self.store
            .user(sid)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("user {sid}")))
    }

    pub async fn delete_user(&self, sid: &UserSid) -> AdminResult<()> {
        if self.store.delete_user(sid, self.clock.now()).await? {
            Ok(())
        } else {
            Err(AdminError::NotFound(format!("user {sid}")))
        }
    }

    pub async fn keys(&self) -> AdminResult<Vec<StoredKey>> {
        Ok(self.store.signing_keys().await?)
    }

    /// Rotates signing keys: the new key is published now and signs from `now + publish_ahead`;
    /// current keys stop signing then and stay published until every token they signed has
    /// expired (`longest_token_ttl` after they stop).
    pub async fn rotate_signing_key(
        &self,
        alg: SigningAlgorithm,
        sealer: &KeySealer,
        publish_ahead: i64,
        default_token_ttl: u32,
    ) -> AdminResult<StoredKey> {
        let now = self.clock.now();
        let longest = self
            .store
            .clients(None)
            .await?
            .iter()
            .map(|c| c.access_token_ttl.unwrap_or(default_token_ttl))
            .chain([default_token_ttl])
            .max()
            .map_or(i64::from(default_token_ttl), i64::from);
        let key = LoadedKey::generate(
            alg,
            sealer,
            self.rng.as_ref(),
            now,
            now + publish_ahead.max(0),
        )?;
        let switch_at = key.stored.activates_at;
        for old in self.store.signing_keys().await? {
            if old.retires_at.is_none_or(|r| r > switch_at) {
                self.store
                    .update_signing_key(&old.kid, Some(switch_at), Some(switch_at + longest))
                    .await?;
            }
        }
        self.store.insert_signing_key(&key.stored).await?;
        Ok(key.stored.clone())
    }

    /// Deletes keys whose publication has ended.
    pub async fn prune_signing_keys(&self) -> AdminResult<usize> {
        let now = self.clock.now();
        let mut n = 0;
        for k in self.store.signing_keys().await? {
            if k.expires_at.is_some_and(|e| e <= now)
                && self.store.delete_signing_key(&k.kid).await?
            {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn normalise_grants(spec: &ClientSpec) -> AdminResult<Vec<GrantType>> {
    let mut grants = spec.grant_types.clone();
    if grants.is_empty() {
        grants = if spec.public {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            vec![GrantType::ClientCredentials]
        };
    }
    grants.sort();
    grants.dedup();
    Ok(grants)
}

fn auth_method(spec: &ClientSpec) -> AdminResult<TokenEndpointAuthMethod> {
    let default = match (spec.public, spec.profile) {
        (true, _) => TokenEndpointAuthMethod::None,
        (false, ClientProfile::Fapi2) => TokenEndpointAuthMethod::PrivateKeyJwt,
        (false, ClientProfile::Default) => TokenEndpointAuthMethod::ClientSecretBasic,
    };
    let method = spec.auth_method.unwrap_or(default);
    if spec.public != (method == TokenEndpointAuthMethod::None) {
        return Err(AdminError::Invalid(
            "token_endpoint_auth_method none is for public clients, and only for them".into(),
        ));
    }
    check_security(
        method,
        spec.jwks.as_deref(),
        spec.jwks_uri.as_deref(),
        spec.profile,
        spec.token_format,
    )?;
    Ok(method)
}

/// Keys for private_key_jwt, and what the FAPI 2.0 profile demands of a client.
fn check_client_security(c: &Client) -> AdminResult<()> {
    check_security(
        c.auth_method,
        c.jwks.as_deref(),
        c.jwks_uri.as_deref(),
        c.profile,
        c.token_format,
    )
}

fn check_security(
    method: TokenEndpointAuthMethod,
    jwks: Option<&str>,
    jwks_uri: Option<&str>,
    profile: ClientProfile,
    format: TokenFormat,
) -> AdminResult<()> {
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(AdminError::Invalid(
            "give jwks or jwks_uri, not both".into(),
        ));
    }
    if let Some(doc) = jwks {
        crate::jose::parse_jwks(doc).map_err(AdminError::Invalid)?;
    }
    if method == TokenEndpointAuthMethod::PrivateKeyJwt && jwks.is_none() && jwks_uri.is_none() {
        return Err(AdminError::Invalid(
            "private_key_jwt needs the client's public keys: jwks or jwks_uri".into(),
        ));
    }
    if profile == ClientProfile::Fapi2 {
        if method != TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(AdminError::Invalid(
                "the fapi2 profile allows only private_key_jwt client authentication".into(),
            ));
        }
        if format != TokenFormat::Jwt {
            return Err(AdminError::Invalid(
                "the fapi2 profile issues DPoP-bound JWT access tokens, not opaque ones".into(),
            ));
        }
    }
    Ok(())
}

fn check_text(what: &str, s: &str) -> AdminResult<()> {
    if s.trim().is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{what} must be 1 to 255 printable characters"
        )));
    }
    Ok(())
}

/// RFC 8252 and the OAuth security BCP: `https`; `http` only on a loopback host; or a native
/// app's private-use scheme (reverse domain name, with a dot). Script, data and file URLs and
/// plain http to other hosts are refused.
pub fn redirect_uri_allowed(uri: &url::Url) -> Result<(), &'static str> {
    match uri.scheme() {
        "https" => Ok(()),
        "http" => match uri.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("plain http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)"),
        },
        "javascript" | "data" | "file" | "blob" | "vbscript" | "about" | "ws" | "wss" => {
            Err("this scheme cannot be a redirect target")
        }
        s if s.contains('.') => Ok(()),
        _ => Err(
            "use https, http on a loopback host, or a private-use scheme such as com.example.app",
        ),
    }
}

/// What is wrong with one field of a client or user, by the admin API's field name, so a form
/// can show each problem next to its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

fn text_problem(field: &'static str, what: &str, s: &str) -> Option<FieldError> {
    check_text(what, s)
        .err()
        .map(|e| problem(field, e.to_string()))
}

/// Every problem with a client's settings (the grants as they will be stored).
pub fn client_problems(spec: &ClientSpec) -> Vec<FieldError> {
    let grants = normalise_grants(spec).unwrap_or_default();
    let mut out: Vec<FieldError> = Vec::new();
    out.extend(text_problem("friendly_name", "name", &spec.friendly_name));
    if spec.public && grants.contains(&GrantType::ClientCredentials) {
        out.push(problem(
            "grant_types",
            "a public client cannot use the client_credentials grant",
        ));
    }
    for uri in &spec.redirect_uris {
        let found = match url::Url::parse(uri) {
            Err(e) => Some(format!("redirect URI {uri:?}: {e}")),
            Ok(parsed) if parsed.fragment().is_some() => Some(format!(
                "redirect URI {uri:?} must not have a fragment (RFC 6749 section 3.1.2)"
            )),
            Ok(parsed) => redirect_uri_allowed(&parsed)
                .err()
                .map(|why| format!("redirect URI {uri:?}: {why}")),
        };
        if let Some(m) = found {
            out.push(problem("redirect_uris", m));
            break;
        }
    }
    if let Some(s) = spec.scopes.iter().find(|s| !scope::is_scope_token(s)) {
        out.push(problem(
            "scopes",
            format!("scope {s:?} is not a valid scope token"),
        ));
    }
    for a in &spec.audiences {
        if let Some(p) = text_problem("audiences", "audience", a) {
            out.push(p);
            break;
        }
        if a.contains(' ') {
            out.push(problem(
                "audiences",
                format!("audience {a:?} must not contain spaces"),
            ));
            break;
        }
    }
    if let Some(ttl) = spec.access_token_ttl
        && (ttl == 0 || ttl > MAX_ACCESS_TOKEN_TTL)
    {
        out.push(problem(
            "access_token_ttl",
            format!("access token lifetime must be 1 to {MAX_ACCESS_TOKEN_TTL} seconds"),
        ));
    }
    out
}

/// Every problem with a new user's details.
pub fn user_problems(spec: &UserSpec) -> Vec<FieldError> {
    let mut out = Vec::new();
    let email = spec.email.trim().to_lowercase();
    if email.len() > 320
        || !email.contains('@')
        || email.starts_with('@')
        || email.ends_with('@')
        || email.contains(char::is_whitespace)
    {
        out.push(problem(
            "email",
            format!("{:?} is not an email address", spec.email),
        ));
    }
    if let Err(m) = crate::password::check_policy(&spec.password) {
        out.push(problem("password", m));
    }
    for (field, what, v) in [
        ("first_name", "first name", &spec.first_name),
        ("last_name", "last name", &spec.last_name),
        ("friendly_name", "friendly name", &spec.friendly_name),
    ] {
        if let Some(v) = v {
            out.extend(text_problem(field, what, v));
        }
    }
    out
}

fn first_problem(problems: Vec<FieldError>) -> AdminResult<()> {
    match problems.into_iter().next() {
        Some(p) => Err(AdminError::Invalid(p.message)),
        None => Ok(()),
    }
}

fn validate_spec(spec: &ClientSpec) -> AdminResult<()> {
    first_problem(client_problems(spec))
}
