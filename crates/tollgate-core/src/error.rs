//! The engine's error: an RFC 6749 error code plus a human description. Dialects decide the
//! HTTP status and body shape.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707: the requested audience is not one the client may ask for.
    InvalidTarget,
    AccessDenied,
    /// RFC 8628 polling answers.
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    /// RFC 6750: a bearer token that is missing, malformed, expired or revoked.
    InvalidToken,
    /// RFC 6750: the bearer token lacks a needed scope.
    InsufficientScope,
    /// Rate limited until the given Unix time, `retry_after` seconds from when it was refused.
    TooManyRequests {
        until: i64,
        retry_after: i64,
    },
    ServerError,
    /// RFC 9449: the DPoP proof is missing, malformed, replayed or does not match.
    InvalidDpopProof,
    /// RFC 9449 section 8: retry with the nonce in the `DPoP-Nonce` header.
    UseDpopNonce,
    /// The store cannot be reached; retry after this many seconds (503).
    TemporarilyUnavailable {
        retry_after: i64,
    },
    /// RFC 9101 section 6.2: the request object is unsigned, badly signed or invalid.
    InvalidRequestObject,
    /// RFC 9101 section 6.2: a `request_uri` this server did not issue (only PAR's are used).
    RequestUriNotSupported,
}

impl ErrorKind {
    /// The RFC 6749 `error` code.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InvalidGrant => "invalid_grant",
            ErrorKind::UnauthorizedClient => "unauthorized_client",
            ErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            ErrorKind::InvalidScope => "invalid_scope",
            ErrorKind::InvalidTarget => "invalid_target",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::AuthorizationPending => "authorization_pending",
            ErrorKind::SlowDown => "slow_down",
            ErrorKind::ExpiredToken => "expired_token",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::TooManyRequests { .. } => "too_many_requests",
            ErrorKind::ServerError => "server_error",
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
            ErrorKind::TemporarilyUnavailable { .. } => "temporarily_unavailable",
            ErrorKind::InvalidRequestObject => "invalid_request_object",
            ErrorKind::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub kind: ErrorKind,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(kind: ErrorKind, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidRequest, d)
    }

    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidClient, d)
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorKind::ServerError,
            "the server could not complete the request",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::clock::RngError> for OAuthError {
    fn from(_: crate::clock::RngError) -> Self {
        OAuthError::server_error()
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        if let crate::store::StoreError::Unavailable(m) = &e {
            tracing::warn!(error = %m, "store unavailable");
            return OAuthError::new(
                ErrorKind::TemporarilyUnavailable { retry_after: 5 },
                "the service is temporarily unavailable; try again shortly",
            );
        }
        tracing::error!(error = %e, "store failure");
        OAuthError::server_error()
    }
}
