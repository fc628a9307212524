//! The `/device` page: a signed-in person enters the code their device shows, checks what it
//! asks for and approves or denies it (RFC 8628 section 3.3).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::device::display_user_code;
use tollgate_core::secret::SecretDigest;
use tollgate_core::session::SignedIn;

use super::{
    CheckedForm, SESSION_COOKIE, csrf_token, describe_scope, field, html, login_redirect, message,
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

/// Renders the entry form, or the confirmation when `typed` names a waiting grant.
async fn render_device(
    state: &AppState,
    jar: CookieJar,
    who: &SignedIn,
    typed: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar);
    let found = if typed.is_empty() || error.is_some() {
        None
    } else {
        state.engine.pending_device_grant(typed).await?
    };
    let mut page = DevicePage {
        csrf: &csrf,
        user_code: typed,
        error,
        client_name: None,
        user_email: &who.user.email,
        scopes: Vec::new(),
    };
    let display;
    let status = match &found {
        Some((grant, client)) => {
            display = display_user_code(&grant.user_code);
            page.user_code = &display;
            page.client_name = Some(&client.friendly_name);
            page.scopes = grant.scopes.iter().map(|s| describe_scope(s)).collect();
            StatusCode::OK
        }
        None => {
            page.error = error.or((!typed.is_empty()).then_some(NOT_VALID));
            if page.error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            }
        }
    };
    Ok((jar, html(status, page.render())).into_response())
}

pub async fn device_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let typed = field(&q, "user_code");
    match signed_in(&state, &jar).await? {
        Some(who) => render_device(&state, jar, &who, &typed, None).await,
        None => Ok(login_redirect(&continue_here(&typed))),
    }
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
    // Guessing codes is limited per address and per session.
    let now = state.now();
    let session = jar
        .get(SESSION_COOKIE)
        .map(|c| SecretDigest::of(c.value()).to_hex())
        .unwrap_or_default();
    let keys = [format!("ip:{}", peer.ip()), format!("session:{session}")];
    let limiter = &state.device_code_limiter;
    if keys.iter().any(|k| limiter.check(k.clone(), now).is_err()) {
        return Err(PageError::TooMany(TOO_MANY_CODES));
    }
    if state.engine.pending_device_grant(&typed).await?.is_some() {
        return render_device(&state, jar, &who, &typed, None).await;
    }
    let mut blocked = false;
    for k in keys {
        blocked |= limiter.failed(k, now).is_some();
    }
    if blocked {
        return Err(PageError::TooMany(TOO_MANY_CODES));
    }
    render_device(&state, jar, &who, &typed, Some(NOT_VALID)).await
}

pub async fn device_decision(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(login_redirect("/device"));
    };
    let approve = field(&form, "decision") == "approve";
    let code = field(&form, "user_code");
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
    Ok(page)
}
