//! The records the engine works on: organizations, accounts and OAuth apps (clients).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{AccountSid, ClientId, OrganizationSid};
use crate::secret::SecretDigest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub sid: OrganizationSid,
    pub friendly_name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub sid: AccountSid,
    pub organization_sid: OrganizationSid,
    pub friendly_name: String,
    pub auth_token_digest: SecretDigest,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GrantType {
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grant type {0:?}")]
pub struct UnknownGrantType(pub String);

impl FromStr for GrantType {
    type Err = UnknownGrantType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            // `device_code` is the short name Twilio's v1 examples use.
            .or((s == "device_code").then_some(GrantType::DeviceCode))
            .ok_or_else(|| UnknownGrantType(s.chars().take(100).collect()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    #[default]
    Jwt,
    Opaque,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Opaque => "opaque",
        }
    }
}

impl FromStr for TokenFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jwt" => Ok(TokenFormat::Jwt),
            "opaque" => Ok(TokenFormat::Opaque),
            other => Err(format!("unknown token format {other:?} (jwt or opaque)")),
        }
    }
}

/// An OAuth app. `secret_digest` is `None` for public clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub account_sid: AccountSid,
    pub friendly_name: String,
    pub secret_digest: Option<SecretDigest>,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub token_format: TokenFormat,
    /// Overrides the server default when set.
    pub access_token_ttl: Option<u32>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_digest.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// What changed, recorded by the store in the same transaction as the change itself so every
/// node can refresh its caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Client,
    Account,
    SigningKey,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Client => "client",
            Entity::Account => "account",
            Entity::SigningKey => "key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(Entity::Client),
            "account" => Some(Entity::Account),
            "key" => Some(Entity::SigningKey),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub entity: Entity,
    pub id: String,
}
