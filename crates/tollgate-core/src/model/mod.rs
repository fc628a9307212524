//! The records the engine works on: organizations, accounts, OAuth apps (clients), users, and
//! what the grants issue and track.

use std::fmt;

use serde::Serialize;

use crate::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use crate::secret::SecretDigest;

mod oidc_settings;
mod settings;
pub use oidc_settings::{
    ClientLogout, CodeSignIn, ID_TOKEN_ALGORITHMS, OidcSettings, SessionClient,
};
mod registration;
pub use registration::{
    ClientRegistration, ExtraMetadata, InitialAccessToken, RegisteredVia, RegistrationPolicy,
};
mod sign_in;
pub use settings::{
    ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat, UnknownGrantType,
};
pub use sign_in::{ACR_MFA, ACR_PASSKEY, ACR_PASSWORD, Authn, SignInPolicy, SignInSettings};
mod passkey;
pub use passkey::StoredPasskey;

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
    /// PKCE even for a confidential client (always required of public clients).
    pub require_pkce: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// How the client authenticates at the token, PAR, revocation, introspection and device
    /// endpoints (RFC 7591 `token_endpoint_auth_method`).
    pub auth_method: TokenEndpointAuthMethod,
    /// `private_key_jwt` keys: an inline JWKS document…
    pub jwks: Option<String>,
    /// …or where to fetch one.
    pub jwks_uri: Option<String>,
    /// `client_secret_jwt` needs the secret itself as the HMAC key: sealed under the
    /// key-encryption key, never stored in the clear.
    pub sealed_secret: Option<String>,
    /// RFC 9126 `require_pushed_authorization_requests`.
    pub require_par: bool,
    /// RFC 9449 `dpop_bound_access_tokens`: every token request must carry a DPoP proof.
    pub require_dpop: bool,
    pub profile: ClientProfile,
    /// OpenID Connect settings (id-token algorithm, signed request objects).
    pub oidc: OidcSettings,
    /// Post-logout redirect URIs and the back-channel logout URI.
    pub logout: ClientLogout,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_digest.is_none() && self.auth_method == TokenEndpointAuthMethod::None
    }

    pub fn is_fapi(&self) -> bool {
        self.profile == ClientProfile::Fapi2
    }

    pub fn requires_par(&self) -> bool {
        self.require_par || self.is_fapi()
    }

    pub fn requires_dpop(&self) -> bool {
        self.require_dpop || self.is_fapi()
    }

    /// RFC 9101 section 10.5; FAPI 2.0 Message Signing asks it of FAPI clients too.
    pub fn requires_signed_request_object(&self) -> bool {
        self.oidc.require_signed_request_object
    }

    pub fn requires_pkce(&self) -> bool {
        self.require_pkce || self.is_fapi() || self.is_public()
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
    /// A revoked access token; the id is `<expires_at>:<jti>`.
    Revocation,
    /// An API resource or its grants; the id is the resource SID.
    Resource,
}

wire_names!(Entity {
    Client => "client",
    Account => "account",
    SigningKey => "key",
    Revocation => "revocation",
    Resource => "resource",
});

