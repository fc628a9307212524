//! Twilio OAuth v2: `/v2/token` (form, snake_case, 200) and `/v2/authorize`, with Twilio's
//! error body.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::token::Issued;

use super::twilio;
use crate::dialect::Dialect;
use crate::extract::Input;
use crate::openapi::{Op, body, form, integer, json, nullable_string, object, string};
use crate::params::{self, Authorization, Params};
use crate::render::no_store_json;
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

    fn client_auth(auth: &Authorization, form: &Params) -> Result<Option<ClientAuth>, OAuthError> {
        // Twilio's SDKs send an empty Authorization header or their account credentials here.
        let (_account, basic) = auth.split_account();
        params::snake_case_client(basic, form)
    }

    fn token_request(input: &Input) -> Result<TokenRequest, OAuthError> {
        let p = input.form();
        let account_sid = match (input.query.one("account_sid")?, p.one("account_sid")?) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_request(
                    "account_sid in the query string and in the body disagree",
                ));
            }
            (a, b) => a.or(b),
        };
        let client = || Self::client_auth(&input.auth, p);
        let device_id = Some("device_id");
        Ok(TokenRequest {
            account_sid,
            ..params::token_request(p, params::SNAKE_CASE_TOKEN, client, false, device_id)?
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

    twilio::twilio_answers!();
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
    let op = Op::post("/v2/token", TAG)
        .summary("Twilio OAuth v2 token")
        .query(&[("account_sid", false)])
        .body(body(vec![form(&fields)], true))
        .respond("200", json("Tokens", token));
    twilio::errors(op, twilio::ERRORS)
}

fn authorize_op() -> Op {
    twilio::authorize_op(
        "/v2/authorize",
        TAG,
        "Twilio OAuth v2 authorize: 302 with {redirect_to}",
    )
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
}
