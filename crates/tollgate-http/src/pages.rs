//! Server-rendered pages: login, consent, logout, and the authorization endpoint that leads to
//! them. They work without JavaScript, carry double-submit CSRF tokens and strict headers.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use subtle::ConstantTimeEq;
use tollgate_core::authorize::{AuthorizeError, AuthorizeParams, ValidAuthorization};
use tollgate_core::secret::Secret;
use tollgate_core::session::SignedIn;
use tollgate_core::{ErrorKind, OAuthError};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::params::Params;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tollgate_session";
pub const CSRF_COOKIE: &str = "tollgate_csrf";

const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/consent", axum::routing::post(consent_submit))
        .route("/logout", get(logout_page).post(logout_submit))
        .route("/oauth/authorize", get(authorize_standard))
        .route("/v2/authorize", get(authorize_standard))
        .route("/v1/authorize", get(authorize_v1))
        .route("/assets/tollgate.css", get(css))
        .merge(crate::device::page_router())
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    continue_to: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    continue_to: &'a str,
    client_name: &'a str,
    user_email: &'a str,
    scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    heading: &'a str,
    message: &'a str,
    logout_csrf: Option<&'a str>,
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
    html(
        status,
        MessagePage {
            heading,
            message: text,
            logout_csrf: None,
        }
        .render(),
    )
}

/// Plain-words descriptions for the consent page.
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
    let token = Secret::generate(&tollgate_core::SystemRng::default())
        .expose()
        .to_owned();
    (
        jar.add(cookie(state, CSRF_COOKIE, token.clone(), None)),
        token,
    )
}

pub(crate) fn csrf_ok(jar: &CookieJar, field: Option<&str>) -> bool {
    match (jar.get(CSRF_COOKIE), field) {
        (Some(c), Some(f)) if !f.is_empty() => c.value().as_bytes().ct_eq(f.as_bytes()).into(),
        _ => false,
    }
}

pub(crate) fn csrf_failed() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form could not be verified (its security token is missing or wrong). Go back, reload the page and try again.",
    )
}

pub(crate) async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<SignedIn>, OAuthError> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => state.engine.session(c.value()).await,
        None => Ok(None),
    }
}

/// Only our own authorization and device pages may be continued to, so login cannot redirect
/// anywhere else.
fn safe_continue(target: &str) -> Option<&str> {
    ([
        "/oauth/authorize?",
        "/v2/authorize?",
        "/v1/authorize?",
        "/device?",
    ]
    .iter()
    .any(|p| target.starts_with(p))
        || target == "/device")
        .then_some(target)
        .filter(|t| !t.contains(['\\', '\r', '\n', '#']))
}

fn standard_params(p: &Params) -> Result<AuthorizeParams, OAuthError> {
    Ok(AuthorizeParams {
        response_type: p.one("response_type")?,
        client_id: p.one("client_id")?,
        redirect_uri: p.one("redirect_uri")?,
        scope: p.one("scope")?,
        state: p.one("state")?,
        nonce: p.one("nonce")?,
        code_challenge: p.one("code_challenge")?,
        code_challenge_method: p.one("code_challenge_method")?,
        prompt: p.one("prompt")?,
    })
}

fn v1_params(p: &Params) -> Result<AuthorizeParams, OAuthError> {
    Ok(AuthorizeParams {
        response_type: p.one("ResponseType")?,
        client_id: p.one_of(&["ClientId", "ClientSid"])?,
        redirect_uri: p.one("RedirectUri")?,
        scope: p.one("Scope")?,
        state: p.one("State")?,
        nonce: p.one("Nonce")?,
        code_challenge: p.one("CodeChallenge")?,
        code_challenge_method: p.one("CodeChallengeMethod")?,
        prompt: p.one("Prompt")?,
    })
}

