//! The standard dialect: RFC 6749 form bodies and Optoro-style JSON bodies on `/oauth/*`,
//! discovery on `/.well-known/*`.

mod discovery;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::device::{DeviceAuthorization, DeviceRequest};
use tollgate_core::engine::TokenRequest;
use tollgate_core::oidc::{ProfileClaims, UserInfo};
use tollgate_core::token::Issued;

use crate::dialect::{Dialect, ErrorStyle};
use crate::extract::{Body, Input, json_object};
use crate::openapi::{
    Op, RFC_FORM_ERRORS, Spec, any, body, empty, form, html, integer, json, nullable_string,
    object, redirect, rfc6749_error, string,
};
use crate::params::{self, Params};
use crate::render::{self, DeviceBody, no_store_json};
use crate::routes::Routes;
use crate::state::AppState;
use crate::{device, pages, par, token, token_management, userinfo};
use utoipa::openapi::HttpMethod;

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
    ];
    const JSON_BODIES: bool = true;

    fn routes() -> Routes {
        let authorize = Routes::new()
            .get("/oauth/authorize", pages::authorize::authorize::<Self>)
            .map(pages::secured);
        Routes::new()
            .post("/oauth/token", token::token::<Self>)
            .post("/oauth/par", par::push::<Self>)
            .post(
                "/oauth/device_authorization",
                device::device_authorization::<Self>,
            )
            .post("/oauth/revoke", token_management::revoke::<Self>)
            .post("/oauth/introspect", token_management::introspect::<Self>)
            .get("/oauth/userinfo", userinfo::get::<Self>)
            .post("/oauth/userinfo", userinfo::post::<Self>)
            .get("/oauth/jwks", jwks)
            .get("/.well-known/jwks.json", jwks)
            .get(
                "/.well-known/openid-configuration",
                discovery::openid_configuration,
            )
            .get(
                "/.well-known/oauth-authorization-server",
                discovery::authorization_server_metadata,
            )
            .merge(authorize)
    }

    fn owns_path(path: &str) -> bool {
        path.starts_with("/oauth/") || path.starts_with("/.well-known/")
    }

    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError> {
        match &input.body {
            Body::Form(p) => form_token_request(p, input.basic()),
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
            client: params::snake_case_client(input.basic(), p)?,
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

    fn describe(spec: &mut Spec) {
        let token_fields: Vec<(&'static str, bool)> = vec![
            ("grant_type", true),
            ("client_id", false),
            ("client_secret", false),
            ("scope", false),
            ("audience", false),
            ("code", false),
            ("redirect_uri", false),
            ("code_verifier", false),
            ("refresh_token", false),
            ("device_code", false),
            ("client_assertion_type", false),
            ("client_assertion", false),
            ("resource", false),
        ];
        let json_fields = token_fields
            .iter()
            .map(|(n, r)| (*n, string(), *r))
            .collect();
        let err = json("RFC 6749 error", rfc6749_error());
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/token", "standard")
                .summary("Token endpoint (RFC 6749 form, or the Optoro JSON body)")
                .body(body(
                    vec![
                        form(&token_fields),
                        ("application/json", object(json_fields)),
                    ],
                    true,
                ))
                .respond("200", json("Tokens", token_schema()))
                .respond_all(&["400", "401", "413", "415", "422", "429", "503"], &err),
        );
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/device_authorization", "standard")
                .summary("RFC 8628 device authorization")
                .body(body(
                    vec![form(&[
                        ("client_id", false),
                        ("client_secret", false),
                        ("client_assertion_type", false),
                        ("client_assertion", false),
                        ("scope", false),
                        ("audience", false),
                    ])],
                    true,
                ))
                .respond(
                    "200",
                    json(
                        "Device and user codes",
                        crate::openapi::device_authorization(),
                    ),
                )
                .respond_all(RFC_FORM_ERRORS, &err),
        );
        let token_mgmt = [
            ("token", true),
            ("token_type_hint", false),
            ("client_id", false),
            ("client_secret", false),
            ("client_assertion_type", false),
            ("client_assertion", false),
        ];
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/par", "standard")
                .summary("RFC 9126 pushed authorization request")
                .body(body(vec![form(PAR_FIELDS)], true))
                .respond(
                    "201",
                    json(
                        "The request_uri to send the browser with",
                        object(vec![
                            ("request_uri", string(), true),
                            ("expires_in", integer(), true),
                        ]),
                    ),
                )
                .respond_all(RFC_FORM_ERRORS, &err),
        );
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/revoke", "standard")
                .summary("RFC 7009 revocation")
                .body(body(vec![form(&token_mgmt)], true))
                .respond("200", empty("Revoked (or unknown)"))
                .respond_all(RFC_FORM_ERRORS, &err),
        );
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/introspect", "standard")
                .summary("RFC 7662 introspection")
                .body(body(vec![form(&token_mgmt)], true))
                .respond("200", json("Token state", introspection_schema()))
                .respond_all(RFC_FORM_ERRORS, &err),
        );
        let info = json("Claims", userinfo_schema());
        spec.add(
            Op::new(HttpMethod::Get, "/oauth/userinfo", "standard")
                .summary("OIDC userinfo (Authorization: Bearer)")
                .respond("200", info.clone())
                .respond_all(&["400", "401", "403"], &err),
        );
        spec.add(
            Op::new(HttpMethod::Post, "/oauth/userinfo", "standard")
                .summary("OIDC userinfo (Bearer header or form access_token)")
                .body(body(vec![form(&[("access_token", false)])], false))
                .respond("200", info)
                .respond_all(&["400", "401", "403", "413"], &err),
        );
        let jwks = json("JSON Web Key Set", object(vec![("keys", any_list(), true)]));
        for path in ["/oauth/jwks", "/.well-known/jwks.json"] {
            spec.add(
                Op::new(HttpMethod::Get, path, "standard")
                    .summary("Signing keys")
                    .respond("200", jwks.clone()),
            );
        }
        let doc = json(
            "Discovery document",
            object(vec![("issuer", string(), true)]),
        );
        for path in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            spec.add(
                Op::new(HttpMethod::Get, path, "standard")
                    .summary("Discovery")
                    .respond("200", doc.clone()),
            );
        }
        spec.add(
            Op::new(HttpMethod::Get, "/oauth/authorize", "standard")
                .summary("Authorization endpoint (a browser page)")
                .query(AUTHORIZE_QUERY)
                .respond("200", html("Consent page"))
                .respond("303", redirect("To sign in, or back to the client"))
                .respond("400", html("The request cannot be sent back to the client")),
        );
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

