//! Twilio OAuth v2: `/v2/token` (form, snake_case, 200) and `/v2/authorize`, with Twilio's
//! error body.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;
use tollgate_core::OAuthError;
use tollgate_core::authorize::AuthorizeParams;
use tollgate_core::engine::TokenRequest;
use tollgate_core::token::Issued;

use crate::dialect::{Dialect, ErrorStyle};
use crate::extract::Input;
use crate::params::{self, Params};
use crate::render::{self, no_store_json};
use crate::state::AppState;
use crate::{pages, token};

pub struct TwilioV2;

impl Dialect for TwilioV2 {
    const NAME: &'static str = "twilio_v2";
    const AUTHORIZE_PATH: Option<&'static str> = Some("/v2/authorize");
    const EMPTY_BODY_IS_FORM: bool = true;

    fn routes() -> Router<AppState> {
        let authorize =
            Router::new().route("/v2/authorize", get(pages::authorize::authorize::<Self>));
        Router::new()
            .route("/v2/token", post(token::token::<Self>))
            .merge(pages::secured(authorize))
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
            client: params::client_auth(basic, p.one("client_id")?, p.one("client_secret")?)?,
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
        })
    }

    /// Every field present, `null` when not issued.
    fn token_response(issued: &Issued) -> Response {
        let body = V2Token {
            access_token: &issued.access_token,
            refresh_token: issued.refresh_token.as_deref(),
            id_token: issued.id_token.as_deref(),
            token_type: "Bearer",
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
