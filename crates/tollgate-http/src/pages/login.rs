//! Sign-in, the home page and sign-out.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use super::{
    CheckedForm, MessagePage, SESSION_COOKIE, cookie, csrf_token, field, html, message,
    safe_continue, signed_in,
};
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    continue_to: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

const TOO_MANY_SIGN_INS: &str =
    "Too many failed sign-ins from your network. Wait a minute and try again.";

pub async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let target = Some(field(&q, "continue"))
        .filter(|t| safe_continue(&state, t))
        .unwrap_or_default();
    let (jar, csrf) = csrf_token(&state, jar);
    let page = LoginPage {
        csrf: &csrf,
        continue_to: &target,
        email: "",
        error: None,
    };
    (jar, html(StatusCode::OK, page.render())).into_response()
}

pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let target = Some(field(&form, "continue"))
        .filter(|t| safe_continue(&state, t))
        .unwrap_or_default();
    let now = state.now();
    if state.auth_limiter.check(peer.ip(), now).is_err() {
        return Err(PageError::TooMany(TOO_MANY_SIGN_INS));
    }
    let email = field(&form, "email");
    match state
        .engine
        .login(&email, &field(&form, "password"))
        .await?
    {
        Ok((secret, _)) => {
            let max_age = i64::from(state.engine.config().session_lifetime_secs);
            let session = secret.expose().to_owned();
            let jar = jar.add(cookie(&state, SESSION_COOKIE, session, Some(max_age)));
            let to = if target.is_empty() { "/" } else { &target };
            Ok((jar, Redirect::to(to)).into_response())
        }
        Err(_) => {
            if state.auth_limiter.failed(peer.ip(), now).is_some() {
                return Err(PageError::TooMany(TOO_MANY_SIGN_INS));
            }
            let (jar, csrf) = csrf_token(&state, jar);
            let page = LoginPage {
                csrf: &csrf,
                continue_to: &target,
                email: &email,
                error: Some("Wrong email or password."),
            };
            Ok((jar, html(StatusCode::UNAUTHORIZED, page.render())).into_response())
        }
    }
}

pub async fn home(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(message(
            StatusCode::OK,
            "Tollgate",
            "You are not signed in.",
        ));
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let text = format!("You are signed in as {}.", who.user.email);
    let page = MessagePage {
        heading: "Tollgate",
        message: &text,
        logout_csrf: Some(&csrf),
    };
    Ok((jar, html(StatusCode::OK, page.render())).into_response())
}

pub async fn logout_page(state: State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    home(state, jar).await
}

pub async fn logout_submit(
    State(state): State<AppState>,
    CheckedForm { jar, .. }: CheckedForm,
) -> Result<Response, PageError> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        state.engine.logout(c.value()).await?;
    }
    let jar = jar.remove(cookie(&state, SESSION_COOKIE, String::new(), None));
    let page = message(StatusCode::OK, "Signed out", "You are signed out.");
    Ok((jar, page).into_response())
}
