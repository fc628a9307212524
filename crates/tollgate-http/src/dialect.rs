//! The `Dialect` trait: everything that differs between Tollgate's three token APIs. A dialect
//! reads requests into engine requests and renders engine results; the generic handlers in
//! `token`, `device`, `userinfo`, `token_management` and `pages` do the rest.
//!
//! Adding a dialect means one new unit under `dialects/` and one `.with::<NewDialect>()` line
//! in [`crate::app`]; no engine file and no other dialect changes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::device::{DeviceAuthorization, DeviceRequest};
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::oidc::UserInfo;
use tollgate_core::token::Issued;

use crate::extract::Input;
use crate::params::{Authorization, Params};

/// How an error should look beyond its kind: a status forced by the transport (413, 415) and
/// whether the request body was JSON (the Optoro statuses). A dialect may ignore either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorStyle {
    pub status: Option<StatusCode>,
    pub json: bool,
}

pub trait Dialect: Sized + Send + Sync + 'static {
    /// For logs and metrics.
    const NAME: &'static str;
    /// The authorization endpoint's path, if this dialect has one.
    const AUTHORIZE_PATH: Option<&'static str> = None;
    /// Whether the token endpoint takes `application/json` bodies besides forms.
    const JSON_BODIES: bool = false;
    /// Whether a request with no body and no content type reads as an empty form.
    const EMPTY_BODY_IS_FORM: bool = false;
    /// Endpoints a registered browser app may call from its redirect URIs' origins (CORS).
    const CORS_CLIENT_PATHS: &'static [&'static str] = &[];
    /// Public documents (keys, discovery) any origin may read.
    const CORS_PUBLIC_PATHS: &'static [&'static str] = &[];

    /// The routes this dialect serves, each bound to a generic handler or one of its own and
    /// registered with its OpenAPI operation.
    fn routes() -> crate::routes::Routes;
    /// Whether an unknown path belongs to this dialect (its 404 and 405 then speak it).
    fn owns_path(path: &str) -> bool;

    /// The client's credentials from the `Authorization` header and a form body, as this
    /// dialect spells them; token, device, revocation, introspection and PAR requests all read
    /// them here.
    fn client_auth(auth: &Authorization, form: &Params) -> Result<Option<ClientAuth>, OAuthError>;

    /// A token request as this dialect spells it.
    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError>;
    fn token_response(issued: &Issued) -> Response;

    /// Authorization request parameters from a query string.
    fn authorize_params(_query: &Params) -> Result<AuthorizeParams, OAuthError> {
        Err(OAuthError::invalid_request(
            "this API has no authorization endpoint",
        ))
    }
    /// How the authorization endpoint sends the browser on (to the client or to sign in).
    fn authorize_redirect(url: &str, _issuer: &str) -> Response {
        Redirect::to(url).into_response()
    }
    /// How the consent form sends the browser on. The form is a browser's POST, so every
    /// dialect answers it 303 See Other; the `{redirect_to}` of the Twilio GET is for SDKs.
    fn consent_redirect(url: &str, _issuer: &str) -> Response {
        Redirect::to(url).into_response()
    }
    /// An authorization request error for a caller that is not a browser; `None` shows the
    /// error page to everyone.
    fn authorize_error(_err: &OAuthError) -> Option<Response> {
        None
    }

    /// A device authorization request (RFC 8628 section 3.1).
    fn device_request(_input: &Input) -> Result<DeviceRequest, OAuthError> {
        Err(OAuthError::invalid_request(
            "this API has no device authorization endpoint",
        ))
    }
    fn device_response(_d: &DeviceAuthorization) -> Response {
        StatusCode::NOT_FOUND.into_response()
    }

    /// The userinfo body for a verified access token.
    fn userinfo_response(_info: &UserInfo, _issuer: &str) -> Response {
        StatusCode::NOT_FOUND.into_response()
    }

    /// An engine error in this dialect's body and status.
    fn error_response(err: &OAuthError, style: ErrorStyle) -> Response;
    fn not_found() -> Response;
    fn method_not_allowed() -> Response;
}

/// Registered dialects: their routes, and what the shared pages and fallbacks need to know
/// about each (authorization URL parsers, path ownership for 404s).
#[derive(Clone, Default)]
pub struct Registry {
    authorize: Vec<AuthorizeEndpoint>,
    fallbacks: Vec<Fallback>,
    cors: crate::cors::CorsPaths,
}

pub type AuthorizeParser = fn(&Params) -> Result<AuthorizeParams, OAuthError>;

/// A dialect's authorization endpoint, as the shared consent form needs it.
#[derive(Clone, Copy)]
pub struct AuthorizeEndpoint {
    pub path: &'static str,
    pub parse: AuthorizeParser,
    pub consent_redirect: fn(&str, &str) -> Response,
}

#[derive(Clone, Copy)]
struct Fallback {
    name: &'static str,
    owns: fn(&str) -> bool,
    not_found: fn() -> Response,
    method_not_allowed: fn() -> Response,
}

impl Registry {
    pub fn register<D: Dialect>(&mut self) {
        if let Some(path) = D::AUTHORIZE_PATH {
            self.authorize.push(AuthorizeEndpoint {
                path,
                parse: D::authorize_params,
                consent_redirect: D::consent_redirect,
            });
        }
        self.cors.client.extend_from_slice(D::CORS_CLIENT_PATHS);
        self.cors.public.extend_from_slice(D::CORS_PUBLIC_PATHS);
        self.fallbacks.push(Fallback {
            name: D::NAME,
            owns: D::owns_path,
            not_found: D::not_found,
            method_not_allowed: D::method_not_allowed,
        });
    }

    /// The authorization endpoint at `path`, if a dialect registered one there.
    pub fn authorize_endpoint(&self, path: &str) -> Option<AuthorizeEndpoint> {
        self.authorize.iter().find(|e| e.path == path).copied()
    }

    /// The cross-origin paths every registered dialect declared.
    pub fn cors_paths(&self) -> crate::cors::CorsPaths {
        self.cors.clone()
    }

    pub fn authorize_paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.authorize.iter().map(|e| e.path)
    }

    /// The dialect a path belongs to, for metrics; shared routes are `pages` or `ops`.
    pub fn dialect_of(&self, path: &str) -> &'static str {
        self.fallbacks
            .iter()
            .find(|f| (f.owns)(path))
            .map_or("other", |f| f.name)
    }

    pub fn not_found(&self, path: &str) -> Option<Response> {
        self.fallbacks
            .iter()
            .find(|f| (f.owns)(path))
            .map(|f| (f.not_found)())
    }

    pub fn method_not_allowed(&self, path: &str) -> Option<Response> {
        self.fallbacks
            .iter()
            .find(|f| (f.owns)(path))
            .map(|f| (f.method_not_allowed)())
    }
}
