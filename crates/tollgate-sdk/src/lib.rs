//! Both ends of a Tollgate-protected API.
//!
//! **Calling an API**: [`TokenProvider`] gets client_credentials tokens from Tollgate (standard,
//! Twilio v2 or Twilio v1 dialect), keeps one until shortly before it expires, lets one request
//! fetch a new one however many tasks ask at once, and retries 429 and 5xx answers with
//! jittered backoff, honouring `Retry-After`.
//!
//! ```no_run
//! # async fn run() -> Result<(), tollgate_sdk::SdkError> {
//! use tollgate_sdk::{Dialect, TokenProvider};
//! let tokens = TokenProvider::builder("https://auth.example.com")
//!     .client_credentials("OQ…", "secret")
//!     .dialect(Dialect::TwilioV2)
//!     .build()?;
//! let bearer = tokens.token().await?; // cached until shortly before it expires
//! let resp = reqwest::Client::new()
//!     .get("https://api.example.com/2010-04-01/Accounts/AC…/Messages.json")
//!     .bearer_auth(bearer.secret())
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! **Protecting an API**: a [`Validator`] configured from the issuer's discovery document
//! (whose `issuer` must be the one asked for, RFC 8414 section 3.3) checks RFC 9068 access
//! tokens (signature against the cached JWKS, `typ`, `iss`, `aud`, `exp`/`nbf`, scopes, and
//! the account), asks introspection for opaque tokens or when revocation must be seen (an
//! answer counts only if it names this issuer and audience); [`RequireToken`] is the tower
//! layer and [`Authenticated`] the axum extractor, answering RFC 6750 errors.
//!
//! ```no_run
//! # async fn run() -> Result<(), tollgate_sdk::SdkError> {
//! use axum::{Router, routing::get};
//! use tollgate_sdk::{Authenticated, RequireToken, Validator};
//! let validator = Validator::discover("https://auth.example.com")
//!     .audience("https://api.example.com")
//!     // Every account (tenant) of a Tollgate server shares its issuer, and any of them may
//!     // register this audience string: bind the API to the account it serves.
//!     .account("AC…")
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .route("/me", get(|Authenticated(claims): Authenticated| async move { claims.sub }))
//!     .layer(RequireToken::new(validator).scopes(["read"]));
//! # Ok(()) }
//! ```
//!
//! Without [`ValidatorBuilder::account`] a token of any account on the server is accepted;
//! leave it out only for an API serving every tenant that checks `claims.account_sid` itself
//! (as the `messages_api` example does against the path's AccountSid).
//!
//! **DPoP**: [`Validator::validate_dpop`] remembers each proof it accepts so it cannot be
//! replayed. The default [`MemoryReplayCache`] is per process: with several replicas of an API
//! a captured proof could be replayed once at each replica within its minute. Give them one
//! shared [`ReplayCache`] with [`ValidatorBuilder::replay_cache`].
//!
//! **Redirects** are never followed by the SDK's HTTP client (a 307 from a token endpoint would
//! resend the client secret to wherever it points): a 3xx is [`SdkError::Redirected`].

mod axum_layer;
mod dpop;
mod error;
mod introspection;
mod provider;
mod replay;
mod resource_metadata;
mod validator;

pub use axum_layer::{Authenticated, RequireToken};
pub use dpop::{DpopKey, DpopRequest};
pub use error::{SdkError, ValidationError};
pub use provider::{AccessToken, Dialect, TokenProvider, TokenProviderBuilder};
pub use replay::{MemoryReplayCache, ReplayCache};
pub use resource_metadata::ProtectedResource;
pub use validator::{Claims, Now, Validator, ValidatorBuilder};

/// An HTTP client for talking to Tollgate (rustls, webpki roots). It follows no redirect: a
/// 307 from a token or introspection endpoint would resend the form, secret included, to
/// wherever it points.
pub(crate) fn http_client() -> Result<reqwest::Client, SdkError> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(SdkError::from)
}

/// A 3xx is an error of its own (`error_for_status` lets it through as a success).
pub(crate) fn refuse_redirect(resp: reqwest::Response) -> Result<reqwest::Response, SdkError> {
    if resp.status().is_redirection() {
        return Err(redirected(&resp));
    }
    Ok(resp)
}

pub(crate) fn redirected(resp: &reqwest::Response) -> SdkError {
    SdkError::Redirected {
        status: resp.status().as_u16(),
        url: resp.url().to_string(),
    }
}
