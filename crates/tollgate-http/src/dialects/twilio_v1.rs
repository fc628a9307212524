//! Twilio OAuth v1: `/v1/*` in PascalCase, 201 with RFC 2822 dates, Twilio's error body;
//! `AccountSid:AuthToken` may stand in for the client secret.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::device::{DeviceAuthorization, DeviceRequest};
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::oidc::UserInfo;
use tollgate_core::token::Issued;

use super::twilio;
use crate::dialect::Dialect;
use crate::extract::Input;
use crate::openapi::{
    Op, body, form, integer, json, nullable_string, object, string, strings_or_objects,
};
use crate::params::{self, Authorization, Params};
use crate::render::{self, DeviceBody, no_store_json, rfc2822};
use crate::routes::Routes;
use crate::state::AppState;
use crate::{device, pages, token, userinfo};

pub struct TwilioV1;

const TAG: &str = "twilio v1";

impl Dialect for TwilioV1 {
    const NAME: &'static str = "twilio_v1";
    const AUTHORIZE_PATH: Option<&'static str> = Some("/v1/authorize");
    const CORS_CLIENT_PATHS: &'static [&'static str] = &["/v1/token", "/v1/userinfo"];
    const CORS_PUBLIC_PATHS: &'static [&'static str] =
        &["/v1/certs", "/v1/.well-known/openid-configuration"];
    const EMPTY_BODY_IS_FORM: bool = true;

    fn routes() -> Routes {
        let authorize = Routes::new()
            .route(authorize_op(), pages::authorize::authorize::<Self>)
            .map(pages::secured);
        let discovery_op = Op::get("/v1/.well-known/openid-configuration", TAG)
            .summary("Discovery in the v1 spec's names")
            .respond(
                "200",
                json("Discovery", object(vec![("issuer", string(), true)])),
            );
        let certs_op = Op::get("/v1/certs", TAG).summary("Signing keys").respond(
            "200",
            json(
                "Keys",
                object(vec![
                    ("keys", strings_or_objects(), true),
                    ("url", string(), true),
                ]),
            ),
        );
        Routes::new()
            .route(discovery_op, discovery)
            .route(certs_op, certs)
            .route(token_op(), token::token::<Self>)
            .route(device_op(), device::device_authorization::<Self>)
            .route(userinfo_op(), userinfo::get::<Self>)
            .merge(authorize)
    }

    fn owns_path(path: &str) -> bool {
        path.starts_with("/v1/")
    }

    fn client_auth(auth: &Authorization, p: &Params) -> Result<Option<ClientAuth>, OAuthError> {
        let (_account, basic) = auth.split_account();
        let client_id = required_client_id(p, basic.is_some())?;
        params::client_auth_or_assertion(
            basic,
            client_id,
            p.one("ClientSecret")?,
            p.one("ClientAssertionType")?,
            p.one("ClientAssertion")?,
        )
    }

    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError> {
        let p = input.form();
        let (account_auth, basic) = input.auth.split_account();
        // A missing client is reported before anything else.
        required_client_id(p, basic.is_some())?;
        let names = [
            "GrantType",
            "Code",
            "RedirectUri",
            "CodeVerifier",
            "RefreshToken",
            "DeviceCode",
            "Scope",
            "Audience",
            "Resource",
        ];
        let client = || Self::client_auth(&input.auth, p);
        Ok(TokenRequest {
            account_auth,
            redirect_uri_optional: true,
            ..params::token_request(p, names, client, false, Some("DeviceId"))?
        })
    }

    fn token_response(issued: &Issued) -> Response {
        let body = V1Token {
            access_token: &issued.access_token,
            refresh_token: issued.refresh_token.as_deref(),
            id_token: issued.id_token.as_deref(),
            access_token_expires_at: rfc2822(issued.access_token_expires_at()),
            refresh_token_expires_at: issued.refresh_token_expires_at.and_then(rfc2822),
            token_type: issued.token_type(),
            expires_in: issued.expires_in,
        };
        no_store_json(StatusCode::CREATED, body)
    }

    fn authorize_params(p: &Params) -> Result<AuthorizeParams, OAuthError> {
        let names = [
            "ResponseType",
            "RedirectUri",
            "Scope",
            "State",
            "Nonce",
            "Prompt",
            "CodeChallenge",
            "CodeChallengeMethod",
            "Resource",
            "AcrValues",
        ];
        params::authorize_request(p, names, || p.one_of(&["ClientId", "ClientSid"]), None)
    }

    fn device_request(input: &Input) -> Result<DeviceRequest, OAuthError> {
        let p = input.form();
        let (account_auth, basic) = input.auth.split_account();
        required_client_id(p, basic.is_some())?;
        let scopes = p.all("Scopes");
        if scopes.iter().all(|s| s.trim().is_empty()) {
            return Err(OAuthError::invalid_request("Scopes is required"));
        }
        Ok(DeviceRequest {
            client: Self::client_auth(&input.auth, p)?,
            account_auth,
            scopes,
            audiences: p.all("Audiences"),
        })
    }

    fn device_response(d: &DeviceAuthorization) -> Response {
        no_store_json(StatusCode::CREATED, DeviceBody::of(d))
    }

    /// The v1 spec's `oauth.v1.user_info`.
    fn userinfo_response(info: &UserInfo, issuer: &str) -> Response {
        let has = |s: &str| info.scopes.iter().any(|x| x == s);
        let profile = has("profile");
        let user = &info.user;
        let body = V1UserInfo {
            user_sid: user.sid.to_string(),
            first_name: user.first_name.clone().filter(|_| profile),
            last_name: user.last_name.clone().filter(|_| profile),
            friendly_name: user.friendly_name.clone().filter(|_| profile),
            email: has("email").then(|| user.email.clone()),
            url: format!("{issuer}/v1/userinfo"),
        };
        no_store_json(StatusCode::OK, body)
    }

    twilio::twilio_answers!();
}

