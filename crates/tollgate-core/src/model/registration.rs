//! RFC 7591 dynamic registration records: an account's registration policy, the initial
//! access tokens its administrators issue, and what a registered client keeps beside its
//! [`super::Client`] (the RFC 7592 registration access token and the metadata the engine
//! does not act on).

use serde::{Deserialize, Serialize};

use crate::ids::{AccountSid, ClientId};
use crate::secret::SecretDigest;

/// Who may register clients into an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPolicy {
    /// Nobody (the default).
    #[default]
    Off,
    /// Only callers holding an initial access token the account issued.
    Token,
    /// Anyone (public clients unless configured otherwise, rate limited), and token holders.
    Open,
}

wire_names!(RegistrationPolicy {
    Off => "off",
    Token => "token",
    Open => "open",
} unknown: |s| format!(
    "unknown registration policy {:?} (off, token or open)",
    crate::wire::shown(s)
));

/// How a registered client came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisteredVia {
    /// Open registration, without credentials.
    Open,
    /// With an initial access token.
    InitialAccessToken,
    /// A Client ID Metadata Document: the client's id is the document's URL
    /// (`registered_from`), its metadata is what the document said when last fetched.
    MetadataDocument,
}

wire_names!(RegisteredVia {
    Open => "open",
    InitialAccessToken => "initial_access_token",
    MetadataDocument => "metadata_document",
});

/// An RFC 7591 initial access token, stored by digest; good for `remaining` registrations
/// until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub digest: SecretDigest,
    pub account_sid: AccountSid,
    pub created_at: i64,
    pub expires_at: i64,
    pub remaining: i64,
}

/// Client metadata the engine stores but does not act on (RFC 7591 section 2 and the OpenID
/// Connect registration extensions), kept as the client sent it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtraMetadata {
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    /// `web` or `native` (OpenID Connect Registration; RFC 8252 for native apps).
    pub application_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
}

/// What a dynamically registered client keeps beside its [`super::Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: ClientId,
    /// RFC 7592 registration access token, stored by digest.
    pub token_digest: SecretDigest,
    pub via: RegisteredVia,
    /// The address the registration came from (recorded for open registrations' audit).
    pub registered_from: Option<String>,
    pub metadata: ExtraMetadata,
    pub created_at: i64,
    pub updated_at: i64,
}
