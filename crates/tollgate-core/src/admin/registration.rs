//! RFC 7591 dynamic client registration and RFC 7592 management, with the registration
//! policy of each account (off, initial access token, open) and the initial access tokens its
//! administrators issue. Registered clients are ordinary clients plus a registration record.

use serde_json::{Map, Value};

use super::clients::{ClientPatch, ClientSpec};
use super::registration_metadata::{ClientMetadata, MetadataError, metadata_error, parse_metadata};
use super::{Admin, AdminError, AdminResult, Caller};
use crate::authorize::OIDC_SCOPES;
use crate::ids::{AccountSid, ClientId};
use crate::model::{
    Client, ClientRegistration, InitialAccessToken, RegisteredVia, RegistrationPolicy,
    TokenEndpointAuthMethod,
};
use crate::secret::{Secret, SecretDigest};

/// The name a client that gives no `client_name` is listed under.
pub const DEFAULT_CLIENT_NAME: &str = "Registered client";
/// Initial access tokens live a day unless the administrator says otherwise, at most 30 days.
pub const DEFAULT_TOKEN_TTL: u32 = 24 * 3600;
pub const MAX_TOKEN_TTL: u32 = 30 * 24 * 3600;
pub const MAX_TOKEN_USES: u32 = 1000;

/// A just-issued initial access token as the CLI and the admin API show it (this once).
pub fn issued_token_view(token: &InitialAccessToken, secret: &Secret) -> Value {
    serde_json::json!({
        "account_sid": token.account_sid.as_str(),
        "initial_access_token": secret.expose(),
        "expires_at": token.expires_at,
        "uses": token.remaining,
    })
}

/// The server's registration settings (configuration, not per account).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// The account open registrations land in (`None`: the only account).
    pub open_account: Option<AccountSid>,
    /// Open registration may create confidential clients too (by default only public ones).
    pub open_confidential: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// RFC 6750 `invalid_token` (401): a missing, unknown, expired or spent initial access
    /// token, a registration access token that does not match, or registration that is off.
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Admin(AdminError),
}

impl From<AdminError> for RegistrationError {
    fn from(e: AdminError) -> Self {
        match e {
            // The client service's objections are about the metadata it was given.
            AdminError::Invalid(m) => RegistrationError::Metadata(metadata_error(m)),
            other => RegistrationError::Admin(other),
        }
    }
}

impl From<crate::store::StoreError> for RegistrationError {
    fn from(e: crate::store::StoreError) -> Self {
        RegistrationError::Admin(AdminError::Store(e))
    }
}

pub type RegistrationResult<T> = Result<T, RegistrationError>;

/// A registration (or update) that took place, with the secrets handed out this once.
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub registration: ClientRegistration,
    pub client_secret: Option<Secret>,
    /// New on registration and on every update (RFC 7592 section 2.2 lets the server rotate it).
    pub registration_token: Option<Secret>,
}

/// Who registers: the holder of an initial access token, or anyone (open registration).
#[derive(Debug, Clone, Copy)]
pub enum Registrant<'a> {
    Anonymous,
    Token(&'a str),
}

fn unauthorized(m: &str) -> RegistrationError {
    RegistrationError::Unauthorized(m.to_owned())
}

