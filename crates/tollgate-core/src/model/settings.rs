//! What an app may be set to: grant types, token formats, token endpoint authentication
//! methods and security profiles, each with its wire name.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
}

wire_names!(GrantType {
    ClientCredentials => "client_credentials",
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grant type {0:?}")]
pub struct UnknownGrantType(pub String);

impl FromStr for GrantType {
    type Err = UnknownGrantType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::parse(s)
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

wire_names!(TokenFormat {
    Jwt => "jwt",
    Opaque => "opaque",
} unknown: |s| format!("unknown token format {s:?} (jwt or opaque)"));

/// RFC 7591 `token_endpoint_auth_method`. The two secret methods accept either way of sending
/// the secret (as before these settings existed); the JWT methods accept only an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 with HS256 over the client secret.
    ClientSecretJwt,
    /// RFC 7523 signed with one of the client's registered keys.
    PrivateKeyJwt,
    /// A public client.
    None,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [TokenEndpointAuthMethod; 5] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::ClientSecretJwt,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    pub fn uses_assertion(self) -> bool {
        matches!(self, Self::ClientSecretJwt | Self::PrivateKeyJwt)
    }
}

wire_names!(TokenEndpointAuthMethod {
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    ClientSecretJwt => "client_secret_jwt",
    PrivateKeyJwt => "private_key_jwt",
    None => "none",
} unknown: |s| format!(
    "unknown token_endpoint_auth_method {:?} (client_secret_basic, client_secret_post, \
     client_secret_jwt, private_key_jwt or none)",
    crate::wire::shown(s)
));

/// A security profile a client may be put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientProfile {
    #[default]
    Default,
    /// FAPI 2.0 Security Profile: PAR, PKCE S256, DPoP, private_key_jwt, ES256/EdDSA/PS256.
    Fapi2,
}

wire_names!(ClientProfile {
    Default => "default",
    Fapi2 => "fapi2",
} unknown: |s| format!("unknown profile {:?} (default or fapi2)", crate::wire::shown(s)));
