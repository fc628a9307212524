//! The account admin API: an account manages its own OAuth apps and rotates its auth token,
//! authenticated with HTTP Basic `AccountSid:AuthToken`. Twilio error format throughout.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_core::admin::{Admin, AdminError, Caller, ClientPatch, UserSpec};
use tollgate_core::ids::ClientId;
use tollgate_core::keys::SigningAlgorithm;
use tollgate_core::model::{
    Account, Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat,
};
use tollgate_core::secret::Secret;
use tollgate_core::{ErrorKind, OAuthError};

use crate::dialects::twilio;
use crate::error::{ErrorCause, Rejection};
use crate::extract::{json_body, read_bytes};
use crate::params::{self, Authorization};
use crate::render::{NO_STORE, rfc2822};
use crate::state::AppState;

mod registration;
mod resources;
mod routes;
mod sign_in;

pub use routes::router;

enum ApiError {
    OAuth(OAuthError),
    NotFound,
    /// A failure of the server's own (keys, randomness), for the access log.
    Server(String),
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError::OAuth(e)
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(_) => ApiError::NotFound,
            AdminError::Invalid(m) => ApiError::OAuth(OAuthError::invalid_request(m)),
            AdminError::Store(e) => ApiError::OAuth(e.into()),
            e @ (AdminError::Key(_) | AdminError::Rng(_)) => ApiError::Server(e.to_string()),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError::OAuth(r.error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => twilio::not_found(),
            ApiError::Server(cause) => {
                ErrorCause::attach(twilio::error(&OAuthError::server_error()), || cause)
            }
            ApiError::OAuth(e) => {
                let mut resp = twilio::error(&e);
                if matches!(e.kind, ErrorKind::InvalidClient) {
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tollgate\""),
                    );
                }
                ErrorCause::attach(resp, || e.to_string())
            }
        }
    }
}

