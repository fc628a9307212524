//! Passkey forms: sign in with a passkey alone, use one as the second factor after a password,
//! and add or delete passkeys on the account page. Each form carries its ceremony's options
//! and sealed state; the static script `/assets/passkeys.js` makes the WebAuthn call and posts
//! the answer in the same CSRF-checked form (the only script on any page).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::passkey::{Ceremony, PasskeyRefused};

use super::second_factor::{self, continue_target, csrf_nonce};
use super::{CSP, CheckedForm, field};
use crate::error::PageError;
use crate::state::AppState;

/// A passkey form's options (JSON for `navigator.credentials`) and sealed ceremony.
pub(crate) struct PasskeyForm {
    pub options: String,
    pub ceremony: String,
}

impl From<Ceremony> for PasskeyForm {
    fn from(c: Ceremony) -> Self {
        Self {
            options: c.options,
            ceremony: c.sealed,
        }
    }
}

/// The pages' CSP (or `base`, one that already widens it) with the passkey script allowed.
pub(crate) fn allow_script(mut resp: Response, base: Option<HeaderValue>) -> Response {
    let base = base
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or(CSP)
        .to_owned();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}; script-src 'self'")) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// A rendered page; with the passkey script allowed when it has a passkey form.
pub(crate) fn page(
    jar: CookieJar,
    status: StatusCode,
    body: Result<String, askama::Error>,
    script: bool,
) -> Response {
    let resp = (jar, super::html(status, body)).into_response();
    if script {
        allow_script(resp, None)
    } else {
        resp
    }
}

pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../passkeys.js"),
    )
        .into_response()
}

/// The login page's passkey form, bound to this browser (`None` when the issuer has no host
/// name WebAuthn accepts).
pub(crate) fn sign_in_form(state: &AppState, jar: &CookieJar) -> Option<PasskeyForm> {
    state
        .engine
        .start_passkey_sign_in(&csrf_nonce(state, jar))
        .ok()
        .map(PasskeyForm::from)
}

fn refusal(why: PasskeyRefused) -> &'static str {
    match why {
        PasskeyRefused::Expired => "That passkey request expired or was already used. Try again.",
        PasskeyRefused::Invalid => "That passkey was not accepted.",
        PasskeyRefused::Duplicate => "That passkey is already registered.",
    }
}

const NO_SCRIPT: &str = "Passkeys need JavaScript and a browser that supports them.";
const TOO_MANY: &str = "Too many failed sign-ins from your network. Wait a minute and try again.";

/// Sign-in with a passkey alone.
pub async fn sign_in_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let target = continue_target(&state, &form);
    let credential = field(&form, "credential");
    if credential.is_empty() {
        return super::login::login_form(&state, jar, &target, "", Some(NO_SCRIPT)).await;
    }
    let (ip, now) = (peer.ip(), state.now());
    if let Err(until) = state.auth_limiter.acquire(ip, now) {
        return Err(PageError::TooMany(TOO_MANY, until - now));
    }
    let nonce = csrf_nonce(&state, &jar);
    let outcome = state
        .engine
        .finish_passkey_sign_in(&nonce, &field(&form, "ceremony"), &credential)
        .await?;
    match outcome {
        Ok((user, authn)) => {
            state.auth_limiter.refund(&ip);
            second_factor::finish_to(&state, jar, user, authn, &target).await
        }
        Err(why) => super::login::login_form(&state, jar, &target, "", Some(refusal(why))).await,
    }
}

/// A passkey as the second factor after the password.
pub async fn second_factor_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let (target, pending, user) = second_factor::pending_sign_in(&state, &jar, &form).await?;
    let credential = field(&form, "credential");
    let outcome = if credential.is_empty() {
        Err(NO_SCRIPT)
    } else {
        let nonce = csrf_nonce(&state, &jar);
        state
            .engine
            .finish_passkey_second_factor(&user, &nonce, &field(&form, "ceremony"), &credential)
            .await?
            .map_err(refusal)
    };
    match outcome {
        Ok(authn) => second_factor::finish_to(&state, jar, user, authn, &target).await,
        Err(text) => {
            second_factor::code_page(
                &state,
                jar,
                &user,
                &pending,
                &target,
                Some(text),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
    }
}

/// Adds a passkey from the account page.
pub async fn register_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = super::account::signed_in_or_return!(&state, &jar, super::account::PATH);
    let credential = field(&form, "credential");
    let notice = if credential.is_empty() {
        NO_SCRIPT
    } else {
        let nonce = csrf_nonce(&state, &jar);
        match state
            .engine
            .finish_passkey_registration(
                &who.user,
                &nonce,
                &field(&form, "ceremony"),
                &credential,
                &field(&form, "name"),
            )
            .await?
        {
            Ok(_) => "Your passkey is added.",
            Err(why) => refusal(why),
        }
    };
    super::account::render(&state, jar, &who, Some(notice), None).await
}

pub async fn delete_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = super::account::signed_in_or_return!(&state, &jar, super::account::PATH);
    if !state
        .engine
        .delete_passkey(&who.user, &field(&form, "credential_id"))
        .await?
    {
        return Err(PageError::bad_request("That passkey is not one of yours."));
    }
    let notice = Some("The passkey is deleted.");
    super::account::render(&state, jar, &who, notice, None).await
}