/// An API resource (RFC 8707; an access token's `aud`): its identifier belongs to one account,
/// whose clients may name it, and to the accounts it is granted to (DESIGN section 14).
/// Serialized as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    #[serde(rename = "resource_sid")]
    pub sid: crate::ids::ResourceSid,
    /// The audience URI; unique across the server.
    pub identifier: String,
    pub account_sid: AccountSid,
    pub friendly_name: String,
    /// Scopes the resource defines (descriptive: clients still register their own).
    pub scopes: Vec<String>,
    /// Other accounts whose clients may name it.
    pub granted_to: Vec<AccountSid>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Resource {
    /// Whether clients of `account` may have tokens for this resource.
    pub fn usable_by(&self, account: &AccountSid) -> bool {
        self.account_sid == *account || self.granted_to.contains(account)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub entity: Entity,
    pub id: String,
}

/// An end user who signs in on the login page. Serialized as administrators see it: never the
/// password hash.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(rename = "user_sid")]
    pub sid: crate::ids::UserSid,
    pub account_sid: AccountSid,
    /// Stored lowercased; unique across the server.
    pub email: String,
    /// Argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub friendly_name: Option<String>,
    /// May use the console for its account.
    pub admin: bool,
    /// OpenID Connect `email_verified`: false until an administrator (or a verification
    /// link) confirms the address; relying parties must not trust `email` without it.
    pub email_verified: bool,
    pub created_at: i64,
    #[serde(skip)]
    pub updated_at: i64,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("sid", &self.sid)
            .field("account_sid", &self.account_sid)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl User {
    /// `name` for OIDC: the friendly name, else first and last name joined.
    pub fn display_name(&self) -> Option<String> {
        if let Some(n) = &self.friendly_name {
            return Some(n.clone());
        }
        let parts: Vec<&str> = [&self.first_name, &self.last_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// A signed-in browser. The cookie holds a random token; only its digest is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub digest: SecretDigest,
    pub user_sid: crate::ids::UserSid,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute end of the session, whatever its activity.
    pub expires_at: i64,
    /// How the person signed in (RFC 8176 method references: `pwd`, `otp`, `mfa`).
    pub amr: Vec<String>,
}

impl BrowserSession {
    /// The session's OpenID Connect `sid`: stable for the session's life, the same for every
    /// client, derived one way from the stored digest (never the cookie value itself).
    pub fn sid(&self) -> String {
        crate::jose::sha256_b64url(format!("tollgate-sid:{}", self.digest.to_hex()).as_bytes())
    }
}

/// An issued authorization code (RFC 6749 section 4.1), stored by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub digest: SecretDigest,
    pub client_id: ClientId,
    pub user_sid: UserSid,
    /// The `redirect_uri` of the authorization request, when it carried one.
    pub redirect_uri: Option<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// What redeeming the code issued, so a replay can revoke it.
    pub family_id: Option<String>,
    pub access_jti: Option<String>,
    pub access_expires_at: Option<i64>,
    /// RFC 8707 resources the authorization request named.
    pub resources: Vec<String>,
    /// RFC 9449 section 10: redeemed only with a DPoP proof of this key.
    pub dpop_jkt: Option<String>,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now marked used, with what it is about to issue.
    Fresh(AuthorizationCode),
    /// Used before.
    Replayed(AuthorizationCode),
    Unknown,
}

/// All refresh tokens descending from one grant; revoked together on reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: String,
    pub client_id: ClientId,
    pub user_sid: UserSid,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// RFC 8707 resources granted; a refresh may narrow the audience to some of them.
    pub resources: Vec<String>,
    /// RFC 9449: a public client's refresh tokens are bound to this key thumbprint.
    pub dpop_jkt: Option<String>,
}

/// A refresh family that can still mint tokens, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRefreshFamily {
    pub family: RefreshFamily,
    /// When its newest token was issued (sign-in or last rotation).
    pub last_issued_at: i64,
    /// When its newest token expires.
    pub expires_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRotation {
    /// First use, or a repeat within the grace window: the successor is stored.
    Rotated,
    /// A repeat after the grace window: the family is revoked, nothing stored.
    Reused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub digest: SecretDigest,
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

wire_names!(DeviceStatus {
    Pending => "pending",
    Approved => "approved",
    Denied => "denied",
    Consumed => "consumed",
});

/// An RFC 8628 device authorization: the device polls with the device code while the user
/// enters the user code on the `/device` page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    pub digest: SecretDigest,
    /// Normalised: eight capital letters, no dash.
    pub user_code: String,
    pub client_id: ClientId,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub interval: i64,
    pub last_polled_at: Option<i64>,
    pub status: DeviceStatus,
    pub user_sid: Option<UserSid>,
    pub auth_time: Option<i64>,
    pub device_id: Option<String>,
}

/// An opaque access token's record; the token itself is only in the client's hands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueAccessToken {
    pub digest: SecretDigest,
    pub jti: String,
    pub client_id: ClientId,
    pub sub: String,
    pub scope: String,
    pub audiences: Vec<String>,
    pub account_sid: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// RFC 9449 `cnf.jkt` of a DPoP-bound token.
    pub dpop_jkt: Option<String>,
}

/// An RFC 9126 pushed authorization request, stored by the digest of its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedAuthorizationRequest {
    pub digest: SecretDigest,
    pub client_id: ClientId,
    /// The authorization parameters as a JSON object of strings.
    pub params: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
