//! How the CLI shows accounts, clients, users, keys and resources (`--json` and text).

use serde::Serialize;
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, ResourceSid, UserSid};
use tollgate_core::keys::StoredKey;
use tollgate_core::model::{
    Account, Client, ClientProfile, GrantType, Resource, TokenEndpointAuthMethod, TokenFormat, User,
};
use tollgate_core::secret::Secret;

/// A client as shown to its owner; `client_secret` only right after create or rotate.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    pub client_id: ClientId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub friendly_name: String,
    pub account_sid: AccountSid,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub public: bool,
    pub token_format: TokenFormat,
    pub access_token_ttl: Option<u32>,
    pub require_pkce: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub has_jwks: bool,
    pub require_pushed_authorization_requests: bool,
    pub dpop_bound_access_tokens: bool,
    pub profile: ClientProfile,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<tollgate_core::keys::SigningAlgorithm>,
    pub require_signed_request_object: bool,
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ClientView {
    pub fn new(c: &Client, secret: Option<&Secret>) -> Self {
        Self {
            client_id: c.id.clone(),
            client_secret: secret.map(|s| s.expose().to_owned()),
            friendly_name: c.friendly_name.clone(),
            account_sid: c.account_sid.clone(),
            grant_types: c.grant_types.clone(),
            redirect_uris: c.redirect_uris.clone(),
            scopes: c.scopes.clone(),
            audiences: c.audiences.clone(),
            public: c.is_public(),
            token_format: c.token_format,
            access_token_ttl: c.access_token_ttl,
            require_pkce: c.require_pkce,
            token_endpoint_auth_method: c.auth_method,
            jwks_uri: c.jwks_uri.clone(),
            has_jwks: c.jwks.is_some(),
            require_pushed_authorization_requests: c.require_par,
            dpop_bound_access_tokens: c.require_dpop,
            profile: c.profile,
            id_token_signed_response_alg: c.oidc.id_token_signed_response_alg,
            require_signed_request_object: c.oidc.require_signed_request_object,
            post_logout_redirect_uris: c.logout.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.logout.backchannel_logout_uri.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub account_sid: AccountSid,
    pub organization_sid: OrganizationSid,
    pub friendly_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    pub created_at: i64,
}

impl AccountView {
    pub fn new(a: &Account, token: Option<&Secret>) -> Self {
        Self {
            account_sid: a.sid.clone(),
            organization_sid: a.organization_sid.clone(),
            friendly_name: a.friendly_name.clone(),
            auth_token: token.map(|t| t.expose().to_owned()),
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub algorithm: &'static str,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl From<&StoredKey> for KeyView {
    fn from(k: &StoredKey) -> Self {
        Self {
            kid: k.kid.clone(),
            algorithm: k.algorithm.as_str(),
            created_at: k.created_at,
            activates_at: k.activates_at,
            retires_at: k.retires_at,
            expires_at: k.expires_at,
        }
    }
}

/// A user as shown to administrators: never the password hash.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub user_sid: UserSid,
    pub account_sid: AccountSid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub friendly_name: Option<String>,
    /// An administrator of the account (may use the console).
    pub admin: bool,
    pub email_verified: bool,
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            user_sid: u.sid.clone(),
            account_sid: u.account_sid.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            friendly_name: u.friendly_name.clone(),
            admin: u.admin,
            email_verified: u.email_verified,
            created_at: u.created_at,
        }
    }
}

/// An API resource (audience) and the accounts it is granted to.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceView {
    pub resource_sid: ResourceSid,
    pub identifier: String,
    pub account_sid: AccountSid,
    pub friendly_name: String,
    pub scopes: Vec<String>,
    pub granted_to: Vec<AccountSid>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            resource_sid: r.sid.clone(),
            identifier: r.identifier.clone(),
            account_sid: r.account_sid.clone(),
            friendly_name: r.friendly_name.clone(),
            scopes: r.scopes.clone(),
            granted_to: r.granted_to.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}
