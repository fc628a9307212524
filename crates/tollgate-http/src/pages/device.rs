//! The `/device` page: a signed-in person enters the code their device shows, checks what it
//! asks for and approves or denies it (RFC 8628 section 3.3).
//!
//! Every route that takes a user code shares one guessing limit, per address and per session
//! (RFC 8628 section 5.1), and a decision acts only on a code this session was shown: the
//! confirmation page carries a tag binding the code to the session.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::device::{display_user_code, normalize_user_code};
use tollgate_core::session::SignedIn;

use super::{
    CheckedForm, csrf_token, describe_scope, field, html, login_redirect, message, session_binding,
    signed_in,
};
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    csrf: &'a str,
    user_code: &'a str,
    confirm: &'a str,
    error: Option<&'a str>,
    client_name: Option<&'a str>,
    user_email: &'a str,
    scopes: Vec<String>,
}

const NOT_VALID: &str = "That code is not valid or has expired.";
const TOO_MANY_CODES: &str = "Too many wrong codes. Wait a minute and try again.";

fn continue_here(user_code: &str) -> String {
    if user_code.is_empty() {
        return "/device".to_owned();
    }
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("user_code", user_code)
        .finish();
    format!("/device?{q}")
}

/// The guessing budget of one request: its address and its session.
struct CodeAttempt {
    keys: [String; 2],
}

impl CodeAttempt {
    /// Takes one attempt from both budgets (429 when either is spent).
    fn begin(state: &AppState, peer: SocketAddr, jar: &CookieJar) -> Result<Self, PageError> {
        let now = state.now();
        let keys = [
            format!("ip:{}", peer.ip()),
            format!("session:{}", session_binding(state, jar)),
        ];
        for k in &keys {
            if let Err(until) = state.device_code_limiter.acquire(k.clone(), now) {
                return Err(PageError::TooMany(TOO_MANY_CODES, until - now));
            }
        }
        Ok(Self { keys })
    }

    /// A right code costs nothing.
    fn succeeded(self, state: &AppState) {
        for k in &self.keys {
            state.device_code_limiter.refund(k);
        }
    }
}

/// The tag that lets this session decide on `code`.
fn confirmation(state: &AppState, jar: &CookieJar, code: &str) -> String {
    let session = session_binding(state, jar);
    state
        .engine
        .page_mac(&[b"device", session.as_bytes(), code.as_bytes()])
}

/// Renders the entry form, or the confirmation when `typed` names a waiting grant.
async fn render_device(
    state: &AppState,
    jar: CookieJar,
    who: &SignedIn,
    typed: &str,
    attempt: Option<CodeAttempt>,
) -> Result<Response, PageError> {
    let found = match &attempt {
        Some(_) => state.engine.pending_device_grant(typed).await?,
        None => None,
    };
    let (jar, csrf) = csrf_token(state, jar);
    let mut page = DevicePage {
        csrf: &csrf,
        user_code: typed,
        confirm: "",
        error: None,
        client_name: None,
        user_email: &who.user.email,
        scopes: Vec::new(),
    };
    let (display, confirm);
    let status = match (&found, attempt) {
        (Some((grant, client)), Some(attempt)) => {
            attempt.succeeded(state);
            display = display_user_code(&grant.user_code);
            confirm = confirmation(state, &jar, &grant.user_code);
            page.user_code = &display;
            page.confirm = &confirm;
            page.client_name = Some(&client.friendly_name);
            page.scopes = grant.scopes.iter().map(|s| describe_scope(s)).collect();
            StatusCode::OK
        }
        (_, Some(_)) => {
            page.error = Some(NOT_VALID);
            StatusCode::BAD_REQUEST
        }
        (_, None) => StatusCode::OK,
    };
    Ok((jar, html(status, page.render())).into_response())
}

pub async fn device_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let typed = field(&q, "user_code");
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(login_redirect(&continue_here(&typed)));
    };
    let attempt = match typed.is_empty() {
        true => None,
        false => Some(CodeAttempt::begin(&state, peer, &jar)?),
    };
    render_device(&state, jar, &who, &typed, attempt).await
}

pub async fn device_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let typed = field(&form, "user_code");
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(login_redirect(&continue_here(&typed)));
    };
    let attempt = CodeAttempt::begin(&state, peer, &jar)?;
    render_device(&state, jar, &who, &typed, Some(attempt)).await
}

pub async fn device_decision(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(login_redirect("/device"));
    };
    let attempt = CodeAttempt::begin(&state, peer, &jar)?;
    let code = normalize_user_code(&field(&form, "user_code")).unwrap_or_default();
    let session = session_binding(&state, &jar);
    let parts: [&[u8]; 3] = [b"device", session.as_bytes(), code.as_bytes()];
    // Only a code this session entered and was shown may be decided on.
    if !state
        .engine
        .verify_page_mac(&parts, &field(&form, "confirm"))
    {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Code not confirmed",
            "Enter the code shown on your device and confirm it on this page first.",
        ));
    }
    let approve = field(&form, "decision") == "approve";
    let page = match state.engine.decide_device(&code, approve, &who).await? {
        true if approve => message(
            StatusCode::OK,
            "Device connected",
            "You may now return to your device.",
        ),
        true => message(
            StatusCode::OK,
            "Request denied",
            "The device was not given access.",
        ),
        false => message(
            StatusCode::BAD_REQUEST,
            "Code expired",
            "That code is not valid any more. Start again on your device.",
        ),
    };
    attempt.succeeded(&state);
    Ok(page)
}
