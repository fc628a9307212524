//! `/account`: the signed-in person's own page: their profile, password change, second
//! factor (set up one-time codes, with recovery codes shown once, or remove them), sessions
//! (sign out one or all others) and the apps they granted (revoke).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::account::PasswordChangeError;
use tollgate_core::ids::ClientId;
use tollgate_core::model::{Authn, SignInPolicy};
use tollgate_core::session::SignedIn;

use super::console::when;
use super::second_factor::{RecoveryCodesPage, carried_setup, setup_page};
use super::{
    CheckedForm, SESSION_COOKIE, cookie, csrf_token, describe_scope, field, html, login_redirect,
    signed_in,
};
use crate::error::PageError;
use crate::state::AppState;

pub const PATH: &str = "/account";
const SETUP_PATH: &str = "/account/two-factor";

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    csrf: &'a str,
    notice: Option<&'a str>,
    email: &'a str,
    email_verified: bool,
    name: Option<String>,
    password_only: bool,
    required: bool,
    has_totp: bool,
    recovery_left: i64,
    password_error: Option<&'a str>,
    sessions: Vec<SessionRow>,
    apps: Vec<AppRow>,
    passkeys: Vec<PasskeyRow>,
    passkey: Option<super::passkeys::PasskeyForm>,
}

struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    last_used: String,
    kind: &'static str,
}

struct SessionRow {
    id: String,
    signed_in: String,
    last_seen: String,
    method: &'static str,
    current: bool,
}

struct AppRow {
    client_id: String,
    name: String,
    scopes: String,
    granted: String,
}

/// Whether `target` is one of the account pages (sign-in may continue to them).
pub(crate) fn is_account_path(target: &str) -> bool {
    target == PATH || target == SETUP_PATH
}

/// The signed-in person; otherwise the handler answers with the redirect to sign in, then
/// back to `$back`.
macro_rules! signed_in_or_return {
    ($state:expr, $jar:expr, $back:expr) => {
        match $crate::pages::account::who($state, $jar, $back).await {
            Ok(w) => w,
            Err(r) => return Ok(r),
        }
    };
}
pub(crate) use signed_in_or_return;

pub(crate) async fn who(
    state: &AppState,
    jar: &CookieJar,
    back: &str,
) -> Result<SignedIn, Response> {
    match signed_in(state, jar).await {
        Ok(Some(w)) => Ok(w),
        Ok(None) => Err(login_redirect(back)),
        Err(e) => Err(e.into_response()),
    }
}

/// Each item as a row of the page.
fn rows<T, R>(items: Vec<T>, row: impl FnMut(T) -> R) -> Vec<R> {
    items.into_iter().map(row).collect()
}

/// The person's unexpired browser sessions, this one marked.
async fn session_rows(state: &AppState, who: &SignedIn) -> Result<Vec<SessionRow>, PageError> {
    let sessions = state.engine.account_sessions(who).await?;
    Ok(rows(sessions, |s| SessionRow {
        id: s.digest.to_hex(),
        signed_in: when(s.auth_time),
        last_seen: when(s.last_seen_at),
        method: Authn { amr: s.amr }.describe(),
        current: s.digest == who.session.digest,
    }))
}

/// The apps the person consented to, with what each may do.
async fn app_rows(state: &AppState, who: &SignedIn) -> Result<Vec<AppRow>, PageError> {
    let apps = state.engine.granted_apps(who).await?;
    Ok(rows(apps, |a| AppRow {
        client_id: a.client_id.to_string(),
        name: a.name,
        scopes: a
            .scopes
            .iter()
            .map(|s| describe_scope(s))
            .collect::<Vec<_>>()
            .join("; "),
        granted: when(a.granted_at),
    }))
}

/// The person's passkeys.
async fn passkey_rows(state: &AppState, who: &SignedIn) -> Result<Vec<PasskeyRow>, PageError> {
    let passkeys = state.engine.list_passkeys(&who.user).await?;
    Ok(rows(passkeys, |k| PasskeyRow {
        id: k.credential_id,
        name: k.name,
        added: when(k.created_at),
        last_used: k.last_used_at.map_or_else(|| "Never".to_owned(), when),
        kind: if k.backup_eligible {
            "Synced"
        } else {
            "This device only"
        },
    }))
}