const AUTHORIZE_QUERY: &[(&str, bool)] = &[
    ("response_type", false),
    ("client_id", false),
    ("redirect_uri", false),
    ("scope", false),
    ("state", false),
    ("nonce", false),
    ("code_challenge", false),
    ("code_challenge_method", false),
    ("prompt", false),
    ("resource", false),
    ("request_uri", false),
];

const PAR_FIELDS: &[(&str, bool)] = &[
    ("response_type", false),
    ("client_id", false),
    ("client_secret", false),
    ("client_assertion_type", false),
    ("client_assertion", false),
    ("redirect_uri", false),
    ("scope", false),
    ("state", false),
    ("nonce", false),
    ("code_challenge", false),
    ("code_challenge_method", false),
    ("prompt", false),
    ("resource", false),
];

fn any_list() -> utoipa::openapi::schema::Schema {
    crate::openapi::array_of(any())
}

fn token_schema() -> utoipa::openapi::schema::Schema {
    object(vec![
        ("access_token", string(), true),
        ("token_type", string(), true),
        ("expires_in", integer(), true),
        ("scope", string(), true),
        ("created_at", integer(), true),
        ("refresh_token", string(), false),
        ("id_token", string(), false),
    ])
}

fn introspection_schema() -> utoipa::openapi::schema::Schema {
    object(vec![
        ("active", crate::openapi::boolean(), true),
        ("scope", string(), false),
        ("client_id", string(), false),
        ("token_type", string(), false),
        ("exp", integer(), false),
        ("iat", integer(), false),
        ("nbf", integer(), false),
        ("sub", string(), false),
        ("aud", any(), false),
        ("iss", string(), false),
        ("jti", string(), false),
        ("account_sid", nullable_string(), false),
        ("cnf", object(vec![("jkt", string(), true)]), false),
    ])
}

fn userinfo_schema() -> utoipa::openapi::schema::Schema {
    object(vec![
        ("sub", string(), true),
        ("name", string(), false),
        ("given_name", string(), false),
        ("family_name", string(), false),
        ("nickname", string(), false),
        ("email", string(), false),
        ("email_verified", crate::openapi::boolean(), false),
    ])
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

fn form_token_request(
    p: &Params,
    basic: Option<(String, String)>,
) -> Result<TokenRequest, OAuthError> {
    Ok(TokenRequest {
        grant_type: p.one("grant_type")?,
        client: params::snake_case_client(basic, p)?,
        account_auth: None,
        scope: p.one("scope")?,
        audience: p.all("audience"),
        account_sid: None,
        code: p.one("code")?,
        redirect_uri: p.one("redirect_uri")?,
        code_verifier: p.one("code_verifier")?,
        refresh_token: p.one("refresh_token")?,
        device_code: p.one("device_code")?,
        device_id: None,
        redirect_uri_optional: false,
        resource: p.all("resource"),
        dpop: None,
    })
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
        account_auth: None,
        scope: b.scope,
        audience: b.audience.into_iter().collect(),
        account_sid: None,
        code: b.code,
        redirect_uri: b.redirect_uri,
        code_verifier: b.code_verifier,
        refresh_token: b.refresh_token,
        device_code: b.device_code,
        device_id: None,
        redirect_uri_optional: false,
        resource: b.resource.into_iter().collect(),
        dpop: None,
    })
}

async fn jwks(State(state): State<AppState>) -> Response {
    render::jwks_response(state.engine.key_set().jwks_json().to_string())
}
