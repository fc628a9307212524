//! The standard dialect: RFC 6749 form bodies and Optoro-style JSON bodies on `/oauth/*`,
//! discovery on `/.well-known/*`.

mod api;
mod discovery;
mod registration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::device::{DeviceAuthorization, DeviceRequest};
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::oidc::{ProfileClaims, UserInfo};
use tollgate_core::token::Issued;

use crate::dialect::{Dialect, ErrorStyle};
use crate::extract::{Body, Input, json_object};
use crate::params::{self, Authorization, Params};
use crate::render::{self, DeviceBody, no_store_json};
use crate::routes::Routes;
use crate::state::AppState;
use crate::{device, pages, par, token, token_management, userinfo};

pub struct Standard;

impl Dialect for Standard {
    const NAME: &'static str = "standard";
    const AUTHORIZE_PATH: Option<&'static str> = Some("/oauth/authorize");
    const CORS_CLIENT_PATHS: &'static [&'static str] = &[
        "/oauth/token",
        "/oauth/par",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/userinfo",
    ];
    const CORS_PUBLIC_PATHS: &'static [&'static str] = &[
        "/oauth/jwks",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        registration::REGISTER,
    ];
    const JSON_BODIES: bool = true;

    fn routes() -> Routes {
        let authorize = Routes::new()
            .route(api::authorize(), pages::authorize::authorize::<Self>)
            .map(pages::secured);
        Routes::new()
            .route(api::token(), token::token::<Self>)
            .route(api::par(), par::push::<Self>)
            .route(api::device(), device::device_authorization::<Self>)
            .route(api::revoke(), token_management::revoke::<Self>)
            .route(api::introspect(), token_management::introspect::<Self>)
            .route(api::userinfo_get(), userinfo::get::<Self>)
            .route(api::userinfo_post(), userinfo::post::<Self>)
            .route(api::jwks("/oauth/jwks"), jwks)
            .route(api::jwks("/.well-known/jwks.json"), jwks)
            .route(
                api::discovery("/.well-known/openid-configuration"),
                discovery::openid_configuration,
            )
            .route(
                api::discovery("/.well-known/oauth-authorization-server"),
                discovery::authorization_server_metadata,
            )
            .route(
                api::discovery("/.well-known/oauth-authorization-server/{path}")
                    .path_param("path")
                    .respond("404", api::not_found_response()),
                discovery::authorization_server_metadata_at_path,
            )
            .merge(authorize)
            .merge(registration_routes())
    }

    fn owns_path(path: &str) -> bool {
        path.starts_with("/oauth/") || path.starts_with("/.well-known/")
    }

    fn client_auth(auth: &Authorization, form: &Params) -> Result<Option<ClientAuth>, OAuthError> {
        params::snake_case_client(auth.basic(), form)
    }

    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError> {
        match &input.body {
            Body::Form(p) => form_token_request(&input.auth, p),
            Body::Json(bytes) => json_token_request(bytes, input.basic()),
        }
    }

    fn token_response(issued: &Issued) -> Response {
        let body = StandardToken {
            access_token: &issued.access_token,
            token_type: issued.token_type(),
            expires_in: issued.expires_in,
            scope: &issued.scope,
            created_at: issued.issued_at,
            refresh_token: issued.refresh_token.as_deref(),
            id_token: issued.id_token.as_deref(),
        };
        no_store_json(StatusCode::OK, body)
    }

    fn authorize_params(query: &Params) -> Result<AuthorizeParams, OAuthError> {
        params::snake_case_authorize(query)
    }

    fn device_request(input: &Input) -> Result<DeviceRequest, OAuthError> {
        let p = input.form();
        Ok(DeviceRequest {
            client: Self::client_auth(&input.auth, p)?,
            account_auth: None,
            scopes: p.one("scope")?.into_iter().collect(),
            audiences: p.all("audience"),
        })
    }

    fn device_response(d: &DeviceAuthorization) -> Response {
        no_store_json(StatusCode::OK, DeviceBody::of(d))
    }

    fn userinfo_response(info: &UserInfo, _issuer: &str) -> Response {
        let body = StandardUserInfo {
            claims: ProfileClaims::for_scopes(&info.user, &info.scopes),
            sub: info.user.sid.to_string(),
        };
        no_store_json(StatusCode::OK, body)
    }

    fn error_response(err: &OAuthError, style: ErrorStyle) -> Response {
        // Optoro: well-formed but unacceptable JSON requests are 422.
        let unacceptable = if style.json {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        let status = style
            .status
            .unwrap_or_else(|| render::rfc6749_status(err.kind, unacceptable));
        render::rfc6749_error(status, err)
    }

    fn not_found() -> Response {
        not_found()
    }

    fn method_not_allowed() -> Response {
        let body = serde_json::json!({
            "error": "invalid_request",
            "error_description": "method not allowed",
        });
        (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
    }
}

/// RFC 7591 registration and RFC 7592 management.
fn registration_routes() -> Routes {
    Routes::new()
        .route(registration::register_op(), registration::register)
        .route(registration::read_op(), registration::read)
        .route(registration::replace_op(), registration::replace)
        .route(registration::delete_op(), registration::delete)
}

/// The answer to any path no dialect owns.
pub fn not_found() -> Response {
    let body = serde_json::json!({"error": "not_found", "error_description": "no such endpoint"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// RFC 6749 success, plus the Optoro `created_at`.
#[derive(Serialize)]
struct StandardToken<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

#[derive(Serialize)]
struct StandardUserInfo {
    sub: String,
    #[serde(flatten)]
    claims: ProfileClaims,
}

fn form_token_request(auth: &Authorization, p: &Params) -> Result<TokenRequest, OAuthError> {
    let client = || Standard::client_auth(auth, p);
    params::token_request(p, params::SNAKE_CASE_TOKEN, client, true, None)
}

/// The Optoro body: strings only, no unknown fields, no repeated fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTokenBody {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    device_code: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
    resource: Option<String>,
}

fn json_token_request(
    bytes: &[u8],
    basic: Option<(String, String)>,
) -> Result<TokenRequest, OAuthError> {
    let b: JsonTokenBody = json_object(bytes)?;
    let Some(grant_type) = b.grant_type.filter(|g| !g.is_empty()) else {
        return Err(OAuthError::invalid_request("grant_type is required"));
    };
    if basic.is_none() && b.client_assertion.is_none() {
        if b.client_id.is_none() {
            return Err(OAuthError::invalid_request("client_id is required"));
        }
        if grant_type == "client_credentials" && b.client_secret.is_none() {
            return Err(OAuthError::invalid_request("client_secret is required"));
        }
    }
    Ok(TokenRequest {
        grant_type: Some(grant_type),
        client: params::client_auth_or_assertion(
            basic,
            b.client_id,
            b.client_secret,
            b.client_assertion_type,
            b.client_assertion,
        )?,
        scope: b.scope,
        audience: b.audience.into_iter().collect(),
        code: b.code,
        redirect_uri: b.redirect_uri,
        code_verifier: b.code_verifier,
        refresh_token: b.refresh_token,
        device_code: b.device_code,
        resource: b.resource.into_iter().collect(),
        ..TokenRequest::default()
    })
}

async fn jwks(State(state): State<AppState>) -> Response {
    render::jwks_response(state.engine.key_set().jwks_json().to_string())
}
