use std::time::Duration;

/// Failures of the SDK's own calls (discovery, token requests).
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Tollgate refused the request; the body is its error (never the secret sent).
    #[error("the token endpoint answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("still throttled or failing after {attempts} attempts (last wait {last_wait:?})")]
    GaveUp { attempts: u32, last_wait: Duration },
    #[error("unexpected response: {0}")]
    Malformed(String),
    #[error("configuration: {0}")]
    Config(String),
    /// RFC 8414 section 3.3: the discovery document names another issuer than the one asked,
    /// so its keys and endpoints cannot be trusted for this one.
    #[error("the discovery document of {configured} names the issuer {discovered}")]
    IssuerMismatch {
        configured: String,
        discovered: String,
    },
    /// Redirects are never followed: one would carry client credentials to another host.
    #[error("{url} answered a {status} redirect, which is not followed")]
    Redirected { status: u16, url: String },
}

/// Why a bearer token was not accepted; maps onto RFC 6750's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Missing from the request (RFC 6750 section 3.1: no error code in the challenge).
    #[error("no bearer token")]
    Missing,
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    #[error("insufficient_scope: {0}")]
    InsufficientScope(String),
    /// RFC 9449: the DPoP proof with a bound token is missing or wrong.
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// The issuer could not be reached to check the token.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}