/// The caller's account, from `AccountSid:AuthToken`; failures count against the rate limit.
async fn account(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Arc<Account>, ApiError> {
    let creds = match params::authorization(headers) {
        Ok(Authorization::Basic(sid, token)) => Some((sid, token)),
        _ => None,
    };
    let result = state
        .limited(peer, async {
            let (sid, token) = creds.ok_or_else(|| {
                OAuthError::invalid_client("HTTP Basic AccountSid:AuthToken is required")
            })?;
            state.engine.authenticate_account(&sid, &token).await
        })
        .await;
    Ok(result?)
}

/// The caller's account, authenticated from the request's `AccountSid:AuthToken`.
struct ApiAccount(Arc<Account>);

impl axum::extract::FromRequestParts<AppState> for ApiAccount {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match account(state, peer, &parts.headers).await {
            Ok(a) => Ok(Self(a)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// An app as the API shows it; `secret` only in answers to create and rotate.
#[derive(Serialize)]
struct AppView {
    sid: String,
    account_sid: String,
    friendly_name: String,
    grant_types: Vec<GrantType>,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    audiences: Vec<String>,
    access_token_ttl: Option<u32>,
    token_format: TokenFormat,
    public: bool,
    require_pkce: bool,
    token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    require_pushed_authorization_requests: bool,
    dpop_bound_access_tokens: bool,
    profile: ClientProfile,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signed_response_alg: Option<SigningAlgorithm>,
    require_signed_request_object: bool,
    post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_uri: Option<String>,
    date_created: Option<String>,
    date_updated: Option<String>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn view(state: &AppState, c: &Client, secret: Option<&Secret>) -> AppView {
    AppView {
        sid: c.id.to_string(),
        account_sid: c.account_sid.to_string(),
        friendly_name: c.friendly_name.clone(),
        grant_types: c.grant_types.clone(),
        redirect_uris: c.redirect_uris.clone(),
        scopes: c.scopes.clone(),
        audiences: c.audiences.clone(),
        access_token_ttl: c.access_token_ttl,
        token_format: c.token_format,
        public: c.is_public(),
        require_pkce: c.require_pkce,
        token_endpoint_auth_method: c.auth_method,
        jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: c.jwks_uri.clone(),
        require_pushed_authorization_requests: c.require_par,
        dpop_bound_access_tokens: c.require_dpop,
        profile: c.profile,
        id_token_signed_response_alg: c.oidc.id_token_signed_response_alg,
        require_signed_request_object: c.oidc.require_signed_request_object,
        post_logout_redirect_uris: c.logout.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.logout.backchannel_logout_uri.clone(),
        date_created: rfc2822(c.created_at),
        date_updated: rfc2822(c.updated_at),
        url: format!("{}/v1/Account/OAuthApps/{}", state.engine.issuer(), c.id),
        secret: secret.map(|s| s.expose().to_owned()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppBody {
    friendly_name: Option<String>,
    grant_types: Option<Vec<GrantType>>,
    redirect_uris: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    access_token_ttl: Option<u32>,
    token_format: Option<TokenFormat>,
    public: Option<bool>,
    require_pkce: Option<bool>,
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    require_pushed_authorization_requests: Option<bool>,
    dpop_bound_access_tokens: Option<bool>,
    profile: Option<ClientProfile>,
    id_token_signed_response_alg: Option<SigningAlgorithm>,
    require_signed_request_object: Option<bool>,
    post_logout_redirect_uris: Option<Vec<String>>,
    /// An empty string removes it.
    backchannel_logout_uri: Option<String>,
}

impl AppBody {
    fn into_patch(self) -> ClientPatch {
        ClientPatch {
            jwks: self.jwks.as_ref().map(|j| j.to_string()),
            friendly_name: self.friendly_name,
            grant_types: self.grant_types,
            redirect_uris: self.redirect_uris,
            scopes: self.scopes,
            audiences: self.audiences,
            public: self.public,
            token_format: self.token_format,
            // An absent lifetime keeps the app's own; the API cannot clear it.
            access_token_ttl: self.access_token_ttl.map(Some),
            require_pkce: self.require_pkce,
            auth_method: self.token_endpoint_auth_method,
            jwks_uri: self.jwks_uri,
            require_par: self.require_pushed_authorization_requests,
            require_dpop: self.dpop_bound_access_tokens,
            profile: self.profile,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            require_signed_request_object: self.require_signed_request_object,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .map(|u| Some(u).filter(|u| !u.is_empty())),
        }
    }
}

/// A JSON body, or nothing.
async fn body<T: serde::de::DeserializeOwned + Default>(req: Request) -> Result<T, ApiError> {
    let headers = req.headers().clone();
    let bytes = read_bytes(req, &()).await?;
    Ok(json_body(&headers, &bytes)?)
}

/// The `{sid}` path segment; one that cannot be decoded is simply no app of the caller's (404
/// in Twilio's format, not the router's plain-text rejection).
struct PathSid(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathSid {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(sid)) => Ok(Self(sid)),
            Err(_) => Err(ApiError::NotFound),
        }
    }
}

impl PathSid {
    /// The app the path names; a SID that is no client ID is no app.
    fn app(&self) -> Result<ClientId, ApiError> {
        ClientId::parse(&self.0).map_err(|_| ApiError::NotFound)
    }
}

/// The caller's own app, or 404 (another account's app is indistinguishable from none).
async fn own_app(admin: &Admin, caller: &Caller, sid: &PathSid) -> Result<Client, ApiError> {
    Ok(admin.client_for(caller, &sid.app()?).await?)
}

fn caller(account: &Account) -> Caller {
    Caller::Account(account.sid.clone())
}

async fn create(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let patch = body::<AppBody>(req).await?.into_patch();
    if patch.friendly_name.is_none() {
        return Err(OAuthError::invalid_request("friendly_name is required").into());
    }
    let spec = patch.into_spec(Some(account.sid.clone()));
    let (client, secret) = state.engine.node_admin().create_client(spec).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(view(&state, &client, secret.as_ref())),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let apps: Vec<AppView> = state
        .engine
        .node_admin()
        .clients(Some(&account.sid))
        .await?
        .iter()
        .map(|c| view(&state, c, None))
        .collect();
    Ok((NO_STORE, Json(serde_json::json!({ "oauth_apps": apps }))).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    sid: PathSid,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let client = own_app(&state.engine.node_admin(), &caller(&account), &sid).await?;
    Ok((NO_STORE, Json(view(&state, &client, None))).into_response())
}

async fn update(
    State(state): State<AppState>,
    sid: PathSid,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let (admin, me) = (state.engine.node_admin(), caller(&account));
    // Another account's app answers 404 before its body is even read.
    let current = own_app(&admin, &me, &sid).await?;
    let patch = body::<AppBody>(req).await?.into_patch();
    let client = admin.update_client(&me, &current.id, patch).await?;
    Ok((NO_STORE, Json(view(&state, &client, None))).into_response())
}

async fn delete(
    State(state): State<AppState>,
    sid: PathSid,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let id = sid.app()?;
    state
        .engine
        .node_admin()
        .delete_client(&caller(&account), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    sid: PathSid,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let (client, secret) = admin
        .rotate_client_secret(&caller(&account), &sid.app()?)
        .await?;
    Ok((
        StatusCode::OK,
        NO_STORE,
        Json(view(&state, &client, Some(&secret))),
    )
        .into_response())
}

async fn rotate_auth_token(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let (account, token) = admin.rotate_auth_token(&account.sid).await?;
    let body = serde_json::json!({
        "account_sid": account.sid,
        "auth_token": token.expose(),
        "date_updated": rfc2822(state.engine.clock().now()),
    });
    Ok((StatusCode::OK, NO_STORE, Json(body)).into_response())
}

/// A user as the API shows it (never the password hash).
fn user_view(u: &tollgate_core::model::User) -> serde_json::Value {
    serde_json::json!({
        "sid": u.sid,
        "account_sid": u.account_sid,
        "email": u.email,
        "email_verified": u.email_verified,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "friendly_name": u.friendly_name,
        "admin": u.admin,
        "date_created": rfc2822(u.created_at),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    email: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    friendly_name: Option<String>,
    admin: Option<bool>,
    email_verified: Option<bool>,
}

async fn create_user(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let b = body::<UserBody>(req).await?;
    let required = |v: Option<String>, name: &str| {
        v.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let spec = UserSpec {
        email: required(b.email, "email")?,
        password: required(b.password, "password")?,
        first_name: b.first_name,
        last_name: b.last_name,
        friendly_name: b.friendly_name,
        account_sid: Some(account.sid.clone()),
        admin: b.admin.unwrap_or(false),
        email_verified: b.email_verified.unwrap_or(false),
    };
    let user = state.engine.node_admin().create_user(spec).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(user_view(&user))).into_response())
}

/// What an administrator may change on a user here: whether the address is vouched for, and
/// a new verification mail.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdateBody {
    email_verified: Option<bool>,
    send_verification: Option<bool>,
}

async fn update_user(
    State(state): State<AppState>,
    sid: PathSid,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let sid = tollgate_core::ids::UserSid::parse(&sid.0).map_err(|_| ApiError::NotFound)?;
    let (admin, me) = (state.engine.node_admin(), caller(&account));
    // Another account's user answers 404 before the body is read.
    let mut user = admin.user_for(&me, &sid).await?;
    let b = body::<UserUpdateBody>(req).await?;
    if let Some(verified) = b.email_verified {
        user = admin.set_email_verified(&me, &sid, verified).await?;
    }
    let mut view = user_view(&user);
    if b.send_verification == Some(true) {
        view["verification_sent"] = admin.resend_verification(&me, &sid).await?.into();
    }
    Ok((NO_STORE, Json(view)).into_response())
}

async fn list_users(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let users: Vec<serde_json::Value> = state
        .engine
        .node_admin()
        .users(Some(&account.sid))
        .await?
        .iter()
        .map(user_view)
        .collect();
    Ok((NO_STORE, Json(serde_json::json!({ "users": users }))).into_response())
}
