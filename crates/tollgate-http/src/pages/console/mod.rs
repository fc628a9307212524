//! The admin console (`/console`): an account's administrators manage its OAuth apps, users
//! and sessions in the browser. Pages are server-rendered and work without JavaScript; every
//! form carries the session-bound CSRF token and every page the strict headers of the other
//! pages. Every change goes through the same core operations as the CLI and the admin API (so
//! the change log carries it to every node), and every lookup is scoped to the administrator's
//! own account: another account's app or user answers as not found.

mod apps;
mod overview;
mod registration;
mod routes;
mod sessions;
mod users;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::admin::{AdminError, Caller, FieldError};
use tollgate_core::ids::AccountSid;
use tollgate_core::session::SignedIn;

pub use routes::router;

use super::{MessagePage, csrf_token, html, login_redirect, message, signed_in};
use crate::error::PageError;
use crate::state::AppState;

/// The pages' policy plus same-origin scripts: the copy button's small script file.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                           script-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                           form-action 'self'";

/// Whether a sign-in may continue to `target`: a console page.
pub(crate) fn is_console_path(target: &str) -> bool {
    target
        .strip_prefix("/console")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

/// A signed-in administrator, the account they administer and a CSRF token for their forms.
pub(crate) struct Console {
    pub who: SignedIn,
    pub account: AccountSid,
    pub jar: CookieJar,
    pub csrf: String,
}

/// Why a console request got no page of its own.
pub(crate) enum ConsoleError {
    /// Not signed in: to the login page, then back here.
    SignIn(String),
    /// Signed in, but not an administrator: a page saying so, with a sign-out form.
    Forbidden {
        email: String,
        jar: CookieJar,
        csrf: String,
    },
    NotFound,
    Page(PageError),
}

impl From<PageError> for ConsoleError {
    fn from(e: PageError) -> Self {
        ConsoleError::Page(e)
    }
}

impl From<AdminError> for ConsoleError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(_) => ConsoleError::NotFound,
            AdminError::Invalid(m) => ConsoleError::Page(PageError::bad_request(m)),
            AdminError::Store(e) => ConsoleError::Page(tollgate_core::OAuthError::from(e).into()),
            e @ (AdminError::Key(_) | AdminError::Rng(_)) => {
                ConsoleError::Page(PageError::Server(e.to_string()))
            }
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn(target) => login_redirect(&target),
            ConsoleError::Forbidden { email, jar, csrf } => {
                let text = format!(
                    "You are signed in as {email}, who is not an administrator of this \
                     account. Ask an administrator to make you one, or sign in as another user."
                );
                let page = MessagePage {
                    heading: "Administrators only",
                    message: &text,
                    logout_csrf: Some(&csrf),
                    console: false,
                };
                (jar, html(StatusCode::FORBIDDEN, page.render())).into_response()
            }
            ConsoleError::NotFound => message(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such item in this account.",
            ),
            ConsoleError::Page(e) => e.into_response(),
        }
    }
}

pub(crate) type ConsoleResult = Result<Response, ConsoleError>;

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let jar = CookieJar::from_headers(&parts.headers);
        // After signing in, a GET comes back to the same page; a form goes to the overview.
        let target = match (&parts.method, parts.uri.path_and_query()) {
            (&Method::GET, Some(pq)) if is_console_path(pq.as_str()) => pq.as_str().to_owned(),
            _ => "/console".to_owned(),
        };
        let Some(who) = signed_in(state, &jar).await? else {
            return Err(ConsoleError::SignIn(target));
        };
        let (jar, csrf) = csrf_token(state, jar);
        if !who.user.admin {
            return Err(ConsoleError::Forbidden {
                email: who.user.email,
                jar,
                csrf,
            });
        }
        Ok(Console {
            account: who.user.account_sid.clone(),
            who,
            jar,
            csrf,
        })
    }
}