impl Admin {
    /// RFC 7591 section 3: registers a client from its metadata into the account the
    /// registrant may register into.
    pub async fn register_client(
        &self,
        settings: &RegistrationSettings,
        registrant: Registrant<'_>,
        body: &Map<String, Value>,
        from: Option<String>,
    ) -> RegistrationResult<Registered> {
        let (account, via, token) = self.registering_account(settings, registrant).await?;
        let mut meta = parse_metadata(body)?;
        if via == RegisteredVia::Open {
            self.open_registration_rules(settings, &account, &mut meta)
                .await?;
        }
        let spec = spec_of(&meta, account.clone());
        let (client, client_secret) = self
            .new_client(
                spec,
                ClientId::generate(self.rng.as_ref()).map_err(AdminError::from)?,
            )
            .await?;
        let registration_token = Secret::generate(self.rng.as_ref()).map_err(AdminError::from)?;
        let now = self.clock.now();
        let registration = ClientRegistration {
            client_id: client.id.clone(),
            token_digest: registration_token.digest(),
            via,
            registered_from: from,
            metadata: meta.extra,
            created_at: now,
            updated_at: now,
        };
        if let Some(digest) = token
            && !self.store.use_initial_access_token(&digest, now).await?
        {
            return Err(unauthorized(
                "the initial access token is used up or expired",
            ));
        }
        self.store
            .insert_registered_client(&client, &registration)
            .await?;
        self.written().await?;
        tracing::info!(
            client_id = %client.id,
            account_sid = %account,
            via = via.as_str(),
            from = registration.registered_from.as_deref().unwrap_or("-"),
            "client registered"
        );
        metrics::counter!("tollgate_client_registrations_total", "via" => via.as_str())
            .increment(1);
        Ok(Registered {
            client,
            registration,
            client_secret,
            registration_token: Some(registration_token),
        })
    }

    /// The account to register into, how, and the initial access token to spend.
    async fn registering_account(
        &self,
        settings: &RegistrationSettings,
        registrant: Registrant<'_>,
    ) -> RegistrationResult<(AccountSid, RegisteredVia, Option<SecretDigest>)> {
        match registrant {
            Registrant::Token(presented) => {
                let digest = SecretDigest::of(presented);
                let now = self.clock.now();
                let found = self.store.initial_access_token(&digest).await?;
                let Some(t) = found.filter(|t| t.expires_at > now && t.remaining > 0) else {
                    return Err(unauthorized(
                        "the initial access token is unknown, expired or used up",
                    ));
                };
                let policy = self.store.registration_policy(&t.account_sid).await?;
                if policy == RegistrationPolicy::Off {
                    return Err(unauthorized("registration is off for this account"));
                }
                Ok((
                    t.account_sid,
                    RegisteredVia::InitialAccessToken,
                    Some(digest),
                ))
            }
            Registrant::Anonymous => {
                let account = match &settings.open_account {
                    Some(a) => a.clone(),
                    None => self
                        .default_account()
                        .await
                        .map_err(|_| unauthorized("an initial access token is required"))?,
                };
                let policy = self.store.registration_policy(&account).await?;
                if policy != RegistrationPolicy::Open {
                    return Err(unauthorized("an initial access token is required"));
                }
                Ok((account, RegisteredVia::Open, None))
            }
        }
    }

    /// Open registration: public clients (unless configured otherwise), user-delegated grants,
    /// and scopes the account's resources define (or OpenID Connect's).
    async fn open_registration_rules(
        &self,
        settings: &RegistrationSettings,
        account: &AccountSid,
        meta: &mut ClientMetadata,
    ) -> RegistrationResult<()> {
        if !settings.open_confidential {
            match meta.auth_method {
                // RFC 7591 section 3.2.1 lets the server substitute a value it accepts.
                None => meta.auth_method = Some(TokenEndpointAuthMethod::None),
                Some(TokenEndpointAuthMethod::None) => {}
                Some(_) => {
                    return Err(metadata_error(
                        "open registration registers public clients only \
                         (token_endpoint_auth_method none)",
                    )
                    .into());
                }
            }
        }
        if meta
            .grant_types
            .contains(&crate::model::GrantType::ClientCredentials)
        {
            return Err(metadata_error(
                "open registration does not grant client_credentials; ask the account's \
                 administrator for an initial access token",
            )
            .into());
        }
        let resources = self.store.resources(None).await?;
        let defined = |s: &str| {
            OIDC_SCOPES.contains(&s)
                || resources
                    .iter()
                    .any(|r| r.usable_by(account) && r.scopes.iter().any(|d| d == s))
        };
        if let Some(bad) = meta.scopes.iter().find(|s| !defined(s)) {
            return Err(metadata_error(format!(
                "scope {bad:?} is not defined by any of this account's resources"
            ))
            .into());
        }
        // MCP clients register with the scope of their first challenge and step up later; each
        // token still carries only what its user consents to. So an open registration may use
        // every scope the account's resources define, and OpenID Connect's (RFC 7591 section
        // 3.2.1 lets the server answer with the scope it registered).
        meta.scopes = self.open_scopes(account).await?;
        Ok(())
    }

