//! RFC 7591 dynamic client registration at `POST /oauth/register` and RFC 7592 management
//! at `/oauth/register/{client_id}` (read, replace, delete with the registration access
//! token). Errors are RFC 7591 section 3.2.2 bodies; token problems are RFC 6750 401s.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tollgate_core::admin::{AdminError, Registered, Registrant, RegistrationError};
use tollgate_core::model::{Client, ClientRegistration};
use tollgate_core::{ErrorKind, OAuthError};
use utoipa::openapi::HttpMethod;

use crate::error::ErrorCause;
use crate::extract::read_bytes;
use crate::openapi::{Op, any, empty, json as json_response, object, string};
use crate::params::{BodyType, body_type};
use crate::render::{self, NO_STORE, no_store_json};
use crate::state::AppState;

pub const REGISTER: &str = "/oauth/register";
const CONFIGURATION: &str = "/oauth/register/{client_id}";
const TAG: &str = "standard";

/// What a registration request gets instead of a client.
pub enum RegisterError {
    Registration(RegistrationError),
    /// Malformed request, rate limits, an unavailable store.
    OAuth(OAuthError),
}

impl From<RegistrationError> for RegisterError {
    fn from(e: RegistrationError) -> Self {
        Self::Registration(e)
    }
}

impl From<OAuthError> for RegisterError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

fn bearer_challenge(resp: &mut Response, description: &str) {
    let value = format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        description.replace(['"', '\\'], "'")
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

impl IntoResponse for RegisterError {
    fn into_response(self) -> Response {
        let err = match self {
            Self::Registration(RegistrationError::Metadata(m)) => {
                let body = json!({"error": m.code.as_str(), "error_description": m.description});
                let resp = (StatusCode::BAD_REQUEST, NO_STORE, axum::Json(body)).into_response();
                return ErrorCause::attach(resp, || m.description);
            }
            Self::Registration(RegistrationError::Unauthorized(m)) => {
                let err = OAuthError::new(ErrorKind::InvalidToken, m);
                let mut resp = render::rfc6749_error(StatusCode::UNAUTHORIZED, &err);
                bearer_challenge(&mut resp, &err.description);
                return ErrorCause::attach(resp, || err.description.to_string());
            }
            Self::Registration(RegistrationError::Admin(AdminError::Store(e))) => e.into(),
            Self::Registration(RegistrationError::Admin(e)) => {
                let cause = e.to_string();
                let resp = render::rfc6749_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &OAuthError::server_error(),
                );
                return ErrorCause::attach(resp, || cause);
            }
            Self::OAuth(e) => e,
        };
        let status = render::rfc6749_status(err.kind, StatusCode::BAD_REQUEST);
        let resp = render::rfc6749_error(status, &err);
        ErrorCause::attach(resp, || err.to_string())
    }
}

/// The `Authorization: Bearer` token, if the header carries one.
fn bearer(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "the Authorization header is repeated",
        ));
    }
    let value = value.to_str().unwrap_or_default().trim();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::new(
            ErrorKind::InvalidToken,
            "the Authorization header must carry a Bearer token",
        )),
    }
}

/// The JSON object the request carries (RFC 7591 section 3.1: `application/json`).
async fn metadata_body(req: Request) -> Result<Map<String, Value>, RegisterError> {
    let kind = body_type(req.headers());
    let bytes = read_bytes(req, &()).await.map_err(|r| r.error)?;
    let not_metadata = |why: &str| {
        RegisterError::Registration(RegistrationError::Metadata(
            tollgate_core::admin::MetadataError {
                code: tollgate_core::admin::MetadataErrorCode::InvalidClientMetadata,
                description: why.to_owned(),
            },
        ))
    };
    if kind != BodyType::Json {
        return Err(not_metadata("the body must be an application/json object"));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(not_metadata(
            "the body must be a JSON object of client metadata",
        )),
    }
}

fn configuration_uri(state: &AppState, client: &Client) -> String {
    state.endpoint_url(&format!("{REGISTER}/{}", client.id))
}