/// `ClientSid` (or `ClientId`, the newer v1 spec's name for it), required unless HTTP Basic
/// names the client.
fn required_client_id(p: &Params, basic: bool) -> Result<Option<String>, OAuthError> {
    let id = p.one_of(&["ClientSid", "ClientId"])?;
    if id.is_none() && !basic {
        return Err(OAuthError::invalid_request("ClientSid is required"));
    }
    Ok(id)
}

/// 201 with RFC 2822 expiry dates in GMT.
#[derive(Serialize)]
struct V1Token<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    access_token_expires_at: Option<String>,
    refresh_token_expires_at: Option<String>,
    /// Twilio's newer v1 spec and SDK model read these two.
    token_type: &'static str,
    expires_in: i64,
}

#[derive(Serialize)]
struct V1UserInfo {
    user_sid: String,
    first_name: Option<String>,
    last_name: Option<String>,
    friendly_name: Option<String>,
    email: Option<String>,
    url: String,
}

/// The ID token's claims (the v1 discovery document describes ID tokens).
const ID_TOKEN_CLAIMS: [&str; 14] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "email",
    "email_verified",
];

/// `/v1/.well-known/openid-configuration` in the v1 spec's field names.
async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let iss = state.engine.issuer();
    let alg = state.engine.config().signing_algorithm.as_str();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/v1/authorize"),
        "device_authorization_endpoint": format!("{iss}/v1/device/code"),
        "token_endpoint": format!("{iss}/v1/token"),
        "userinfo_endpoint": format!("{iss}/v1/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "jwk_uri": format!("{iss}/v1/certs"),
        "response_type_supported": ["code"],
        "subject_type_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "scopes_supported": tollgate_core::authorize::OIDC_SCOPES,
        "claims_supported": ID_TOKEN_CLAIMS,
        "url": format!("{iss}/v1/.well-known/openid-configuration"),
    }))
}

async fn certs(State(state): State<AppState>) -> Response {
    let keys = state.engine.key_set();
    let url = Value::String(format!("{}/v1/certs", state.engine.issuer()));
    render::jwks_response(format!(r#"{{"keys":{},"url":{url}}}"#, keys.keys_json()))
}

fn token_op() -> Op {
    let token = object(vec![
        ("access_token", nullable_string(), true),
        ("refresh_token", nullable_string(), true),
        ("id_token", nullable_string(), true),
        ("access_token_expires_at", nullable_string(), true),
        ("refresh_token_expires_at", nullable_string(), true),
        ("token_type", string(), true),
        ("expires_in", integer(), true),
    ]);
    let fields = form(&[
        ("GrantType", true),
        ("ClientSid", false),
        ("ClientId", false),
        ("ClientSecret", false),
        ("Code", false),
        ("CodeVerifier", false),
        ("DeviceCode", false),
        ("DeviceId", false),
        ("RefreshToken", false),
        ("RedirectUri", false),
        ("Scope", false),
        ("Audience", false),
        ("Resource", false),
        ("ClientAssertionType", false),
        ("ClientAssertion", false),
    ]);
    twilio::errors(
        Op::post("/v1/token", TAG)
            .summary("Twilio OAuth v1 token (201; AccountSid:AuthToken may replace ClientSecret)")
            .body(body(vec![fields], true))
            .respond("201", json("Tokens", token)),
        twilio::ERRORS,
    )
}

fn device_op() -> Op {
    let fields = form(&[
        ("ClientSid", true),
        ("ClientSecret", false),
        ("ClientAssertionType", false),
        ("ClientAssertion", false),
        ("Scopes", true),
        ("Audiences", false),
    ]);
    let codes = json(
        "Device and user codes",
        crate::openapi::device_authorization(),
    );
    twilio::errors(
        Op::post("/v1/device/code", TAG)
            .summary("Twilio OAuth v1 device code")
            .body(body(vec![fields], true))
            .respond("201", codes),
        twilio::ERRORS,
    )
}

fn userinfo_op() -> Op {
    let info = object(vec![
        ("user_sid", string(), true),
        ("first_name", nullable_string(), true),
        ("last_name", nullable_string(), true),
        ("friendly_name", nullable_string(), true),
        ("email", nullable_string(), true),
        ("url", string(), true),
    ]);
    let op = Op::get("/v1/userinfo", TAG)
        .summary("Twilio OAuth v1 userinfo")
        .respond("200", json("The user", info));
    twilio::errors(op, &["400", "401", "403"])
}

fn authorize_op() -> Op {
    twilio::authorize_op(
        "/v1/authorize",
        TAG,
        "Twilio OAuth v1 authorize: 302 with {redirect_to}",
    )
    .query(&[
        ("ResponseType", false),
        ("ClientId", false),
        ("ClientSid", false),
        ("RedirectUri", false),
        ("Scope", false),
        ("State", false),
        ("Nonce", false),
        ("CodeChallenge", false),
        ("CodeChallengeMethod", false),
        ("Prompt", false),
    ])
}
