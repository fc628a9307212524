//! How the CLI shows accounts and clients (`--json` and text); keys, users and resources are
//! shown as their records serialize.

use serde::Serialize;
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid};
use tollgate_core::model::{
    Account, Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat,
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