    /// RFC 7592 section 2: the registered client the registration access token is for.
    /// Anything wrong (unknown client, not registered, wrong token) is the same 401.
    pub async fn registered_client(
        &self,
        client_id: &str,
        presented: Option<&str>,
    ) -> RegistrationResult<(Client, ClientRegistration)> {
        let denied = || unauthorized("the registration access token is not valid for this client");
        let presented = presented.ok_or_else(denied)?;
        let id = ClientId::parse(client_id).map_err(|_| denied())?;
        let registration = self
            .store
            .client_registration(&id)
            .await?
            .ok_or_else(denied)?;
        if !registration.token_digest.verify(presented) {
            return Err(denied());
        }
        let client = self.store.client(&id).await?.ok_or_else(denied)?;
        Ok((client, registration))
    }

    /// RFC 7592 section 2.2: replaces the client's metadata (omitted fields take their
    /// defaults, except the authentication method, which stays) and rotates the registration
    /// access token.
    pub async fn update_registration(
        &self,
        client_id: &str,
        presented: Option<&str>,
        body: &Map<String, Value>,
    ) -> RegistrationResult<Registered> {
        let (client, mut registration) = self.registered_client(client_id, presented).await?;
        if body.get("client_id").and_then(Value::as_str) != Some(client.id.as_str()) {
            return Err(metadata_error("client_id must be given and be this client's").into());
        }
        if let Some(secret) = body.get("client_secret") {
            let matches = match (secret.as_str(), &client.secret_digest) {
                (Some(s), Some(d)) => d.verify(s),
                _ => false,
            };
            if !matches {
                return Err(
                    metadata_error("client_secret must be the client's current one").into(),
                );
            }
        }
        let meta = parse_metadata(body)?;
        if registration.via == RegisteredVia::Open {
            let settings = RegistrationSettings {
                open_confidential: !client.is_public(),
                ..RegistrationSettings::default()
            };
            let mut checked = meta.clone();
            self.open_registration_rules(&settings, &client.account_sid, &mut checked)
                .await?;
        }
        let patch = patch_of(&meta);
        let client = self.patched(client, patch).await?;
        let token = Secret::generate(self.rng.as_ref()).map_err(AdminError::from)?;
        registration.token_digest = token.digest();
        registration.metadata = meta.extra;
        registration.updated_at = client.updated_at;
        if !self
            .store
            .update_registered_client(&client, &registration)
            .await?
        {
            return Err(unauthorized("the client no longer exists"));
        }
        self.written().await?;
        Ok(Registered {
            client,
            registration,
            client_secret: None,
            registration_token: Some(token),
        })
    }

    /// RFC 7592 section 2.3: deletes the client; its tokens stop working.
    pub async fn delete_registration(
        &self,
        client_id: &str,
        presented: Option<&str>,
    ) -> RegistrationResult<()> {
        let (client, _) = self.registered_client(client_id, presented).await?;
        self.store.delete_client(&client.id).await?;
        self.written().await?;
        Ok(())
    }

    /// The caller's account (or, for the operator, the one named or the only one).
    pub(super) async fn policy_account(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
    ) -> AdminResult<AccountSid> {
        match caller {
            Caller::Account(own) => Ok(own.clone()),
            Caller::Operator => self.owning_account(account).await,
        }
    }

    pub async fn registration_policy(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
    ) -> AdminResult<(AccountSid, RegistrationPolicy)> {
        let account = self.policy_account(caller, account).await?;
        let policy = self.store.registration_policy(&account).await?;
        Ok((account, policy))
    }