pub(crate) async fn render(
    state: &AppState,
    jar: CookieJar,
    who: &SignedIn,
    notice: Option<&str>,
    password_error: Option<&str>,
) -> Result<Response, PageError> {
    let settings = state.engine.sign_in_settings(&who.user).await?;
    let sessions = session_rows(state, who).await?;
    let apps = app_rows(state, who).await?;
    let status = if password_error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let passkeys = passkey_rows(state, who).await?;
    let (jar, csrf) = csrf_token(state, jar);
    let passkey = if state.engine.passkeys_available() {
        let nonce = super::second_factor::csrf_nonce(state, &jar);
        let ceremony = state
            .engine
            .start_passkey_registration(&who.user, &nonce)
            .await?;
        Some(super::passkeys::PasskeyForm::from(ceremony))
    } else {
        None
    };
    let script = passkey.is_some();
    let page = AccountPage {
        csrf: &csrf,
        notice,
        email: &who.user.email,
        email_verified: who.user.email_verified,
        name: who.user.display_name(),
        password_only: settings.policy == SignInPolicy::Password,
        required: settings.policy == SignInPolicy::Required,
        has_totp: settings.has_totp(),
        recovery_left: settings.recovery_codes_left,
        password_error,
        sessions,
        apps,
        passkeys,
        passkey,
    };
    Ok(super::passkeys::page(jar, status, page.render(), script))
}

pub async fn account_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, PATH);
    render(&state, jar, &who, None, None).await
}

pub async fn setup_page_get(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, SETUP_PATH);
    let settings = state.engine.sign_in_settings(&who.user).await?;
    if settings.policy == SignInPolicy::Password {
        return Err(PageError::bad_request(
            "Your account signs in with a password only.",
        ));
    }
    let setup = state.engine.new_totp_setup(&who.user)?;
    setup_page(&state, jar, &who.user, &setup, SETUP_PATH, "", "", None)
}

pub async fn setup_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, SETUP_PATH);
    let setup = carried_setup(&state, &who.user, &form)?;
    let Some(codes) = state
        .engine
        .confirm_totp(&who.user, &setup, &field(&form, "code"))
        .await?
    else {
        let error = Some("That code is not right. Check the app shows this key and try again.");
        return setup_page(&state, jar, &who.user, &setup, SETUP_PATH, "", "", error);
    };
    let page = RecoveryCodesPage {
        codes: &codes,
        next: PATH,
    };
    Ok((jar, html(StatusCode::OK, page.render())).into_response())
}

pub async fn remove_submit(
    State(state): State<AppState>,
    CheckedForm { jar, .. }: CheckedForm,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, PATH);
    state.engine.remove_totp(&who.user).await?;
    render(&state, jar, &who, Some("One-time codes are removed."), None).await
}

const WRONG_PASSWORD_LIMIT: &str =
    "Too many wrong passwords from your network. Wait a minute and try again.";

pub async fn password_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, PATH);
    // A session left open must not become a free password-guessing oracle.
    let (ip, now) = (peer.ip(), state.now());
    if let Err(until) = state.auth_limiter.acquire(ip, now) {
        return Err(PageError::TooMany(WRONG_PASSWORD_LIMIT, until - now));
    }
    let current = field(&form, "current_password");
    let new = field(&form, "new_password");
    match state.engine.change_password(&who, &current, &new).await? {
        Ok((secret, fresh)) => {
            state.auth_limiter.refund(&ip);
            let max_age = i64::from(state.engine.config().session_lifetime_secs);
            let value = secret.expose().to_owned();
            let jar = jar.add(cookie(&state, SESSION_COOKIE, value, Some(max_age)));
            let notice = Some("Your password is changed; your other sessions are signed out.");
            render(&state, jar, &fresh, notice, None).await
        }
        Err(e) => {
            if e != PasswordChangeError::WrongCurrent {
                state.auth_limiter.refund(&ip);
            }
            let text = match e {
                PasswordChangeError::WrongCurrent => "The current password is wrong.".to_owned(),
                PasswordChangeError::Policy(why) => format!("The new password is refused: {why}."),
            };
            render(&state, jar, &who, None, Some(&text)).await
        }
    }
}

pub async fn end_session_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, PATH);
    let target = field(&form, "session");
    let notice = if target == "others" {
        state.engine.end_other_sessions(&who).await?;
        "You are signed out everywhere else."
    } else if state.engine.end_account_session(&who, &target).await? {
        "That session is signed out."
    } else {
        return Err(PageError::bad_request("That session is not one of yours."));
    };
    render(&state, jar, &who, Some(notice), None).await
}

pub async fn revoke_app_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let who = signed_in_or_return!(&state, &jar, PATH);
    let Ok(client) = ClientId::parse(&field(&form, "client_id")) else {
        return Err(PageError::bad_request("That app is not known."));
    };
    if !state.engine.revoke_app(&who, &client).await? {
        return Err(PageError::bad_request(
            "You have not granted that app access.",
        ));
    }
    render(
        &state,
        jar,
        &who,
        Some("The app's access is revoked."),
        None,
    )
    .await
}
