//! OAuth clients: one creation spec, one patch for updates, and the writes.

use super::validate::{auth_method, check_client_security, dedup, normalise_grants, validate_spec};
use super::{Admin, AdminError, AdminResult, Caller};
use crate::ids::{AccountSid, ClientId};
use crate::keys::Bound;
use crate::model::{Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat};
use crate::secret::Secret;

/// A new client's settings. `ClientSpec::default()` holds the defaults; callers build one
/// from a [`ClientPatch`] with [`ClientPatch::into_spec`].
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
    pub oidc: crate::model::OidcSettings,
    /// Post-logout redirect URIs and the back-channel logout URI.
    pub logout: crate::model::ClientLogout,
}

/// Client settings as a caller gives them: `None` leaves a setting as it is (on update) or
/// takes the default (on creation).
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub friendly_name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    /// Fixed once the client exists: an update may only repeat it.
    pub public: Option<bool>,
    pub token_format: Option<TokenFormat>,
    /// `Some(None)` clears the client's own lifetime (the server's default applies).
    pub access_token_ttl: Option<Option<u32>>,
    pub require_pkce: Option<bool>,
    /// On update, only between the two secret-based methods.
    pub auth_method: Option<TokenEndpointAuthMethod>,
    /// On update, giving either of `jwks` and `jwks_uri` replaces both.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub require_par: Option<bool>,
    pub require_dpop: Option<bool>,
    pub profile: Option<ClientProfile>,
    pub id_token_signed_response_alg: Option<crate::keys::SigningAlgorithm>,
    pub require_signed_request_object: Option<bool>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `Some(None)` removes the client's back-channel logout URI.
    pub backchannel_logout_uri: Option<Option<String>>,
}

impl ClientPatch {
    /// A new client's settings: the patch over the defaults, owned by `account_sid` (`None`:
    /// the only account).
    pub fn into_spec(self, account_sid: Option<AccountSid>) -> ClientSpec {
        let d = ClientSpec::default();
        ClientSpec {
            friendly_name: self.friendly_name.unwrap_or(d.friendly_name),
            account_sid,
            grant_types: self.grant_types.unwrap_or(d.grant_types),
            redirect_uris: self.redirect_uris.unwrap_or(d.redirect_uris),
            scopes: self.scopes.unwrap_or(d.scopes),
            audiences: self.audiences.unwrap_or(d.audiences),
            public: self.public.unwrap_or(d.public),
            token_format: self.token_format.unwrap_or(d.token_format),
            access_token_ttl: self.access_token_ttl.unwrap_or(d.access_token_ttl),
            require_pkce: self.require_pkce.unwrap_or(d.require_pkce),
            auth_method: self.auth_method,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            require_par: self.require_par.unwrap_or(d.require_par),
            require_dpop: self.require_dpop.unwrap_or(d.require_dpop),
            profile: self.profile.unwrap_or(d.profile),
            oidc: crate::model::OidcSettings {
                id_token_signed_response_alg: self.id_token_signed_response_alg,
                require_signed_request_object: self.require_signed_request_object.unwrap_or(false),
            },
            logout: crate::model::ClientLogout {
                post_logout_redirect_uris: self.post_logout_redirect_uris.unwrap_or_default(),
                backchannel_logout_uri: self.backchannel_logout_uri.flatten(),
            },
        }
    }

    /// The client's settings after the patch. The authentication method and keys stay
    /// optional: `None` keeps the client's own (see [`apply`]).
    fn over(self, c: &Client) -> ClientSpec {
        ClientSpec {
            friendly_name: self
                .friendly_name
                .unwrap_or_else(|| c.friendly_name.clone()),
            account_sid: None,
            grant_types: self.grant_types.unwrap_or_else(|| c.grant_types.clone()),
            redirect_uris: self
                .redirect_uris
                .unwrap_or_else(|| c.redirect_uris.clone()),
            scopes: self.scopes.unwrap_or_else(|| c.scopes.clone()),
            audiences: self.audiences.unwrap_or_else(|| c.audiences.clone()),
            public: c.is_public(),
            token_format: self.token_format.unwrap_or(c.token_format),
            access_token_ttl: self.access_token_ttl.unwrap_or(c.access_token_ttl),
            require_pkce: self.require_pkce.unwrap_or(c.require_pkce),
            auth_method: self.auth_method,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            require_par: self.require_par.unwrap_or(c.require_par),
            require_dpop: self.require_dpop.unwrap_or(c.require_dpop),
            profile: self.profile.unwrap_or(c.profile),
            oidc: crate::model::OidcSettings {
                id_token_signed_response_alg: self
                    .id_token_signed_response_alg
                    .or(c.oidc.id_token_signed_response_alg),
                require_signed_request_object: self
                    .require_signed_request_object
                    .unwrap_or(c.oidc.require_signed_request_object),
            },
            logout: crate::model::ClientLogout {
                post_logout_redirect_uris: self
                    .post_logout_redirect_uris
                    .unwrap_or_else(|| c.logout.post_logout_redirect_uris.clone()),
                backchannel_logout_uri: self
                    .backchannel_logout_uri
                    .unwrap_or_else(|| c.logout.backchannel_logout_uri.clone()),
            },
        }
    }
}