    pub async fn set_registration_policy(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
        policy: RegistrationPolicy,
    ) -> AdminResult<AccountSid> {
        let account = self.policy_account(caller, account).await?;
        self.store
            .set_registration_policy(&account, policy, self.clock.now())
            .await?;
        Ok(account)
    }

    /// An initial access token for `uses` registrations within `ttl` seconds; the token is
    /// shown this once and stored by digest.
    pub async fn issue_initial_access_token(
        &self,
        caller: &Caller,
        account: Option<AccountSid>,
        ttl: Option<u32>,
        uses: Option<u32>,
    ) -> AdminResult<(InitialAccessToken, Secret)> {
        let account = self.policy_account(caller, account).await?;
        if self.store.registration_policy(&account).await? == RegistrationPolicy::Off {
            return Err(AdminError::Invalid(
                "registration is off for this account: set its policy to token or open first"
                    .into(),
            ));
        }
        let ttl = ttl.unwrap_or(DEFAULT_TOKEN_TTL);
        if ttl == 0 || ttl > MAX_TOKEN_TTL {
            return Err(AdminError::Invalid(format!(
                "an initial access token lives 1 to {MAX_TOKEN_TTL} seconds"
            )));
        }
        let uses = uses.unwrap_or(1);
        if uses == 0 || uses > MAX_TOKEN_USES {
            return Err(AdminError::Invalid(format!(
                "an initial access token allows 1 to {MAX_TOKEN_USES} registrations"
            )));
        }
        let secret = Secret::generate(self.rng.as_ref())?;
        let now = self.clock.now();
        let token = InitialAccessToken {
            digest: secret.digest(),
            account_sid: account,
            created_at: now,
            expires_at: now + i64::from(ttl),
            remaining: i64::from(uses),
        };
        self.store.insert_initial_access_token(&token).await?;
        Ok((token, secret))
    }

    /// The ids of the dynamically registered clients the caller may see.
    pub async fn registered_clients(&self, caller: &Caller) -> AdminResult<Vec<ClientId>> {
        Ok(self.store.registered_clients(caller.scope()).await?)
    }
}

fn spec_of(meta: &ClientMetadata, account: AccountSid) -> ClientSpec {
    let method = meta
        .auth_method
        .unwrap_or(TokenEndpointAuthMethod::ClientSecretBasic);
    ClientSpec {
        friendly_name: meta
            .client_name
            .clone()
            .unwrap_or_else(|| DEFAULT_CLIENT_NAME.to_owned()),
        account_sid: Some(account),
        grant_types: meta.grant_types.clone(),
        redirect_uris: meta.redirect_uris.clone(),
        scopes: meta.scopes.clone(),
        public: method == TokenEndpointAuthMethod::None,
        auth_method: Some(method),
        jwks: meta.jwks.clone(),
        jwks_uri: meta.jwks_uri.clone(),
        logout: crate::model::ClientLogout {
            post_logout_redirect_uris: meta.extra.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: meta.extra.backchannel_logout_uri.clone(),
        },
        ..ClientSpec::default()
    }
}

fn patch_of(meta: &ClientMetadata) -> ClientPatch {
    ClientPatch {
        friendly_name: Some(
            meta.client_name
                .clone()
                .unwrap_or_else(|| DEFAULT_CLIENT_NAME.to_owned()),
        ),
        grant_types: Some(meta.grant_types.clone()),
        redirect_uris: Some(meta.redirect_uris.clone()),
        scopes: Some(meta.scopes.clone()),
        auth_method: meta.auth_method,
        jwks: meta.jwks.clone(),
        jwks_uri: meta.jwks_uri.clone(),
        post_logout_redirect_uris: Some(meta.extra.post_logout_redirect_uris.clone()),
        backchannel_logout_uri: Some(meta.extra.backchannel_logout_uri.clone()),
        ..ClientPatch::default()
    }
}
