//! Tollgate's engine: the OAuth grants, clients, keys and token minting.
//!
//! Nothing here knows about HTTP or SQL. Dialects turn requests into [`engine::TokenRequest`]s
//! and render [`engine::Issued`] or [`error::OAuthError`]; stores implement [`store::Store`].

pub mod activity;
pub mod admin;
pub mod authorize;
pub mod cache;
pub mod clock;
pub mod console;
pub mod device;
pub mod engine;
pub mod error;
mod grants;
pub mod ids;
pub mod introspection;
pub mod keys;
pub mod maintenance;
pub mod model;
pub mod oidc;
pub mod password;
pub mod scope;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;

pub use clock::{Clock, OffsetClock, Rng, SystemClock, SystemRng};
pub use engine::{Engine, EngineConfig};
pub use error::{ErrorKind, OAuthError};