/// Writes validated settings onto an existing client (never its secret or owner).
fn apply(client: &mut Client, spec: ClientSpec) -> AdminResult<()> {
    client.grant_types = normalise_grants(&spec)?;
    client.friendly_name = spec.friendly_name;
    client.redirect_uris = dedup(spec.redirect_uris);
    client.scopes = dedup(spec.scopes);
    client.audiences = dedup(spec.audiences);
    client.token_format = spec.token_format;
    client.access_token_ttl = spec.access_token_ttl;
    client.require_pkce = spec.require_pkce;
    client.require_par = spec.require_par;
    client.require_dpop = spec.require_dpop;
    client.profile = spec.profile;
    client.oidc = spec.oidc;
    client.logout = crate::model::ClientLogout {
        post_logout_redirect_uris: dedup(spec.logout.post_logout_redirect_uris),
        backchannel_logout_uri: spec.logout.backchannel_logout_uri,
    };
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
    check_client_security(client)
}

impl Admin {
    pub async fn create_client(&self, spec: ClientSpec) -> AdminResult<(Client, Option<Secret>)> {
        let id = ClientId::generate(self.rng.as_ref())?;
        self.create_client_as(spec, id).await
    }

    /// Creates a client under an identifier it already has elsewhere (`tollgate import`).
    pub(super) async fn create_client_as(
        &self,
        spec: ClientSpec,
        id: ClientId,
    ) -> AdminResult<(Client, Option<Secret>)> {
        let (client, secret) = self.new_client(spec, id).await?;
        self.store.insert_client(&client).await?;
        self.written().await?;
        Ok((client, secret))
    }

    /// A new client from checked settings, with its secret; not stored yet.
    pub(super) async fn new_client(
        &self,
        spec: ClientSpec,
        id: ClientId,
    ) -> AdminResult<(Client, Option<Secret>)> {
        let account_sid = self.owning_account(spec.account_sid.clone()).await?;
        let grant_types = normalise_grants(&spec)?;
        validate_spec(&spec)?;
        let method = auth_method(&spec)?;
        self.check_jwks_uri(spec.jwks_uri.as_deref())?;
        self.check_backchannel_uri(spec.logout.backchannel_logout_uri.as_deref())?;
        let audiences = dedup(spec.audiences);
        self.claim_audiences(&account_sid, &audiences, &[]).await?;
        // private_key_jwt clients prove themselves with their keys and get no secret.
        let secret = (!spec.public && method != TokenEndpointAuthMethod::PrivateKeyJwt)
            .then(|| Secret::generate(self.rng.as_ref()))
            .transpose()?;
        let now = self.clock.now();
        let sealed_secret = self.seal_if_needed(method, &id, secret.as_ref())?;
        let client = Client {
            id,
            account_sid,
            friendly_name: spec.friendly_name,
            secret_digest: secret.as_ref().map(Secret::digest),
            grant_types,
            redirect_uris: dedup(spec.redirect_uris),
            scopes: dedup(spec.scopes),
            audiences,
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
            oidc: spec.oidc,
            logout: crate::model::ClientLogout {
                post_logout_redirect_uris: dedup(spec.logout.post_logout_redirect_uris),
                backchannel_logout_uri: spec.logout.backchannel_logout_uri,
            },
        };
        Ok((client, secret))
    }

    /// Changes the settings the patch gives (never the secret or the owner).
    pub async fn update_client(
        &self,
        caller: &Caller,
        id: &ClientId,
        patch: ClientPatch,
    ) -> AdminResult<Client> {
        let client = self.client_for(caller, id).await?;
        let client = self.patched(client, patch).await?;
        self.store_update(client).await
    }

