//! The account admin API: an account manages its own OAuth apps and rotates its auth token,
//! authenticated with HTTP Basic `AccountSid:AuthToken`. Twilio error format throughout.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_core::admin::{AdminError, ClientSpec};
use tollgate_core::ids::ClientId;
use tollgate_core::model::{
    Account, Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat,
};
use tollgate_core::secret::Secret;
use tollgate_core::{ErrorKind, OAuthError};

use crate::error::Rejection;
use crate::extract::{json_body, read_bytes};
use crate::params::{self, Authorization};
use crate::render::{self, NO_STORE, rfc2822};
use crate::state::AppState;

pub fn router() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .get("/v1/Account/OAuthApps", list)
        .post("/v1/Account/OAuthApps", create)
        .get("/v1/Account/OAuthApps/{sid}", fetch)
        .post("/v1/Account/OAuthApps/{sid}", update)
        .delete("/v1/Account/OAuthApps/{sid}", delete)
        .post("/v1/Account/OAuthApps/{sid}/Secret", rotate_secret)
        .post("/v1/Account/AuthToken", rotate_auth_token)
        .get("/v1/Account/Users", list_users)
        .post("/v1/Account/Users", create_user)
}

pub fn describe(spec: &mut crate::openapi::Spec) {
    use crate::openapi::{
        Op, body, boolean, empty, integer, json, nullable_string, object, string, strings,
        twilio_error,
    };
    use utoipa::openapi::HttpMethod;
    let err = json("Twilio error", twilio_error());
    let app = || {
        object(vec![
            ("sid", string(), true),
            ("account_sid", string(), true),
            ("friendly_name", string(), true),
            ("grant_types", strings(), true),
            ("redirect_uris", strings(), true),
            ("scopes", strings(), true),
            ("audiences", strings(), true),
            ("access_token_ttl", crate::openapi::any(), true),
            ("token_format", string(), true),
            ("public", boolean(), true),
            ("require_pkce", boolean(), true),
            ("token_endpoint_auth_method", string(), true),
            ("jwks", crate::openapi::any(), false),
            ("jwks_uri", string(), false),
            ("require_pushed_authorization_requests", boolean(), true),
            ("dpop_bound_access_tokens", boolean(), true),
            ("profile", string(), true),
            ("date_created", nullable_string(), true),
            ("date_updated", nullable_string(), true),
            ("url", string(), true),
            ("secret", string(), false),
        ])
    };
    let app_body = || {
        body(
            vec![(
                "application/json",
                object(vec![
                    ("friendly_name", string(), false),
                    ("grant_types", strings(), false),
                    ("redirect_uris", strings(), false),
                    ("scopes", strings(), false),
                    ("audiences", strings(), false),
                    ("access_token_ttl", integer(), false),
                    ("token_format", string(), false),
                    ("public", boolean(), false),
                    ("require_pkce", boolean(), false),
                    ("token_endpoint_auth_method", string(), false),
                    ("jwks", crate::openapi::any(), false),
                    ("jwks_uri", string(), false),
                    ("require_pushed_authorization_requests", boolean(), false),
                    ("dpop_bound_access_tokens", boolean(), false),
                    ("profile", string(), false),
                ]),
            )],
            false,
        )
    };
    let list = object(vec![("oauth_apps", crate::openapi::array_of(app()), true)]);
    let tag = "admin";
    spec.add(
        Op::new(HttpMethod::Get, "/v1/Account/OAuthApps", tag)
            .summary("The account's OAuth apps (HTTP Basic AccountSid:AuthToken)")
            .respond("200", json("Apps", list))
            .respond_all(&["401", "429"], &err),
    );
    spec.add(
        Op::new(HttpMethod::Post, "/v1/Account/OAuthApps", tag)
            .summary("Create an OAuth app; the secret is in this answer only")
            .body(app_body())
            .respond("201", json("The app", app()))
            .respond_all(&["400", "401", "429"], &err),
    );
    let one = "/v1/Account/OAuthApps/{sid}";
    spec.add(
        Op::new(HttpMethod::Get, one, tag)
            .path_param("sid")
            .summary("One app")
            .respond("200", json("The app", app()))
            .respond_all(&["401", "404", "429"], &err),
    );
    spec.add(
        Op::new(HttpMethod::Post, one, tag)
            .path_param("sid")
            .summary("Update an app")
            .body(app_body())
            .respond("200", json("The app", app()))
            .respond_all(&["400", "401", "404", "429"], &err),
    );
    spec.add(
        Op::new(HttpMethod::Delete, one, tag)
            .path_param("sid")
            .summary("Delete an app")
            .respond("204", empty("Deleted"))
            .respond_all(&["401", "404", "429"], &err),
    );
    spec.add(
        Op::new(HttpMethod::Post, "/v1/Account/OAuthApps/{sid}/Secret", tag)
            .path_param("sid")
            .summary("Rotate an app's secret; the new one is in this answer only")
            .respond("200", json("The app", app()))
            .respond_all(&["401", "404", "429"], &err),
    );
    let token = object(vec![
        ("account_sid", string(), true),
        ("auth_token", string(), true),
        ("date_updated", nullable_string(), true),
    ]);
    spec.add(
        Op::new(HttpMethod::Post, "/v1/Account/AuthToken", tag)
            .summary("Rotate the account's auth token")
            .respond("200", json("The new token", token))
            .respond_all(&["401", "429"], &err),
    );
    let user = || {
        object(vec![
            ("sid", string(), true),
            ("account_sid", string(), true),
            ("email", string(), true),
            ("first_name", nullable_string(), true),
            ("last_name", nullable_string(), true),
            ("friendly_name", nullable_string(), true),
            ("admin", boolean(), true),
            ("date_created", nullable_string(), true),
        ])
    };
    spec.add(
        Op::new(HttpMethod::Get, "/v1/Account/Users", tag)
            .summary("The account's users")
            .respond(
                "200",
                json(
                    "Users",
                    object(vec![("users", crate::openapi::array_of(user()), true)]),
                ),
            )
            .respond_all(&["401", "429"], &err),
    );
    spec.add(
        Op::new(HttpMethod::Post, "/v1/Account/Users", tag)
            .summary("Create a user; admin=true makes an administrator of the account")
            .body(body(
                vec![(
                    "application/json",
                    object(vec![
                        ("email", string(), true),
                        ("password", string(), true),
                        ("first_name", string(), false),
                        ("last_name", string(), false),
                        ("friendly_name", string(), false),
                        ("admin", boolean(), false),
                    ]),
                )],
                true,
            ))
            .respond("201", json("The user", user()))
            .respond_all(&["400", "401", "429", "503"], &err),
    );
}

