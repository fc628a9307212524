//! Twilio OAuth v2: `/v2/token` (form, snake_case, 200) and `/v2/authorize`, with Twilio's
//! error body.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::engine::TokenRequest;
use tollgate_core::token::Issued;

use crate::dialect::{Dialect, ErrorStyle};
use crate::extract::Input;
use crate::openapi::{
    Op, TWILIO_ERRORS, body, form, html, integer, json, nullable_string, object, redirect_to,
    string, twilio_error, twilio_or_page,
};
use crate::params::{self, Params};
use crate::render::{self, no_store_json};
use crate::routes::Routes;
use crate::{pages, token};

pub struct TwilioV2;

const TAG: &str = "twilio v2";

impl Dialect for TwilioV2 {
    const NAME: &'static str = "twilio_v2";
    const AUTHORIZE_PATH: Option<&'static str> = Some("/v2/authorize");
    const CORS_CLIENT_PATHS: &'static [&'static str] = &["/v2/token"];
    const EMPTY_BODY_IS_FORM: bool = true;

    fn routes() -> Routes {
        let authorize = Routes::new()
            .route(authorize_op(), pages::authorize::authorize::<Self>)
            .map(pages::secured);
        Routes::new()
            .route(token_op(), token::token::<Self>)
            .merge(authorize)
    }

    fn owns_path(path: &str) -> bool {
        path.starts_with("/v2/")
    }

    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError> {
        let p = input.form();
        // Twilio's SDKs send an empty Authorization header or their account credentials here.
        let (_account, basic) = input.auth.split_account();
        let account_sid = match (input.query.one("account_sid")?, p.one("account_sid")?) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_request(
                    "account_sid in the query string and in the body disagree",
                ));
            }
            (a, b) => a.or(b),
        };
        Ok(TokenRequest {
            grant_type: p.one("grant_type")?,
            client: params::snake_case_client(basic, p)?,
            account_auth: None,
            scope: p.one("scope")?,
            audience: p.one("audience")?.into_iter().collect(),
            account_sid,
            code: p.one("code")?,
            redirect_uri: p.one("redirect_uri")?,
            code_verifier: p.one("code_verifier")?,
            refresh_token: p.one("refresh_token")?,
            device_code: p.one("device_code")?,
            device_id: p.one("device_id")?,
            redirect_uri_optional: false,
            resource: p.all("resource"),
            dpop: None,
        })
    }

    /// Every field present, `null` when not issued.
    fn token_response(issued: &Issued) -> Response {
        let body = V2Token {
            access_token: &issued.access_token,
            refresh_token: issued.refresh_token.as_deref(),
            id_token: issued.id_token.as_deref(),
            token_type: issued.token_type(),
            expires_in: issued.expires_in,
        };
        no_store_json(StatusCode::OK, body)
    }

    fn authorize_params(query: &Params) -> Result<AuthorizeParams, OAuthError> {
        params::snake_case_authorize(query)
    }

    fn authorize_redirect(url: &str, issuer: &str) -> Response {
        render::twilio_redirect(url, issuer)
    }

    fn authorize_error(err: &OAuthError) -> Option<Response> {
        Some(render::twilio_error(err))
    }

    fn error_response(err: &OAuthError, _style: ErrorStyle) -> Response {
        render::twilio_error(err)
    }

    fn not_found() -> Response {
        render::twilio_not_found()
    }

    fn method_not_allowed() -> Response {
        render::twilio_method_not_allowed()
    }
}

#[derive(Serialize)]
struct V2Token<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    token_type: &'static str,
    expires_in: i64,
}

fn token_op() -> Op {
    let fields = [
        ("grant_type", true),
        ("client_id", false),
        ("client_secret", false),
        ("code", false),
        ("redirect_uri", false),
        ("audience", false),
        ("refresh_token", false),
        ("scope", false),
        ("code_verifier", false),
        ("account_sid", false),
        ("device_code", false),
        ("device_id", false),
        ("client_assertion_type", false),
        ("client_assertion", false),
        ("resource", false),
    ];
    let token = object(vec![
        ("access_token", string(), true),
        ("refresh_token", nullable_string(), true),
        ("id_token", nullable_string(), true),
        ("token_type", string(), true),
        ("expires_in", integer(), true),
    ]);
    Op::post("/v2/token", TAG)
        .summary("Twilio OAuth v2 token")
        .query(&[("account_sid", false)])
        .body(body(vec![form(&fields)], true))
        .respond("200", json("Tokens", token))
        .respond_all(TWILIO_ERRORS, &json("Twilio error", twilio_error()))
}

fn authorize_op() -> Op {
    Op::get("/v2/authorize", TAG)
        .summary("Twilio OAuth v2 authorize: 302 with {redirect_to}")
        .query(&[
            ("response_type", false),
            ("client_id", false),
            ("redirect_uri", false),
            ("scope", false),
            ("state", false),
            ("code_challenge", false),
            ("code_challenge_method", false),
            ("nonce", false),
            ("prompt", false),
        ])
        .respond("200", html("Consent page"))
        .respond("302", redirect_to())
        .respond("400", twilio_or_page())
}
