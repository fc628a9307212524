//! The second step of a sign-in: a one-time or recovery code, or, when the user's policy
//! requires a second factor and none is set up, its setup. Between the password and this
//! step the browser holds no session, only a short-lived token naming the user, bound to its
//! CSRF cookie.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::ids::UserSid;
use tollgate_core::model::{Authn, User};
use tollgate_core::second_factor::{SecondFactorCheck, TotpSetup};

use super::passkeys::PasskeyForm;
use super::{
    CSRF_COOKIE, CheckedForm, SESSION_COOKIE, cookie, cookie_name, csrf_token, field, html,
    safe_continue, session_value,
};
use crate::error::PageError;
use crate::state::AppState;

/// How long the second step may take after the password.
const PENDING_SECS: i64 = 600;

const TOO_MANY_CODES: &str =
    "Too many wrong codes for this account. Wait a few minutes and try again.";

#[derive(Template)]
#[template(path = "second_factor.html")]
struct CodePage<'a> {
    csrf: &'a str,
    continue_to: &'a str,
    pending: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    passkey: Option<PasskeyForm>,
    /// One-time codes are set up (else only the passkey is offered).
    codes: bool,
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
pub(crate) struct SetupPage<'a> {
    pub csrf: &'a str,
    pub continue_to: &'a str,
    pub pending: &'a str,
    pub setup: &'a str,
    pub key: &'a str,
    pub qr_svg: &'a str,
    pub action: &'a str,
    pub forced: bool,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub(crate) struct RecoveryCodesPage<'a> {
    pub codes: &'a [String],
    pub next: &'a str,
}

pub(crate) fn csrf_nonce(state: &AppState, jar: &CookieJar) -> String {
    jar.get(&cookie_name(state, CSRF_COOKIE))
        .map(|c| c.value().to_owned())
        .unwrap_or_default()
}

fn pending_mac(state: &AppState, sid: &str, at: &str, nonce: &str) -> String {
    state.engine.page_mac(&[
        b"pending-sign-in",
        sid.as_bytes(),
        at.as_bytes(),
        nonce.as_bytes(),
    ])
}

/// A token saying `user` gave the right password now, in this browser.
fn pending_token(state: &AppState, jar: &CookieJar, user: &User) -> String {
    let at = state.now().to_string();
    let sid = user.sid.as_str();
    let mac = pending_mac(state, sid, &at, &csrf_nonce(state, jar));
    format!("{sid}.{at}.{mac}")
}

