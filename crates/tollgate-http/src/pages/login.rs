//! Sign-in, the home page and sign-out.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::session::SignIn;

use super::{
    CheckedForm, MessagePage, SESSION_COOKIE, cookie, csrf_token, field, html, message,
    safe_continue, session_value, signed_in,
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
    /// Offer the password reset (only when mail goes out).
    forgot: bool,
    passkey: Option<super::passkeys::PasskeyForm>,
}

const TOO_MANY_SIGN_INS: &str =
    "Too many failed sign-ins from your network. Wait a minute and try again.";

pub async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let target = Some(field(&q, "continue"))
        .filter(|t| safe_continue(&state, t))
        .unwrap_or_default();
    login_form(&state, jar, &target, "", None).await
}

/// The sign-in page: email and password, and a passkey where the server can offer them.
pub(crate) async fn login_form(
    state: &AppState,
    jar: CookieJar,
    target: &str,
    email: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar);
    let passkey = super::passkeys::sign_in_form(state, &jar);
    let script = passkey.is_some();
    let page = LoginPage {
        csrf: &csrf,
        continue_to: target,
        email,
        error,
        forgot: state.engine.mail_configured(),
        passkey,
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = (jar, html(status, page.render())).into_response();
    // Signing in may end on the client's redirect URI (consent already given).
    let csp = match super::authorize::redirect_target(state, target).await {
        Some(uri) => super::csp_allowing(&uri),
        None => None,
    };
    Ok(if script {
        super::passkeys::allow_script(page, csp)
    } else {
        super::with_csp(page, csp)
    })
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
    // Counted before the password is checked, refunded on success: concurrent guesses cannot
    // all be checked before the first failure counts.
    let ip = peer.ip();
    if let Err(until) = state.auth_limiter.acquire(ip, now) {
        return Err(PageError::TooMany(TOO_MANY_SIGN_INS, until - now));
    }
    let email = field(&form, "email");
    let outcome = state.engine.login(&email, &field(&form, "password")).await;
    if !matches!(outcome, Ok(Err(_))) {
        state.auth_limiter.refund(&ip);
    }
    match outcome? {
        Ok(SignIn::SecondFactor { user, enrol }) => {
            super::second_factor::second_step(&state, jar, &user, enrol, &target).await
        }
        Ok(SignIn::Done(secret, _)) => {
            // A new session on every sign-in, and the one this browser held is ended: a
            // session id planted or seen before the sign-in is worth nothing after it.
            if let Some(old) = session_value(&state, &jar) {
                state.engine.logout(&old).await?;
            }
            let max_age = i64::from(state.engine.config().session_lifetime_secs);
            let session = secret.expose().to_owned();
            let jar = jar.add(cookie(&state, SESSION_COOKIE, session, Some(max_age)));
            let to = if target.is_empty() { "/" } else { &target };
            Ok((jar, Redirect::to(to)).into_response())
        }
        Err(_) => {
            let error = Some("Wrong email or password.");
            login_form(&state, jar, &target, &email, error).await
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
        console: who.user.admin,
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
    if let Some(session) = session_value(&state, &jar) {
        state.engine.logout(&session).await?;
    }
    let jar = jar.remove(cookie(&state, SESSION_COOKIE, String::new(), None));
    let page = message(StatusCode::OK, "Signed out", "You are signed out.");
    Ok((jar, page).into_response())
}