/// The parameters of an authorization URL of any dialect.
fn parse_authorization_url(target: &str) -> Result<AuthorizeParams, OAuthError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let p = Params::parse(query.as_bytes());
    if path == "/v1/authorize" {
        v1_params(&p)
    } else {
        standard_params(&p)
    }
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

pub(crate) fn login_redirect(target: &str) -> Response {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("continue", &without_prompt_login(target))
        .finish();
    Redirect::to(&format!("/login?{q}")).into_response()
}

pub(crate) fn server_error_page() -> Response {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request. Try again later.",
    )
}

async fn authorize_standard(state: State<AppState>, jar: CookieJar, uri: Uri) -> Response {
    authorize(state, jar, uri).await
}

async fn authorize_v1(state: State<AppState>, jar: CookieJar, uri: Uri) -> Response {
    authorize(state, jar, uri).await
}

async fn authorize(State(state): State<AppState>, jar: CookieJar, uri: Uri) -> Response {
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let params = match parse_authorization_url(&target) {
        Ok(p) => p,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Invalid request", &e.description),
    };
    let valid = match state.engine.validate_authorization(&params) {
        Ok(v) => v,
        Err(AuthorizeError::Page(m)) => {
            return message(StatusCode::BAD_REQUEST, "Invalid request", &m);
        }
        Err(AuthorizeError::Redirect(url)) => return Redirect::to(&url).into_response(),
    };
    let who = match signed_in(&state, &jar).await {
        Ok(w) => w,
        Err(_) => return server_error_page(),
    };
    let who = match who {
        Some(w) if !valid.prompt.login => w,
        _ if valid.prompt.none => {
            return redirect_error(
                &state,
                &valid,
                "login_required",
                "the user is not signed in",
            );
        }
        _ => return login_redirect(&target),
    };
    match state.engine.needs_consent(&who.user, &valid).await {
        Ok(false) => issue(&state, &valid, &who).await,
        Ok(true) if valid.prompt.none => redirect_error(
            &state,
            &valid,
            "consent_required",
            "the user has not granted these scopes",
        ),
        Ok(true) => consent_page(&state, jar, &valid, &who, &target),
        Err(_) => server_error_page(),
    }
}

fn redirect_error(
    state: &AppState,
    valid: &ValidAuthorization,
    code: &str,
    description: &str,
) -> Response {
    // OIDC error codes (login_required, consent_required) are not ErrorKinds; build the URL directly.
    let mut params = vec![("error", code), ("error_description", description)];
    if let Some(s) = &valid.state {
        params.push(("state", s));
    }
    params.push(("iss", state.engine.issuer()));
    Redirect::to(&tollgate_core::authorize::redirect_with(
        &valid.redirect_uri,
        &params,
    ))
    .into_response()
}

async fn issue(state: &AppState, valid: &ValidAuthorization, who: &SignedIn) -> Response {
    match state.engine.issue_code(valid, who).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => Redirect::to(&valid.error_redirect(state.engine.issuer(), &e)).into_response(),
    }
}

fn consent_page(
    state: &AppState,
    jar: CookieJar,
    valid: &ValidAuthorization,
    who: &SignedIn,
    target: &str,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = ConsentPage {
        csrf: &csrf,
        continue_to: target,
        client_name: &valid.client.friendly_name,
        user_email: &who.user.email,
        scopes: valid.scopes.iter().map(|s| describe_scope(s)).collect(),
    };
    (jar, html(StatusCode::OK, page.render())).into_response()
}