/// The user a pending token names, if it is genuine, this browser's and recent.
pub(crate) async fn pending_user(
    state: &AppState,
    jar: &CookieJar,
    token: &str,
) -> Result<Option<User>, PageError> {
    let mut parts = token.splitn(3, '.');
    let (Some(sid), Some(at), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let nonce = csrf_nonce(state, jar);
    let genuine = state.engine.verify_page_mac(
        &[
            b"pending-sign-in",
            sid.as_bytes(),
            at.as_bytes(),
            nonce.as_bytes(),
        ],
        mac,
    );
    let fresh = at
        .parse::<i64>()
        .is_ok_and(|t| t <= state.now() && state.now() - t < PENDING_SECS);
    if !genuine || !fresh {
        return Ok(None);
    }
    let Ok(sid) = UserSid::parse(sid) else {
        return Ok(None);
    };
    Ok(state.engine.user_by_sid(&sid).await?)
}

pub(crate) fn expired() -> PageError {
    PageError::Message {
        status: StatusCode::BAD_REQUEST,
        heading: "Sign-in expired",
        text: "This sign-in took too long or was started in another browser. Sign in again.".into(),
    }
}

/// The QR code of an `otpauth://` URI as inline SVG (no external service, no script).
pub(crate) fn qr_svg(uri: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| PageError::Server(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    // The renderer starts with an XML declaration, which does not belong inside HTML.
    Ok(svg
        .find("<svg")
        .map_or(svg.as_str(), |i| &svg[i..])
        .to_owned())
}

/// The setup page for `setup`, posting to `action`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn setup_page(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    setup: &TotpSetup,
    action: &str,
    continue_to: &str,
    pending: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar);
    let qr = qr_svg(&state.engine.otpauth_uri(user, setup))?;
    let page = SetupPage {
        csrf: &csrf,
        continue_to,
        pending,
        setup: &setup.sealed,
        key: &setup.base32(),
        qr_svg: &qr,
        action,
        forced: !pending.is_empty(),
        error,
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    Ok((jar, html(status, page.render())).into_response())
}

/// After the password: the code page, or the setup page when the policy forces one.
pub(crate) async fn second_step(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    enrol: bool,
    continue_to: &str,
) -> Result<Response, PageError> {
    let pending = pending_token(state, &jar, user);
    if enrol {
        let setup = state.engine.new_totp_setup(user)?;
        return setup_page(
            state,
            jar,
            user,
            &setup,
            "/login/setup",
            continue_to,
            &pending,
            None,
        );
    }
    code_page(
        state,
        jar,
        user,
        &pending,
        continue_to,
        None,
        StatusCode::OK,
    )
    .await
}

/// The code page, with a passkey form when the user has passkeys.
pub(crate) async fn code_page(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    pending: &str,
    continue_to: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (jar, csrf) = csrf_token(state, jar);
    let passkey = state
        .engine
        .start_passkey_second_factor(user, &csrf_nonce(state, &jar))
        .await?
        .map(PasskeyForm::from);
    let script = passkey.is_some();
    let codes = state.engine.sign_in_settings(user).await?.has_totp() || !script;
    let page = CodePage {
        csrf: &csrf,
        continue_to,
        pending,
        email: &user.email,
        error,
        passkey,
        codes,
    };
    Ok(super::passkeys::page(jar, status, page.render(), script))
}

/// Opens the session for a finished sign-in, ending the one this browser held.
pub(crate) async fn finish(
    state: &AppState,
    jar: CookieJar,
    user: User,
    authn: Authn,
) -> Result<CookieJar, PageError> {
    if let Some(old) = session_value(state, &jar) {
        state.engine.logout(&old).await?;
    }
    let (secret, _) = state.engine.open_session(user, authn).await?;
    let max_age = i64::from(state.engine.config().session_lifetime_secs);
    let value = secret.expose().to_owned();
    Ok(jar.add(cookie(state, SESSION_COOKIE, value, Some(max_age))))
}

/// Opens the session, then continues to `target` (or home).
pub(crate) async fn finish_to(
    state: &AppState,
    jar: CookieJar,
    user: User,
    authn: Authn,
    target: &str,
) -> Result<Response, PageError> {
    let jar = finish(state, jar, user, authn).await?;
    let to = if target.is_empty() { "/" } else { target };
    Ok((jar, Redirect::to(to)).into_response())
}

/// A second step's form: where to continue, its pending token and the user it names.
pub(crate) async fn pending_sign_in(
    state: &AppState,
    jar: &CookieJar,
    form: &crate::params::Params,
) -> Result<(String, String, User), PageError> {
    let target = continue_target(state, form);
    let pending = field(form, "pending");
    let Some(user) = pending_user(state, jar, &pending).await? else {
        return Err(expired());
    };
    Ok((target, pending, user))
}

pub(crate) fn continue_target(state: &AppState, form: &crate::params::Params) -> String {
    Some(field(form, "continue"))
        .filter(|t| safe_continue(state, t))
        .unwrap_or_default()
}

pub async fn code_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let (target, pending, user) = pending_sign_in(&state, &jar, &form).await?;
    let now = state.now();
    // The address's failures count too, as for passwords.
    let ip = peer.ip();
    if let Err(until) = state.auth_limiter.acquire(ip, now) {
        return Err(PageError::TooMany(TOO_MANY_CODES, until - now));
    }
    match state
        .engine
        .check_second_factor(&user, &field(&form, "code"))
        .await?
    {
        SecondFactorCheck::Accepted => {
            state.auth_limiter.refund(&ip);
            finish_to(&state, jar, user, Authn::password_and_otp(), &target).await
        }
        SecondFactorCheck::Wrong => {
            code_page(
                &state,
                jar,
                &user,
                &pending,
                &target,
                Some("That code is not right. Try the current code from your app."),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        SecondFactorCheck::Locked { until } => Err(PageError::TooMany(TOO_MANY_CODES, until - now)),
    }
}

/// The setup a confirmation form carries, if it was made for `user`.
pub(crate) fn carried_setup(
    state: &AppState,
    user: &User,
    form: &crate::params::Params,
) -> Result<TotpSetup, PageError> {
    state
        .engine
        .open_totp_setup(user, &field(form, "setup"))
        .ok_or_else(|| PageError::bad_request("The setup form was altered. Start again."))
}

pub async fn setup_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let (target, pending, user) = pending_sign_in(&state, &jar, &form).await?;
    let setup = carried_setup(&state, &user, &form)?;
    let Some(codes) = state
        .engine
        .confirm_totp(&user, &setup, &field(&form, "code"))
        .await?
    else {
        let error = Some("That code is not right. Check the app shows this key and try again.");
        return setup_page(
            &state,
            jar,
            &user,
            &setup,
            "/login/setup",
            &target,
            &pending,
            error,
        );
    };
    let jar = finish(&state, jar, user, Authn::password_and_otp()).await?;
    let next = if target.is_empty() { "/" } else { &target };
    let page = RecoveryCodesPage {
        codes: &codes,
        next,
    };
    Ok((jar, html(StatusCode::OK, page.render())).into_response())
}
