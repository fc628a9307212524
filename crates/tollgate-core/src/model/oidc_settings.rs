//! A client's OpenID Connect settings, in OIDC Dynamic Client Registration's names.

use crate::keys::SigningAlgorithm;

/// The id-token algorithms a client may ask for: both are always published.
pub const ID_TOKEN_ALGORITHMS: [SigningAlgorithm; 2] =
    [SigningAlgorithm::ES256, SigningAlgorithm::RS256];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OidcSettings {
    /// `id_token_signed_response_alg` (OIDC Registration section 2); `None`: the server's
    /// signing algorithm. Access tokens are unaffected.
    pub id_token_signed_response_alg: Option<SigningAlgorithm>,
    /// RFC 9101 section 10.5 `require_signed_request_object`: authorization requests must come
    /// as a signed request object.
    pub require_signed_request_object: bool,
}

/// A client's logout settings (OpenID Connect RP-Initiated Logout 1.0 and Back-Channel
/// Logout 1.0), set by an operator or by dynamic registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLogout {
    /// Where the end-session endpoint may send the browser afterwards (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where a `logout_token` is POSTed when a session that signed in to the client ends.
    pub backchannel_logout_uri: Option<String>,
}

/// A browser session signed in to a client: one row per redeemed code, with the refresh
/// family the code started, so a logout reaches the client and revokes the family on any node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClient {
    /// The session's OpenID Connect `sid` ([`super::BrowserSession::sid`]).
    pub session_sid: String,
    pub client_id: crate::ids::ClientId,
    pub family_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How the sign-in behind an authorization code was made, and from which browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSignIn {
    pub amr: Vec<String>,
    pub session_sid: Option<String>,
}
