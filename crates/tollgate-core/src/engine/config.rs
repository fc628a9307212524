//! The engine's settings and the request every dialect maps its token endpoint onto.

use crate::client_auth::ClientAuth;
use crate::keys::SigningAlgorithm;

/// The engine's settings; the server's configuration embeds them (flattened), so a setting is
/// named once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Public base URL, no trailing slash; the `iss` of every token. Empty in configuration
    /// means `http://<listen address>`.
    pub issuer: String,
    pub access_token_ttl: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub refresh_token_ttl: u32,
    /// Two uses of one refresh token this close together both succeed (DESIGN section 5).
    pub refresh_grace_secs: u32,
    pub code_ttl: u32,
    /// Introspection and userinfo also ask the store whether a token was revoked, closing the
    /// window (well under a second with NOTIFY) in which another node's revocation is unseen.
    pub strict_revocation: bool,
    /// Bounded staleness (DESIGN section 13): once this node's view of the change log is older
    /// than this many seconds, introspection and userinfo ask the store whether a token was
    /// revoked (503 when it cannot be reached) and `/readyz` answers 503. 0: no bound.
    pub max_staleness_secs: u32,
    /// A browser session ends after this long without activity…
    pub session_idle_secs: u32,
    /// …and after this long in any case.
    pub session_lifetime_secs: u32,
    /// RFC 8628 device codes live this long…
    pub device_code_ttl: u32,
    /// …and are polled at most this often (seconds) unless slowed down.
    pub device_poll_interval: u32,
    /// RFC 9449 section 8: DPoP proofs must carry a server nonce (sent in `DPoP-Nonce`).
    pub dpop_nonce: bool,
    /// A DPoP proof's `iat` may be this many seconds off the server's clock.
    pub dpop_proof_window: u32,
    /// RFC 9126 `request_uri`s live this long.
    pub par_ttl: u32,
    /// Client ID Metadata Documents: a `client_id` that is an `https` URL names a client
    /// whose metadata is fetched from it.
    pub client_metadata_documents: bool,
    /// The hosts such clients may live on: `mcp.example.com`, or `*.example.com` for every
    /// subdomain. Empty: any host the outbound policy lets the server fetch from.
    pub client_metadata_hosts: Vec<String>,
    /// A fetched document is reused for its `Cache-Control: max-age`, but at least this many
    /// seconds…
    pub client_metadata_cache_min_secs: u32,
    /// …and at most this many.
    pub client_metadata_cache_max_secs: u32,
    /// The account (`AC…`) such clients belong to, with the scopes its open registration
    /// grants. Unset: `registration_account`, else the only account.
    pub client_metadata_account: Option<crate::ids::AccountSid>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::new("")
    }
}

impl EngineConfig {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            access_token_ttl: 3600,
            signing_algorithm: SigningAlgorithm::ES256,
            refresh_token_ttl: 30 * 24 * 3600,
            refresh_grace_secs: 10,
            code_ttl: 60,
            strict_revocation: false,
            max_staleness_secs: 5,
            session_idle_secs: 30 * 60,
            session_lifetime_secs: 12 * 3600,
            device_code_ttl: 600,
            device_poll_interval: 5,
            dpop_nonce: false,
            dpop_proof_window: 60,
            par_ttl: 60,
            client_metadata_documents: false,
            client_metadata_hosts: Vec::new(),
            client_metadata_cache_min_secs: 300,
            client_metadata_cache_max_secs: 24 * 3600,
            client_metadata_account: None,
        }
    }

    /// Every algorithm the server keeps a signing key of, the configured one first: ES256 and
    /// RS256 are always there for id tokens (OIDC Discovery section 3 requires RS256).
    pub fn key_algorithms(&self) -> Vec<SigningAlgorithm> {
        let mut algs = vec![self.signing_algorithm];
        for a in crate::model::ID_TOKEN_ALGORITHMS {
            if !algs.contains(&a) {
                algs.push(a);
            }
        }
        algs
    }
}

/// An engine-level token request: every dialect maps its field names onto this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client: Option<ClientAuth>,
    /// `AccountSid:AuthToken` the caller presented (Twilio v1), to be verified.
    pub account_auth: Option<(String, String)>,
    pub scope: Option<String>,
    pub audience: Vec<String>,
    /// The account the token should act for (Twilio `account_sid`).
    pub account_sid: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    /// The dialect has no redirect URI on its token endpoint (Twilio v1): an absent one is
    /// accepted even when the authorization request named one.
    pub redirect_uri_optional: bool,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub device_code: Option<String>,
    pub device_id: Option<String>,
    /// RFC 8707 `resource` indicators.
    pub resource: Vec<String>,
    /// RFC 9449 proof from the `DPoP` header.
    pub dpop: Option<crate::dpop::DpopProof>,
}
