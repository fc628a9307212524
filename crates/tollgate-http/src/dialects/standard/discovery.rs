//! Discovery documents in the standard names (RFC 8414, OIDC Discovery).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

const GRANTS: [&str; 4] = [
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
];
const AUTH_METHODS: [&str; 5] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];
/// RFC 7523 assertions: the client's keys (`private_key_jwt`) or HS256 (`client_secret_jwt`).
const ASSERTION_ALGS: [&str; 5] = ["ES256", "EdDSA", "PS256", "RS256", "HS256"];
/// RFC 9449 proofs: asymmetric only.
const DPOP_ALGS: [&str; 4] = ["ES256", "EdDSA", "PS256", "RS256"];
const SCOPES: [&str; 4] = tollgate_core::authorize::OIDC_SCOPES;

/// The id-token algorithms: the server's and every one a client may choose.
fn id_token_algs(state: &AppState) -> Vec<&'static str> {
    let algs = state.engine.config().key_algorithms();
    algs.into_iter().map(|a| a.as_str()).collect()
}

fn metadata(state: &AppState) -> Value {
    let mut doc = base_metadata(state);
    if let Some(obj) = doc.as_object_mut() {
        // draft-ietf-oauth-client-id-metadata-document: `true` only when on (false, its
        // default, is said out loud).
        let on = state.engine.config().client_metadata_documents;
        obj.insert("client_id_metadata_document_supported".into(), json!(on));
    }
    doc
}

fn base_metadata(state: &AppState) -> Value {
    let iss = state.engine.issuer();
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/oauth/jwks"),
        "device_authorization_endpoint": format!("{iss}/oauth/device_authorization"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": &AUTH_METHODS[..4],
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "pushed_authorization_request_endpoint": format!("{iss}/oauth/par"),
        "registration_endpoint": format!("{iss}/oauth/register"),
        // Per client (`require_pushed_authorization_requests`); not for every client.
        "require_pushed_authorization_requests": false,
        "dpop_signing_alg_values_supported": DPOP_ALGS,
        "grant_types_supported": GRANTS,
        "response_types_supported": ["code"],
        "response_modes_supported": tollgate_core::oidc_params::RESPONSE_MODES,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "authorization_response_iss_parameter_supported": true,
        // RFC 9101: request objects by value and through PAR; a request_uri must be PAR's.
        "request_parameter_supported": true,
        "request_uri_parameter_supported": false,
        "request_object_signing_alg_values_supported":
            tollgate_core::request_object::REQUEST_OBJECT_ALGS,
        // Per client (`require_signed_request_object`), like PAR.
        "require_signed_request_object": false,
    })
}

pub async fn authorization_server_metadata(State(state): State<AppState>) -> Json<Value> {
    Json(metadata(&state))
}

/// RFC 8414 section 3.1: an issuer with a path (`https://host/tenant`) publishes its metadata
/// at `/.well-known/oauth-authorization-server/tenant`; any other path is no document of ours.
pub async fn authorization_server_metadata_at_path(
    State(state): State<AppState>,
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let issuer_path = url::Url::parse(state.engine.issuer())
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    match path {
        Ok(axum::extract::Path(p)) if !issuer_path.is_empty() && format!("/{p}") == issuer_path => {
            Json(metadata(&state)).into_response()
        }
        _ => super::not_found(),
    }
}

pub async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let mut doc = metadata(&state);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("subject_types_supported".into(), json!(["public"]));
        obj.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(id_token_algs(&state)),
        );
        obj.insert("claims_supported".into(), json!(claims()));
        // OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
        let iss = state.engine.issuer();
        obj.insert(
            "end_session_endpoint".into(),
            json!(format!("{iss}{}", crate::pages::end_session::PATH)),
        );
        obj.insert("backchannel_logout_supported".into(), json!(true));
        obj.insert("backchannel_logout_session_supported".into(), json!(true));
        obj.insert(
            "prompt_values_supported".into(),
            json!(["none", "login", "consent", "select_account"]),
        );
        obj.insert(
            "acr_values_supported".into(),
            json!([
                tollgate_core::model::ACR_PASSWORD,
                tollgate_core::model::ACR_MFA,
                tollgate_core::model::ACR_PASSKEY
            ]),
        );
    }
    Json(doc)
}

/// OIDC Discovery: the id_token and userinfo claims the server serves (not access-token ones).
fn claims() -> &'static [&'static str] {
    tollgate_core::oidc::CLAIMS_SUPPORTED
}
