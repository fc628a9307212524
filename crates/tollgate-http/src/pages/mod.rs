//! Server-rendered pages: login, consent, logout, the authorization endpoint that leads to
//! them, and device verification. They work without JavaScript, carry CSRF tokens and strict
//! headers. The authorization endpoint is generic over the dialect; everything else is shared.

pub mod authorize;
pub mod demo;
pub mod device;
pub mod login;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;
use tollgate_core::secret::Secret;
use tollgate_core::session::SignedIn;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::PageError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tollgate_session";
pub const CSRF_COOKIE: &str = "tollgate_csrf";

const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The shared page routes.
pub fn router() -> Router<AppState> {
    secured(
        Router::new()
            .route("/", get(login::home))
            .route("/login", get(login::login_page).post(login::login_submit))
            .route("/consent", post(authorize::consent_submit))
            .route(
                "/logout",
                get(login::logout_page).post(login::logout_submit),
            )
            .route("/assets/tollgate.css", get(css))
            .route(
                "/device",
                get(device::device_page).post(device::device_submit),
            )
            .route("/device/decision", post(device::device_decision))
            .route(demo::CALLBACK_PATH, get(demo::callback)),
    )
}

/// The pages' security headers, for page routes a dialect registers (its authorize route).
pub fn secured(router: Router<AppState>) -> Router<AppState> {
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    router
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CACHE_CONTROL, "no-store"))
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub heading: &'a str,
    pub message: &'a str,
    pub logout_csrf: Option<&'a str>,
}

pub(crate) fn html(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(crate) fn message(status: StatusCode, heading: &str, text: &str) -> Response {
    let page = MessagePage {
        heading,
        message: text,
        logout_csrf: None,
    };
    html(status, page.render())
}

/// A page form whose CSRF token checked out, with the browser's cookies.
pub struct CheckedForm {
    pub form: crate::params::Params,
    pub jar: CookieJar,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for CheckedForm {
    type Rejection = PageError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(req.headers());
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form could not be read."))?;
        let form = crate::params::Params::parse(&body);
        check_csrf(&jar, form.one("csrf").ok().flatten().as_deref())?;
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

pub(crate) fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(state.engine.issuer().starts_with("https://"));
    if let Some(secs) = max_age {
        c.set_max_age(time::Duration::seconds(secs));
    }
    c
}

/// The CSRF token of this browser, minted if it has none.
pub(crate) fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(CSRF_COOKIE)
        && c.value().len() == 43
    {
        let v = c.value().to_owned();
        return (jar, v);
    }
    let token = Secret::generate(state.engine.rng()).expose().to_owned();
    (
        jar.add(cookie(state, CSRF_COOKIE, token.clone(), None)),
        token,
    )
}

/// Refuses a form whose CSRF field does not match the browser's token.
fn check_csrf(jar: &CookieJar, field: Option<&str>) -> Result<(), PageError> {
    match (jar.get(CSRF_COOKIE), field) {
        (Some(c), Some(f))
            if !f.is_empty() && bool::from(c.value().as_bytes().ct_eq(f.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

pub(crate) async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<SignedIn>, PageError> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => Ok(state.engine.session(c.value()).await?),
        None => Ok(None),
    }
}

/// Only the registered authorization endpoints and the device page may be continued to, so
/// login cannot redirect anywhere else.
pub(crate) fn safe_continue(state: &AppState, target: &str) -> bool {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let known = (query.is_some() && state.dialects.authorize_paths().any(|p| p == path))
        || path == "/device";
    known && !target.contains(['\\', '\r', '\n', '#'])
}

/// The same URL with `login` removed from the prompt, so returning after login does not loop.
fn without_prompt_login(target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "prompt" || k == "Prompt" {
            let rest: Vec<&str> = v
                .split(' ')
                .filter(|p| *p != "login" && !p.is_empty())
                .collect();
            if !rest.is_empty() {
                out.append_pair(&k, &rest.join(" "));
            }
        } else {
            out.append_pair(&k, &v);
        }
    }
    format!("{path}?{}", out.finish())
}

/// The sign-in page, continuing to `target` afterwards.
pub(crate) fn login_url(target: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("continue", &without_prompt_login(target))
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