/// A `{sid}` or `{id}` path segment; one that cannot be decoded is simply not in the account.
pub(crate) struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(_) => Err(ConsoleError::NotFound),
        }
    }
}

/// What every console page's frame shows: the navigation, who is signed in, sign-out.
pub(crate) struct Frame {
    pub csrf: String,
    pub email: String,
    pub account_sid: String,
    /// The navigation entry of this page.
    pub section: &'static str,
    /// A one-line confirmation of what the last action did.
    pub notice: Option<&'static str>,
}

impl Console {
    /// The signed-in administrator's account, for the admin service's tenancy rule.
    pub fn caller(&self) -> Caller {
        Caller::Account(self.account.clone())
    }

    pub fn frame(&self, section: &'static str) -> Frame {
        Frame {
            csrf: self.csrf.clone(),
            email: self.who.user.email.clone(),
            account_sid: self.account.to_string(),
            section,
            notice: None,
        }
    }

    /// The frame, with a confirmation of what the last action did.
    pub fn frame_noting(&self, section: &'static str, notice: Option<&'static str>) -> Frame {
        Frame {
            notice,
            ..self.frame(section)
        }
    }

    /// A rendered page with the cookies the request needs kept (the CSRF nonce).
    pub fn page(self, status: StatusCode, body: Result<String, askama::Error>) -> Response {
        (self.jar, html(status, body)).into_response()
    }
}

/// Problems by field, for a form that shows each next to its field.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<FieldError>);

impl Errors {
    /// One problem, with one field.
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn list(&self) -> &[FieldError] {
        &self.0
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if !self.has(field) {
            self.0.push(FieldError {
                field,
                message: message.into(),
            });
        }
    }
}

/// The confirmation a redirect after a change asks the next page to show; only these fixed
/// texts can appear, never text from the URL.
pub(crate) fn notice(query: Option<&str>) -> Option<&'static str> {
    let q = crate::params::Params::parse(query.unwrap_or_default().as_bytes());
    Some(match super::field(&q, "notice").as_str() {
        "saved" => "Changes saved. Every node applies them within a moment.",
        "app-deleted" => "The app was deleted. Its secret and tokens no longer work.",
        "user-created" => "The user was created.",
        "user-deleted" => "The user was deleted, signed out and their refresh tokens revoked.",
        "password-reset" => "The password was changed and the user's browser sessions ended.",
        "revoked" => "The session was revoked: its refresh token no longer works.",
        "token-revoked" => "The initial access token was revoked.",
        _ => return None,
    })
}

/// A 303 to a console page after a change (POST, then GET).
pub(crate) fn see_other(jar: CookieJar, to: &str) -> Response {
    (jar, axum::response::Redirect::to(to)).into_response()
}

/// `2025-01-31 14:05 UTC`.
pub(crate) fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => "—".to_owned(),
    }
}

/// `3 days`, `5 hours`, `12 minutes`.
pub(crate) fn span(secs: i64) -> String {
    let secs = secs.max(0);
    let (n, unit) = match secs {
        s if s >= 2 * 86400 => (s / 86400, "days"),
        s if s >= 2 * 3600 => (s / 3600, "hours"),
        s if s >= 120 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    format!("{n} {unit}")
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("console.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_continue() {
        for ok in ["/console", "/console/apps", "/console?notice=saved"] {
            assert!(is_console_path(ok), "{ok}");
        }
        for bad in [
            "/consoles",
            "/console.evil",
            "//console",
            "https://x/console",
        ] {
            assert!(!is_console_path(bad), "{bad}");
        }
    }

    #[test]
    fn times_read_plainly() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(span(3 * 86400 + 5), "3 days");
        assert_eq!(span(90), "90 seconds");
        assert_eq!(span(-5), "0 seconds");
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert!(notice(Some("notice=saved")).is_some());
        assert_eq!(notice(Some("notice=%3Cscript%3E")), None);
        assert_eq!(notice(None), None);
    }
}
