//! The pages mail links lead to: "forgot password", the new password form a reset link
//! opens, and the confirmation of an email address. The engine's mailroom decides; these
//! only read forms and render.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::mail::{EmailPurpose, ResetRefused};

use super::{CheckedForm, csrf_token, field, html, message, signed_in};
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage<'a> {
    csrf: &'a str,
    sent: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage<'a> {
    csrf: &'a str,
    token: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage<'a> {
    csrf: &'a str,
    token: &'a str,
}

const NO_MAIL: &str = "This server does not send email, so a password cannot be reset by \
     email here. Ask your administrator to set a new password for you.";
/// The one answer to every reset request, whether or not the address has an account.
const SENT: &str = "If an account uses that address, a link to choose a new password is on \
     its way to it. The link works once, for one hour.";
const BAD_LINK: &str = "This link is not valid: it was used already, it expired, or it was \
     not copied whole. Ask for a new one.";
const TOO_MANY_RESETS: &str = "Too many password reset requests. Wait a minute and try again.";
const TOO_MANY_LINKS: &str = "Too many links asked for. Wait a minute and try again.";
const CONFIRM_HEADING: &str = "Confirm your email address";

fn bad_link() -> Response {
    message(StatusCode::BAD_REQUEST, "Link not valid", BAD_LINK)
}

fn token_in(query: Option<String>) -> String {
    field(
        &Params::parse(query.unwrap_or_default().as_bytes()),
        "token",
    )
}

pub async fn forgot_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    if !state.engine.mail_configured() {
        return message(StatusCode::OK, "Reset your password", NO_MAIL);
    }
    let (jar, csrf) = csrf_token(&state, jar);
    let page = ForgotPage {
        csrf: &csrf,
        sent: None,
    };
    (jar, html(StatusCode::OK, page.render())).into_response()
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    if !state.engine.mail_configured() {
        return Ok(message(StatusCode::OK, "Reset your password", NO_MAIL));
    }
    let email = field(&form, "email").trim().to_lowercase();
    let now = state.now();
    // Both budgets are spent whether or not the address has an account.
    for key in [format!("ip:{}", peer.ip()), format!("email:{email}")] {
        if let Err(until) = state.reset_limiter.acquire(key, now) {
            return Err(PageError::TooMany(TOO_MANY_RESETS, until - now));
        }
    }
    state
        .engine
        .mailroom()
        .request_password_reset(&email)
        .await?;
    let (jar, csrf) = csrf_token(&state, jar);
    let page = ForgotPage {
        csrf: &csrf,
        sent: Some(SENT),
    };
    Ok((jar, html(StatusCode::OK, page.render())).into_response())
}

fn reset_form(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = ResetPage {
        csrf: &csrf,
        token,
        error,
    };
    (jar, html(status, page.render())).into_response()
}

/// The token of a mailed link that can still be used.
async fn usable_link(
    state: &AppState,
    query: Option<String>,
    purpose: EmailPurpose,
) -> Result<Option<String>, PageError> {
    let token = token_in(query);
    let usable = state.engine.mailroom().link_usable(purpose, &token).await?;
    Ok(usable.then_some(token))
}

pub async fn reset_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(token) = usable_link(&state, query, EmailPurpose::ResetPassword).await? else {
        return Ok(bad_link());
    };
    Ok(reset_form(&state, jar, &token, StatusCode::OK, None))
}

pub async fn reset_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let token = field(&form, "token");
    let password = field(&form, "new_password");
    let refused = |jar, error: &str| {
        let status = StatusCode::BAD_REQUEST;
        Ok(reset_form(&state, jar, &token, status, Some(error)))
    };
    if password != field(&form, "confirm_password") {
        return refused(jar, "The two passwords are not the same.");
    }
    let room = state.engine.mailroom();
    match room.reset_password(&token, password).await? {
        Ok(_) => Ok(message(
            StatusCode::OK,
            "Password changed",
            "Your password is changed and you are signed out everywhere. Sign in with the new \
             password.",
        )),
        Err(ResetRefused::Password(problem)) => refused(jar, &problem),
        Err(ResetRefused::Link) => Ok(bad_link()),
    }
}

pub async fn verify_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    // Opening the link changes nothing (mail scanners open links); the button does.
    let Some(token) = usable_link(&state, query, EmailPurpose::VerifyEmail).await? else {
        return Ok(bad_link());
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let page = VerifyPage {
        csrf: &csrf,
        token: &token,
    };
    Ok((jar, html(StatusCode::OK, page.render())).into_response())
}

pub async fn verify_submit(
    State(state): State<AppState>,
    CheckedForm { form, .. }: CheckedForm,
) -> Result<Response, PageError> {
    let room = state.engine.mailroom();
    match room.verify_email(&field(&form, "token")).await? {
        Some(user) => Ok(message(
            StatusCode::OK,
            "Email address confirmed",
            &format!("Thank you: {} is confirmed as your address.", user.email),
        )),
        None => Ok(bad_link()),
    }
}

/// The account page's "email me a link": a new verification link for the signed-in person,
/// a few a minute at most.
pub async fn verify_send(
    State(state): State<AppState>,
    CheckedForm { jar, .. }: CheckedForm,
) -> Result<Response, PageError> {
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(Redirect::to("/login?continue=%2Faccount").into_response());
    };
    if !state.engine.mail_configured() {
        let text = "This server does not send email. Ask your administrator to confirm your \
                    address.";
        return Ok(message(StatusCode::OK, CONFIRM_HEADING, text));
    }
    let now = state.now();
    let key = format!("verify:{}", who.user.sid);
    if let Err(until) = state.reset_limiter.acquire(key, now) {
        return Err(PageError::TooMany(TOO_MANY_LINKS, until - now));
    }
    let sent = state.engine.mailroom().send_verification(&who.user).await?;
    let text = if sent {
        format!(
            "A link to confirm {} is on its way. It works once, for 24 hours.",
            who.user.email
        )
    } else {
        format!("{} is confirmed already.", who.user.email)
    };
    Ok(message(StatusCode::OK, CONFIRM_HEADING, &text))
}