/// RFC 7591 section 3.2.1 / RFC 7592 section 3: the client's registered metadata, with the
/// secrets handed out this time.
fn information(
    state: &AppState,
    client: &Client,
    registration: &ClientRegistration,
    fresh: Option<&Registered>,
) -> Value {
    let mut o = Map::new();
    o.insert("client_id".into(), json!(client.id.as_str()));
    o.insert("client_id_issued_at".into(), json!(registration.created_at));
    if let Some(secret) = fresh.and_then(|r| r.client_secret.as_ref()) {
        o.insert("client_secret".into(), json!(secret.expose()));
    }
    if client.secret_digest.is_some() {
        // Secrets do not expire.
        o.insert("client_secret_expires_at".into(), json!(0));
    }
    if let Some(token) = fresh.and_then(|r| r.registration_token.as_ref()) {
        o.insert("registration_access_token".into(), json!(token.expose()));
    }
    o.insert(
        "registration_client_uri".into(),
        json!(configuration_uri(state, client)),
    );
    o.insert("client_name".into(), json!(client.friendly_name));
    o.insert("redirect_uris".into(), json!(client.redirect_uris));
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    let code = client.allows(tollgate_core::model::GrantType::AuthorizationCode);
    o.insert("grant_types".into(), json!(grants));
    o.insert(
        "response_types".into(),
        json!(if code { vec!["code"] } else { vec![] }),
    );
    o.insert(
        "token_endpoint_auth_method".into(),
        json!(client.auth_method.as_str()),
    );
    if !client.scopes.is_empty() {
        o.insert("scope".into(), json!(client.scopes.join(" ")));
    }
    if let Some(jwks) = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        o.insert("jwks".into(), jwks);
    }
    if let Some(uri) = &client.jwks_uri {
        o.insert("jwks_uri".into(), json!(uri));
    }
    if let Ok(Value::Object(extra)) = serde_json::to_value(&registration.metadata) {
        o.extend(extra);
    }
    Value::Object(o)
}

/// `POST /oauth/register`.
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, RegisterError> {
    let token = bearer(req.headers())?;
    let now = state.now();
    state.throttle.admit_ip(peer.ip(), now)?;
    if token.is_none()
        && let Err(until) = state.registration_limiter.acquire(peer.ip(), now)
    {
        metrics::counter!("tollgate_rate_limited_total", "limit" => "open_registration")
            .increment(1);
        let retry_after = (until - now).max(1);
        return Err(OAuthError::new(
            ErrorKind::TooManyRequests { until, retry_after },
            "too many registrations from this address; try again later",
        )
        .into());
    }
    let body = metadata_body(req).await?;
    let registrant = match &token {
        Some(t) => Registrant::Token(t),
        None => Registrant::Anonymous,
    };
    let admin = state.engine.node_admin();
    let registered = admin
        .register_client(
            &state.registration,
            registrant,
            &body,
            Some(peer.ip().to_string()),
        )
        .await?;
    Ok(issued(&state, StatusCode::CREATED, &registered))
}

/// The client information response of a registration just made or changed, with its
/// registration access token.
fn issued(state: &AppState, status: StatusCode, r: &Registered) -> Response {
    let info = information(state, &r.client, &r.registration, Some(r));
    no_store_json(status, info)
}

/// The client configuration endpoint's client id and registration access token (RFC 7592
/// section 2); a path that cannot be read names no client.
pub struct Configuration {
    id: String,
    token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Configuration {
    type Rejection = RegisterError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RegisterError> {
        let token = bearer(&parts.headers)?;
        let id = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| id)
            .unwrap_or_default();
        Ok(Self { id, token })
    }
}

/// `GET /oauth/register/{client_id}` (RFC 7592 section 2.1).
pub async fn read(
    State(state): State<AppState>,
    Configuration { id, token }: Configuration,
) -> Result<Response, RegisterError> {
    let admin = state.engine.node_admin();
    let (client, registration) = admin.registered_client(&id, token.as_deref()).await?;
    Ok(no_store_json(
        StatusCode::OK,
        information(&state, &client, &registration, None),
    ))
}