enum ApiError {
    OAuth(OAuthError),
    NotFound,
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
            AdminError::Key(_) | AdminError::Rng(_) => ApiError::OAuth(OAuthError::server_error()),
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
            ApiError::NotFound => render::twilio_not_found(),
            ApiError::OAuth(e) => {
                let mut resp = render::twilio_error(&e);
                if matches!(e.kind, ErrorKind::InvalidClient) {
                    resp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tollgate\""),
                    );
                }
                resp
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
}

impl AppBody {
    fn jwks_doc(&self) -> Option<String> {
        self.jwks.as_ref().map(|j| j.to_string())
    }
}

/// An app body: JSON, or nothing.
async fn app_body(req: Request) -> Result<AppBody, ApiError> {
    let headers = req.headers().clone();
    let bytes = read_bytes(req, &()).await?;
    Ok(json_body(&headers, &bytes)?)
}

/// The `{sid}` path segment; one that cannot be decoded is simply no app of the caller's (404
/// in Twilio's format, not the router's plain-text rejection).
struct AppSid(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AppSid {
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

/// The caller's own app, or 404 (another account's app is indistinguishable from none).
async fn own_app(state: &AppState, account: &Account, sid: &str) -> Result<Client, ApiError> {
    let id = ClientId::parse(sid).map_err(|_| ApiError::NotFound)?;
    let client = state.engine.admin().client(&id).await?;
    if client.account_sid != account.sid {
        return Err(ApiError::NotFound);
    }
    Ok(client)
}

async fn synced(state: &AppState) -> Result<(), ApiError> {
    state.engine.sync().await.map_err(OAuthError::from)?;
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, req.headers()).await?;
    let b = app_body(req).await?;
    let jwks = b.jwks_doc();
    let jwks_uri = b.jwks_uri.clone();
    let spec = ClientSpec {
        friendly_name: b
            .friendly_name
            .ok_or_else(|| OAuthError::invalid_request("friendly_name is required"))?,
        account_sid: Some(account.sid.clone()),
        grant_types: b.grant_types.unwrap_or_default(),
        redirect_uris: b.redirect_uris.unwrap_or_default(),
        scopes: b.scopes.unwrap_or_default(),
        audiences: b.audiences.unwrap_or_default(),
        public: b.public.unwrap_or(false),
        token_format: b.token_format.unwrap_or_default(),
        access_token_ttl: b.access_token_ttl,
        require_pkce: b.require_pkce.unwrap_or(false),
        auth_method: b.token_endpoint_auth_method,
        jwks,
        jwks_uri,
        require_par: b.require_pushed_authorization_requests.unwrap_or(false),
        require_dpop: b.dpop_bound_access_tokens.unwrap_or(false),
        profile: b.profile.unwrap_or_default(),
    };
    let (client, secret) = state
        .engine
        .admin()
        .with_outbound_policy(state.engine.outbound_policy())
        .create_client(spec)
        .await?;
    synced(&state).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(view(&state, &client, secret.as_ref())),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let apps: Vec<AppView> = state
        .engine
        .admin()
        .clients(Some(&account.sid))
        .await?
        .iter()
        .map(|c| view(&state, c, None))
        .collect();
    Ok(Json(serde_json::json!({ "oauth_apps": apps })).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    sid: AppSid,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let client = own_app(&state, &account, &sid.0).await?;
    Ok(Json(view(&state, &client, None)).into_response())
}

async fn update(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    sid: AppSid,
    req: Request,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, req.headers()).await?;
    let current = own_app(&state, &account, &sid.0).await?;
    let b = app_body(req).await?;
    if b.public.is_some_and(|p| p != current.is_public()) {
        return Err(OAuthError::invalid_request(
            "an app cannot change between public and confidential",
        )
        .into());
    }
    let jwks = b.jwks_doc();
    let jwks_uri = b.jwks_uri.clone();
    let public = current.is_public();
    let spec = ClientSpec {
        friendly_name: b.friendly_name.unwrap_or(current.friendly_name),
        account_sid: None,
        grant_types: b.grant_types.unwrap_or(current.grant_types),
        redirect_uris: b.redirect_uris.unwrap_or(current.redirect_uris),
        scopes: b.scopes.unwrap_or(current.scopes),
        audiences: b.audiences.unwrap_or(current.audiences),
        public,
        token_format: b.token_format.unwrap_or(current.token_format),
        access_token_ttl: b.access_token_ttl.or(current.access_token_ttl),
        require_pkce: b.require_pkce.unwrap_or(current.require_pkce),
        auth_method: b.token_endpoint_auth_method,
        jwks,
        jwks_uri,
        require_par: b
            .require_pushed_authorization_requests
            .unwrap_or(current.require_par),
        require_dpop: b.dpop_bound_access_tokens.unwrap_or(current.require_dpop),
        profile: b.profile.unwrap_or(current.profile),
    };
    let client = state
        .engine
        .admin()
        .with_outbound_policy(state.engine.outbound_policy())
        .update_client(&current.id, spec)
        .await?;
    synced(&state).await?;
    Ok(Json(view(&state, &client, None)).into_response())
}

async fn delete(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    sid: AppSid,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let client = own_app(&state, &account, &sid.0).await?;
    state.engine.admin().delete_client(&client.id).await?;
    synced(&state).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    sid: AppSid,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let client = own_app(&state, &account, &sid.0).await?;
    let (client, secret) = state
        .engine
        .admin()
        .rotate_client_secret(&client.id)
        .await?;
    synced(&state).await?;
    Ok((
        StatusCode::OK,
        NO_STORE,
        Json(view(&state, &client, Some(&secret))),
    )
        .into_response())
}

async fn rotate_auth_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let (account, token) = state.engine.admin().rotate_auth_token(&account.sid).await?;
    synced(&state).await?;
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
}

async fn create_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, req.headers()).await?;
    let headers = req.headers().clone();
    let bytes = read_bytes(req, &()).await?;
    let b: UserBody = json_body(&headers, &bytes)?;
    let required = |v: Option<String>, name: &str| {
        v.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let spec = tollgate_core::admin::UserSpec {
        email: required(b.email, "email")?,
        password: required(b.password, "password")?,
        first_name: b.first_name,
        last_name: b.last_name,
        friendly_name: b.friendly_name,
        account_sid: Some(account.sid.clone()),
        admin: b.admin.unwrap_or(false),
    };
    let user = state.engine.admin().create_user(spec).await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))).into_response())
}

async fn list_users(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = account(&state, peer, &headers).await?;
    let users: Vec<serde_json::Value> = state
        .engine
        .admin()
        .users(Some(&account.sid))
        .await?
        .iter()
        .map(user_view)
        .collect();
    Ok(Json(serde_json::json!({ "users": users })).into_response())
}
