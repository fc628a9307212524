//! Discovery documents: standard names (RFC 8414, OIDC Discovery) and the v1 spec's names.

use serde_json::{Value, json};

use crate::state::AppState;

const GRANTS: [&str; 4] = [
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
];
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
const SCOPES: [&str; 4] = tollgate_core::authorize::OIDC_SCOPES;

fn alg(state: &AppState) -> &'static str {
    state.engine.config().signing_algorithm.as_str()
}

pub fn authorization_server_metadata(state: &AppState) -> Value {
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
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": GRANTS,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "authorization_response_iss_parameter_supported": true,
    })
}

pub fn openid_configuration(state: &AppState) -> Value {
    let mut doc = authorization_server_metadata(state);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("subject_types_supported".into(), json!(["public"]));
        obj.insert(
            "id_token_signing_alg_values_supported".into(),
            json!([alg(state)]),
        );
        obj.insert("claims_supported".into(), json!(claims()));
        obj.insert(
            "prompt_values_supported".into(),
            json!(["none", "login", "consent"]),
        );
    }
    doc
}

fn claims() -> [&'static str; 9] {
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
    ]
}

/// `/v1/.well-known/openid-configuration`, in the v1 spec's field names. Endpoints this
/// server does not offer yet are `null`, which the spec allows.
pub fn v1_openid_configuration(state: &AppState) -> Value {
    let iss = state.engine.issuer();
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/v1/authorize"),
        "device_authorization_endpoint": format!("{iss}/v1/device/code"),
        "token_endpoint": format!("{iss}/v1/token"),
        "userinfo_endpoint": format!("{iss}/v1/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "jwk_uri": format!("{iss}/v1/certs"),
        "response_type_supported": ["code"],
        "subject_type_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg(state)],
        "scopes_supported": SCOPES,
        "claims_supported": claims(),
        "url": format!("{iss}/v1/.well-known/openid-configuration"),
    })
}