/// `PUT /oauth/register/{client_id}` (RFC 7592 section 2.2).
pub async fn replace(
    State(state): State<AppState>,
    Configuration { id, token }: Configuration,
    req: Request,
) -> Result<Response, RegisterError> {
    let admin = state.engine.node_admin();
    // The token first: a caller without it learns nothing from the body's checks.
    admin.registered_client(&id, token.as_deref()).await?;
    let body = metadata_body(req).await?;
    let updated = admin
        .update_registration(&id, token.as_deref(), &body)
        .await?;
    Ok(issued(&state, StatusCode::OK, &updated))
}

/// `DELETE /oauth/register/{client_id}` (RFC 7592 section 2.3).
pub async fn delete(
    State(state): State<AppState>,
    Configuration { id, token }: Configuration,
) -> Result<Response, RegisterError> {
    let admin = state.engine.node_admin();
    admin.delete_registration(&id, token.as_deref()).await?;
    Ok((StatusCode::NO_CONTENT, NO_STORE).into_response())
}

fn metadata_schema() -> utoipa::openapi::schema::Schema {
    let strings = crate::openapi::strings;
    object(vec![
        ("redirect_uris", strings(), false),
        ("grant_types", strings(), false),
        ("response_types", strings(), false),
        ("token_endpoint_auth_method", string(), false),
        ("client_name", string(), false),
        ("client_uri", string(), false),
        ("logo_uri", string(), false),
        ("tos_uri", string(), false),
        ("policy_uri", string(), false),
        ("contacts", strings(), false),
        ("scope", string(), false),
        ("jwks", any(), false),
        ("jwks_uri", string(), false),
        ("software_id", string(), false),
        ("software_version", string(), false),
        ("application_type", string(), false),
        ("post_logout_redirect_uris", strings(), false),
        ("backchannel_logout_uri", string(), false),
        (
            "backchannel_logout_session_required",
            crate::openapi::boolean(),
            false,
        ),
    ])
}

fn information_response(what: &str) -> utoipa::openapi::Response {
    json_response(what, any())
}

fn error_response() -> utoipa::openapi::Response {
    json_response(
        "RFC 7591 or RFC 6750 error",
        crate::openapi::rfc6749_error(),
    )
}

const ERRORS: &[&str] = &["400", "401", "413", "429", "503"];

/// The RFC 7592 client configuration endpoint.
fn configuration_op(method: HttpMethod, summary: &'static str) -> Op {
    Op::new(method, CONFIGURATION, TAG)
        .summary(summary)
        .path_param("client_id")
}

/// An operation that takes client metadata and answers with the client's.
fn with_metadata(op: Op, status: &'static str, what: &str) -> Op {
    op.json_body(metadata_schema(), true)
        .respond(status, information_response(what))
        .respond_all(ERRORS, &error_response())
}

/// The errors of a request without a body.
const BODYLESS_ERRORS: &[&str] = &["400", "401", "503"];

pub fn register_op() -> Op {
    let op = Op::post(REGISTER, TAG).summary("RFC 7591 dynamic client registration");
    with_metadata(op, "201", "The registered client")
}

pub fn read_op() -> Op {
    configuration_op(HttpMethod::Get, "RFC 7592 read a registered client")
        .respond(
            "200",
            information_response("The client's registered metadata"),
        )
        .respond_all(BODYLESS_ERRORS, &error_response())
}

pub fn replace_op() -> Op {
    let op = configuration_op(HttpMethod::Put, "RFC 7592 update a registered client");
    with_metadata(op, "200", "The client's new metadata")
}

pub fn delete_op() -> Op {
    configuration_op(HttpMethod::Delete, "RFC 7592 delete a registered client")
        .respond("204", empty("Deleted"))
        .respond_all(BODYLESS_ERRORS, &error_response())
}