    /// The client with the patch's settings checked and applied; not stored yet.
    pub(super) async fn patched(
        &self,
        mut client: Client,
        patch: ClientPatch,
    ) -> AdminResult<Client> {
        if patch.public.is_some_and(|p| p != client.is_public()) {
            return Err(AdminError::Invalid(
                "an app cannot change between public and confidential".into(),
            ));
        }
        let spec = patch.over(&client);
        validate_spec(&spec)?;
        let kept = client.audiences.clone();
        apply(&mut client, spec)?;
        self.check_jwks_uri(client.jwks_uri.as_deref())?;
        self.check_backchannel_uri(client.logout.backchannel_logout_uri.as_deref())?;
        self.claim_audiences(&client.account_sid, &client.audiences, &kept)
            .await?;
        client.updated_at = self.clock.now();
        Ok(client)
    }

    pub(super) async fn store_update(&self, client: Client) -> AdminResult<Client> {
        if !self.store.update_client(&client).await? {
            return Err(AdminError::NotFound(format!("client {}", client.id)));
        }
        self.written().await?;
        Ok(client)
    }

    /// Any client (the operator's view).
    pub async fn client(&self, id: &ClientId) -> AdminResult<Client> {
        self.client_for(&Caller::Operator, id).await
    }

    /// The client, when it belongs to the caller ([`Caller::owns`]).
    pub async fn client_for(&self, caller: &Caller, id: &ClientId) -> AdminResult<Client> {
        caller.owned(self.store.client(id).await?, format!("client {id}"))
    }

    pub async fn clients(&self, account: Option<&AccountSid>) -> AdminResult<Vec<Client>> {
        Ok(self.store.clients(account).await?)
    }

    pub async fn rotate_client_secret(
        &self,
        caller: &Caller,
        id: &ClientId,
    ) -> AdminResult<(Client, Secret)> {
        let mut client = self.client_for(caller, id).await?;
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
        Ok((self.store_update(client).await?, secret))
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
        Ok(Some(sealer.seal_bound(
            Bound::ClientSecret(id.as_str()),
            secret.expose().as_bytes(),
            self.rng.as_ref(),
        )?))
    }

    pub async fn delete_client(&self, caller: &Caller, id: &ClientId) -> AdminResult<()> {
        self.client_for(caller, id).await?;
        if !self.store.delete_client(id).await? {
            return Err(AdminError::NotFound(format!("client {id}")));
        }
        self.written().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_patch_makes_the_default_spec() {
        let spec = ClientPatch::default().into_spec(None);
        let d = ClientSpec::default();
        assert_eq!(format!("{spec:?}"), format!("{d:?}"));
    }

    fn stored() -> Client {
        Client {
            id: ClientId::parse("OQ0123456789abcdef0123456789abcdef").unwrap(),
            account_sid: AccountSid::parse("AC0123456789abcdef0123456789abcdef").unwrap(),
            friendly_name: "stored".into(),
            secret_digest: None,
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: vec![],
            scopes: vec!["read".into()],
            audiences: vec![],
            token_format: TokenFormat::Opaque,
            access_token_ttl: Some(60),
            require_pkce: true,
            created_at: 0,
            updated_at: 0,
            auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            jwks: None,
            jwks_uri: None,
            sealed_secret: None,
            require_par: true,
            require_dpop: false,
            profile: ClientProfile::Default,
            oidc: crate::model::OidcSettings::default(),
            logout: crate::model::ClientLogout::default(),
        }
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_give() {
        let c = stored();
        let spec = ClientPatch {
            scopes: Some(vec!["write".into()]),
            access_token_ttl: Some(None),
            ..ClientPatch::default()
        }
        .over(&c);
        assert_eq!(spec.scopes, ["write"]);
        assert_eq!(spec.access_token_ttl, None);
        assert_eq!(spec.friendly_name, "stored");
        assert_eq!(spec.token_format, TokenFormat::Opaque);
        assert!(spec.require_pkce && spec.require_par && !spec.public);
        assert_eq!(spec.auth_method, None);
    }

    #[test]
    fn a_new_clients_patch_sets_only_what_it_gives() {
        let base = ClientPatch {
            friendly_name: Some("app".into()),
            scopes: Some(vec!["read".into()]),
            access_token_ttl: Some(Some(60)),
            require_dpop: Some(true),
            ..ClientPatch::default()
        }
        .into_spec(None);
        assert_eq!(base.scopes, ["read"]);
        assert_eq!(base.access_token_ttl, Some(60));
        assert!(base.require_dpop && !base.require_par);
        assert_eq!(base.token_format, TokenFormat::default());
    }
}
