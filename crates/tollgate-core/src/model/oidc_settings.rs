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