async fn consent_submit(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let field = |n: &str| form.one(n).ok().flatten();
    if !csrf_ok(&jar, field("csrf").as_deref()) {
        return csrf_failed();
    }
    let Some(target) = field("continue").filter(|t| safe_continue(t).is_some()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The authorization request is missing.",
        );
    };
    let who = match signed_in(&state, &jar).await {
        Ok(Some(w)) => w,
        Ok(None) => return login_redirect(&target),
        Err(_) => return server_error_page(),
    };
    let valid =
        match parse_authorization_url(&target).map(|p| state.engine.validate_authorization(&p)) {
            Ok(Ok(v)) => v,
            Ok(Err(AuthorizeError::Redirect(url))) => return Redirect::to(&url).into_response(),
            Ok(Err(AuthorizeError::Page(m))) => {
                return message(StatusCode::BAD_REQUEST, "Invalid request", &m);
            }
            Err(e) => return message(StatusCode::BAD_REQUEST, "Invalid request", &e.description),
        };
    match field("decision").as_deref() {
        Some("approve") => {
            if state
                .engine
                .remember_consent(&who.user, &valid)
                .await
                .is_err()
            {
                return server_error_page();
            }
            issue(&state, &valid, &who).await
        }
        _ => {
            let err = OAuthError::new(ErrorKind::AccessDenied, "the user denied the request");
            Redirect::to(&valid.error_redirect(state.engine.issuer(), &err)).into_response()
        }
    }
}

async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let target = q
        .one("continue")
        .ok()
        .flatten()
        .filter(|t| safe_continue(t).is_some())
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

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let field = |n: &str| form.one(n).ok().flatten().unwrap_or_default();
    if !csrf_ok(&jar, Some(&field("csrf"))) {
        return csrf_failed();
    }
    let target = Some(field("continue"))
        .filter(|t| safe_continue(t).is_some())
        .unwrap_or_default();
    let now = state.engine.clock().now();
    if state.auth_limiter.check(peer.ip(), now).is_err() {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many failed sign-ins from your network. Wait a minute and try again.",
        );
    }
    let email = field("email");
    match state.engine.login(&email, &field("password")).await {
        Ok(Ok((secret, _))) => {
            let max_age = i64::from(state.engine.config().session_lifetime_secs);
            let jar = jar.add(cookie(
                &state,
                SESSION_COOKIE,
                secret.expose().to_owned(),
                Some(max_age),
            ));
            let to = if target.is_empty() {
                "/".to_owned()
            } else {
                target
            };
            (jar, Redirect::to(&to)).into_response()
        }
        Ok(Err(_)) => {
            if state.auth_limiter.failed(peer.ip(), now).is_some() {
                return message(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    "Too many failed sign-ins from your network. Wait a minute and try again.",
                );
            }
            let (jar, csrf) = csrf_token(&state, jar);
            let page = LoginPage {
                csrf: &csrf,
                continue_to: &target,
                email: &email,
                error: Some("Wrong email or password."),
            };
            (jar, html(StatusCode::UNAUTHORIZED, page.render())).into_response()
        }
        Err(_) => server_error_page(),
    }
}

async fn home(State(state): State<AppState>, jar: CookieJar) -> Response {
    match signed_in(&state, &jar).await {
        Ok(Some(who)) => {
            let (jar, csrf) = csrf_token(&state, jar);
            let text = format!("You are signed in as {}.", who.user.email);
            let page = MessagePage {
                heading: "Tollgate",
                message: &text,
                logout_csrf: Some(&csrf),
            };
            (jar, html(StatusCode::OK, page.render())).into_response()
        }
        Ok(None) => message(StatusCode::OK, "Tollgate", "You are not signed in."),
        Err(_) => server_error_page(),
    }
}

async fn logout_page(state: State<AppState>, jar: CookieJar) -> Response {
    home(state, jar).await
}

async fn logout_submit(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    let form = Params::parse(&body);
    if !csrf_ok(&jar, form.one("csrf").ok().flatten().as_deref()) {
        return csrf_failed();
    }
    if let Some(c) = jar.get(SESSION_COOKIE)
        && state.engine.logout(c.value()).await.is_err()
    {
        return server_error_page();
    }
    let jar = jar.remove(cookie(&state, SESSION_COOKIE, String::new(), None));
    (
        jar,
        message(StatusCode::OK, "Signed out", "You are signed out."),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("tollgate.css"),
    )
        .into_response()
}
