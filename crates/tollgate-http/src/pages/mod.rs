//! Server-rendered pages: login, consent, logout, the authorization endpoint that leads to
//! them, and device verification. They work without JavaScript, carry CSRF tokens and strict
//! headers. The authorization endpoint is generic over the dialect; everything else is shared.

pub mod account;
pub mod authorize;
pub mod console;
pub mod demo;
pub mod device;
pub mod email;
pub mod end_session;
mod form_post;
mod fresh_login;
pub mod login;
pub mod passkeys;
mod routes;
pub mod second_factor;

pub use routes::router;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tollgate_core::secret::{Secret, SecretDigest};
use tollgate_core::session::SignedIn;

use crate::error::PageError;
pub use crate::page_shell::secured;
pub(crate) use crate::page_shell::{CSP, MessagePage, html, message};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tollgate_session";
pub const CSRF_COOKIE: &str = "tollgate_csrf";

/// The pages' CSP with one more `form-action` target: a form whose submission ends in a
/// redirect to the client (sign-in, consent) must be allowed to follow it.
pub(crate) fn csp_allowing(redirect_uri: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let source = match url.origin() {
        o @ url::Origin::Tuple(..) => o.ascii_serialization(),
        // Private-use schemes (native apps) have no origin; allow the scheme.
        url::Origin::Opaque(_) => format!("{}:", url.scheme()),
    };
    if source.contains([';', ',', '\'', ' ']) {
        return None;
    }
    HeaderValue::from_str(&format!("{CSP} {source}")).ok()
}

/// Sets a page's own CSP (the router's default is only applied where none is set).
pub(crate) fn with_csp(mut resp: Response, csp: Option<HeaderValue>) -> Response {
    if let Some(v) = csp {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// A page form whose CSRF token checked out, with the browser's cookies.
pub struct CheckedForm {
    pub form: crate::params::Params,
    pub jar: CookieJar,
}

impl axum::extract::FromRequest<AppState> for CheckedForm {
    type Rejection = PageError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(req.headers());
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| PageError::Message {
                status: e.status(),
                heading: "Invalid request",
                text: "The form could not be read (is it too large?).".into(),
            })?;
        let form = crate::params::Params::parse(&body);
        check_csrf(state, &jar, form.one("csrf").ok().flatten().as_deref())?;
        Ok(Self { form, jar })
    }
}

/// A form field, empty when missing or repeated.
pub(crate) fn field(form: &crate::params::Params, name: &str) -> String {
    form.one(name).ok().flatten().unwrap_or_default()
}

/// Plain-words descriptions for the consent and device pages.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are".into(),
        "profile" => "See your name".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Keep access while you are away".into(),
        other => format!("Use the \u{201c}{other}\u{201d} permission"),
    }
}

/// Cookie names get the `__Host-` prefix on https, so a sibling subdomain or a plain-http
/// attacker cannot plant them.
pub(crate) fn cookie_name(state: &AppState, base: &'static str) -> String {
    if state.engine.issuer().starts_with("https://") {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub(crate) fn cookie(
    state: &AppState,
    base: &'static str,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::new(cookie_name(state, base), value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(state.engine.issuer().starts_with("https://"));
    if let Some(secs) = max_age {
        c.set_max_age(time::Duration::seconds(secs));
    }
    c
}

/// The browser's session cookie value, if any.
pub(crate) fn session_value(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&cookie_name(state, SESSION_COOKIE))
        .map(|c| c.value().to_owned())
}

/// The digest that stands for this browser's session in page tokens ("" when signed out).
pub(crate) fn session_binding(state: &AppState, jar: &CookieJar) -> String {
    session_value(state, jar)
        .map(|v| SecretDigest::of(&v).to_hex())
        .unwrap_or_default()
}

/// The CSRF token for this browser's forms: an HMAC of its CSRF cookie nonce and its session,
/// so a planted cookie and field pair is worthless without the victim's session.
pub(crate) fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = cookie_name(state, CSRF_COOKIE);
    let (jar, nonce) = match jar.get(&name) {
        Some(c) if c.value().len() == 43 => {
            let v = c.value().to_owned();
            (jar, v)
        }
        _ => {
            // Without randomness no form can be protected: the form shows no token and
            // every submission of it is refused.
            let nonce = match Secret::generate(state.engine.rng()) {
                Ok(s) => s.expose().to_owned(),
                Err(_) => return (jar, String::new()),
            };
            (
                jar.add(cookie(state, CSRF_COOKIE, nonce.clone(), None)),
                nonce,
            )
        }
    };
    let token = csrf_for(state, &nonce, &session_binding(state, &jar));
    (jar, token)
}

fn csrf_for(state: &AppState, nonce: &str, session: &str) -> String {
    state
        .engine
        .page_mac(&[b"csrf", nonce.as_bytes(), session.as_bytes()])
}

/// Refuses a form whose CSRF field was not made for this browser and session.
pub(crate) fn check_csrf(
    state: &AppState,
    jar: &CookieJar,
    field: Option<&str>,
) -> Result<(), PageError> {
    let nonce = jar.get(&cookie_name(state, CSRF_COOKIE));
    match (nonce, field) {
        (Some(n), Some(f)) if !f.is_empty() => {
            let session = session_binding(state, jar);
            let parts: [&[u8]; 3] = [b"csrf", n.value().as_bytes(), session.as_bytes()];
            if state.engine.verify_page_mac(&parts, f) {
                Ok(())
            } else {
                Err(PageError::Csrf)
            }
        }
        _ => Err(PageError::Csrf),
    }
}

pub(crate) async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<SignedIn>, PageError> {
    match session_value(state, jar) {
        Some(v) => Ok(state.engine.session(&v).await?),
        None => Ok(None),
    }
}

/// Only the registered authorization endpoints, the device page and the console may be
/// continued to, so login cannot redirect anywhere else.
pub(crate) fn safe_continue(state: &AppState, target: &str) -> bool {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let known = (query.is_some() && state.dialects.authorize_paths().any(|p| p == path))
        || path == "/device"
        || console::is_console_path(target)
        || account::is_account_path(target);
    known && !target.contains(['\\', '\r', '\n', '#'])
}

/// The sign-in page, continuing to `target` afterwards.
pub(crate) fn login_url(target: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("continue", target)
        .finish();
    format!("/login?{q}")
}

pub(crate) fn login_redirect(target: &str) -> Response {
    Redirect::to(&login_url(target)).into_response()
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../tollgate.css"),
    )
        .into_response()
}
