//! `/demo/callback`: where `serve --demo`'s authorization URL lands, so a newcomer sees the code
//! and the exact command that redeems it instead of a page nobody serves.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{field, html};
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

/// The demo app's redirect path.
pub const CALLBACK_PATH: &str = "/demo/callback";

pub use crate::state::DemoApp;

#[derive(Template)]
#[template(path = "demo_callback.html")]
struct CallbackPage<'a> {
    code: &'a str,
    command: &'a str,
    error: Option<&'a str>,
}

pub async fn callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(demo) = state.demo_app() else {
        return Err(PageError::Message {
            status: StatusCode::NOT_FOUND,
            heading: "Not found",
            text: "This server was not started with --demo.".into(),
        });
    };
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let code = field(&q, "code");
    let error = Some(field(&q, "error")).filter(|e| !e.is_empty());
    let issuer = state.engine.issuer();
    let command = format!(
        "curl -s -u '{}:{}' -d grant_type=authorization_code \\\n  --data-urlencode 'code={code}' \\\n  --data-urlencode 'redirect_uri={issuer}{CALLBACK_PATH}' \\\n  {issuer}/oauth/token",
        demo.client_id, demo.client_secret
    );
    let page = CallbackPage {
        code: &code,
        command: &command,
        error: error.as_deref(),
    };
    Ok(html(StatusCode::OK, page.render()))
}
