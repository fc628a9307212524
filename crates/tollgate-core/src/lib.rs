//! Tollgate's engine: the OAuth grants, clients, keys and token minting.
//!
//! Nothing here knows about HTTP or SQL. Dialects turn requests into [`engine::TokenRequest`]s
//! and render [`engine::Issued`] or [`error::OAuthError`]; stores implement [`store::Store`].

#[macro_use]
mod wire;

pub mod account;
pub mod activity;
pub mod admin;
pub mod authorize;
pub mod backchannel;
pub mod cache;
pub mod client_assertion;
pub mod client_auth;
pub mod clock;
pub mod console;
pub mod device;
pub mod dpop;
pub mod engine;
pub mod error;
pub mod fetch;
pub mod grants;
pub mod ids;
pub mod introspection;
pub mod jose;
mod jwks;
pub mod keys;
pub mod logout;
pub mod mail;
pub mod maintenance;
pub mod metadata_document;
pub mod model;
pub mod oidc;
pub mod oidc_params;
pub mod par;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod request_object;
pub mod scope;
pub mod second_factor;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;
pub mod totp;

/// Private parsers the fuzz targets in `fuzz/` call directly; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::keys::KeySet;
    use crate::token::AccessTokenInfo;

    /// Whether introspection reads `token` as a JWT (else as an opaque or refresh token).
    pub fn looks_like_jwt(token: &str) -> bool {
        crate::introspection::looks_like_jwt(token)
    }

    /// The JWT check of [`crate::Engine::inspect_access_token`], without cache or revocation.
    pub fn verify_jwt(
        keys: &KeySet,
        issuer: &str,
        token: &str,
    ) -> Option<(String, AccessTokenInfo)> {
        crate::introspection::verify_jwt(keys, issuer, token)
    }
}

pub use clock::{Clock, OffsetClock, Rng, SystemClock, SystemRng};
pub use engine::{Engine, EngineConfig};
pub use error::{ErrorKind, OAuthError};
