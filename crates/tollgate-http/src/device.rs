//! RFC 8628 on the web: the device authorization endpoints (standard and Twilio v1) and the
//! `/device` page where a signed-in user enters or confirms the code.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Serialize;
use tollgate_core::OAuthError;
use tollgate_core::device::{DeviceAuthorization, DeviceRequest, display_user_code};
use tollgate_core::secret::SecretDigest;
use tollgate_core::session::SignedIn;

use crate::pages::{self, SESSION_COOKIE};
use crate::params::{self, Authorization, BodyError, BodyType, Params};
use crate::render::{self, Dialect, NO_STORE};
use crate::state::AppState;

/// The page routes (they get the page security headers).
pub fn page_router() -> Router<AppState> {
    Router::new()
        .route("/device", get(device_page).post(device_submit))
        .route("/device/decision", post(device_decision))
}

/// The API routes.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/device_authorization",
            post(standard_device_authorization),
        )
        .route("/v1/device/code", post(v1_device_code))
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    csrf: &'a str,
    user_code: &'a str,
    error: Option<&'a str>,
    client_name: Option<&'a str>,
    user_email: &'a str,
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct DeviceBody<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    verification_uri_complete: &'a str,
    expires_in: i64,
    interval: i64,
}

fn device_body(d: &DeviceAuthorization) -> DeviceBody<'_> {
    DeviceBody {
        device_code: &d.device_code,
        user_code: &d.user_code,
        verification_uri: &d.verification_uri,
        verification_uri_complete: &d.verification_uri_complete,
        expires_in: d.expires_in,
        interval: d.interval,
    }
}

fn form(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Params, OAuthError> {
    let body = params::body(body).map_err(|e| match e {
        BodyError::TooLarge => OAuthError::invalid_request("request body is too large"),
        BodyError::Unreadable => OAuthError::invalid_request("request body could not be read"),
    })?;
    match params::body_type(headers) {
        BodyType::Form => Ok(Params::parse(&body)),
        _ => Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )),
    }
}

async fn standard_device_authorization(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = (|| {
        let p = form(&headers, body)?;
        let basic = match params::authorization(&headers)? {
            Authorization::Basic(id, secret) => Some((id, secret)),
            _ => None,
        };
        Ok::<_, OAuthError>(DeviceRequest {
            client: params::client_auth(basic, p.one("client_id")?, p.one("client_secret")?)?,
            account_auth: None,
            scopes: p.one("scope")?.into_iter().collect(),
            audiences: p.all("audience"),
        })
    })();
    let result = match req {
        Ok(r) => {
            state
                .limited(peer, state.engine.device_authorization(r))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(d) => (StatusCode::OK, NO_STORE, Json(device_body(&d))).into_response(),
        Err(e) => render::error(Dialect::Rfc6749, &e),
    }
}

async fn v1_device_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = (|| {
        let p = form(&headers, body)?;
        let (account_auth, basic) = match params::authorization(&headers)? {
            Authorization::Basic(user, pass) if user.starts_with("AC") => {
                (Some((user, pass)), None)
            }
            Authorization::Basic(user, pass) => (None, Some((user, pass))),
            _ => (None, None),
        };
        let client_id = p.one_of(&["ClientSid", "ClientId"])?;
        if client_id.is_none() && basic.is_none() {
            return Err(OAuthError::invalid_request("ClientSid is required"));
        }
        Ok(DeviceRequest {
            client: params::client_auth(basic, client_id, p.one("ClientSecret")?)?,
            account_auth,
            scopes: p.all("Scopes"),
            audiences: p.all("Audiences"),
        })
    })();
    let result = match req {
        Ok(r) => {
            state
                .limited(peer, state.engine.device_authorization(r))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(d) => (StatusCode::CREATED, NO_STORE, Json(device_body(&d))).into_response(),
        Err(e) => render::error(Dialect::Twilio, &e),
    }
}

fn continue_here(user_code: &str) -> String {
    if user_code.is_empty() {
        "/device".to_owned()
    } else {
        format!(
            "/device?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("user_code", user_code)
                .finish()
        )
    }
}

/// Renders the entry form, or the confirmation when `user_code` names a waiting grant.
async fn render_device(
    state: &AppState,
    jar: CookieJar,
    who: &SignedIn,
    typed: &str,
    error: Option<&str>,
) -> Response {
    let (jar, csrf) = pages::csrf_token(state, jar);
    let found = if typed.is_empty() || error.is_some() {
        Ok(None)
    } else {
        state.engine.pending_device_grant(typed).await
    };
    let (status, page) = match &found {
        Ok(Some((grant, client))) => (
            StatusCode::OK,
            DevicePage {
                csrf: &csrf,
                user_code: &display_user_code(&grant.user_code),
                error: None,
                client_name: Some(&client.friendly_name),
                user_email: &who.user.email,
                scopes: grant
                    .scopes
                    .iter()
                    .map(|s| pages::describe_scope(s))
                    .collect(),
            }
            .render(),
        ),
        Ok(None) => {
            let error =
                error.or((!typed.is_empty()).then_some("That code is not valid or has expired."));
            let status = if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (
                status,
                DevicePage {
                    csrf: &csrf,
                    user_code: typed,
                    error,
                    client_name: None,
                    user_email: &who.user.email,
                    scopes: Vec::new(),
                }
                .render(),
            )
        }
        Err(_) => return pages::server_error_page(),
    };
    (jar, pages::html(status, page)).into_response()
}

async fn device_page(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Params::parse(query.unwrap_or_default().as_bytes());
    let typed = q.one("user_code").ok().flatten().unwrap_or_default();
    match pages::signed_in(&state, &jar).await {
        Ok(Some(who)) => render_device(&state, jar, &who, &typed, None).await,
        Ok(None) => pages::login_redirect(&continue_here(&typed)),
        Err(_) => pages::server_error_page(),
    }
}

async fn device_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let field = |n: &str| form.one(n).ok().flatten().unwrap_or_default();
    if !pages::csrf_ok(&jar, Some(&field("csrf"))) {
        return pages::csrf_failed();
    }
    let typed = field("user_code");
    let who = match pages::signed_in(&state, &jar).await {
        Ok(Some(w)) => w,
        Ok(None) => return pages::login_redirect(&continue_here(&typed)),
        Err(_) => return pages::server_error_page(),
    };
    // Guessing codes is limited per address and per session.
    let now = state.engine.clock().now();
    let keys = [
        format!("ip:{}", peer.ip()),
        format!(
            "session:{}",
            jar.get(SESSION_COOKIE)
                .map(|c| SecretDigest::of(c.value()).to_hex())
                .unwrap_or_default()
        ),
    ];
    if keys
        .iter()
        .any(|k| state.device_code_limiter.check(k.clone(), now).is_err())
    {
        return pages::message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many wrong codes. Wait a minute and try again.",
        );
    }
    match state.engine.pending_device_grant(&typed).await {
        Ok(Some(_)) => render_device(&state, jar, &who, &typed, None).await,
        Ok(None) => {
            let mut blocked = false;
            for k in keys {
                blocked |= state.device_code_limiter.failed(k, now).is_some();
            }
            if blocked {
                return pages::message(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    "Too many wrong codes. Wait a minute and try again.",
                );
            }
            render_device(
                &state,
                jar,
                &who,
                &typed,
                Some("That code is not valid or has expired."),
            )
            .await
        }
        Err(_) => pages::server_error_page(),
    }
}

async fn device_decision(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let field = |n: &str| form.one(n).ok().flatten().unwrap_or_default();
    if !pages::csrf_ok(&jar, Some(&field("csrf"))) {
        return pages::csrf_failed();
    }
    let who = match pages::signed_in(&state, &jar).await {
        Ok(Some(w)) => w,
        Ok(None) => return pages::login_redirect("/device"),
        Err(_) => return pages::server_error_page(),
    };
    let approve = field("decision") == "approve";
    match state
        .engine
        .decide_device(&field("user_code"), approve, &who)
        .await
    {
        Ok(true) if approve => pages::message(
            StatusCode::OK,
            "Device connected",
            "You may now return to your device.",
        ),
        Ok(true) => pages::message(
            StatusCode::OK,
            "Request denied",
            "The device was not given access.",
        ),
        Ok(false) => pages::message(
            StatusCode::BAD_REQUEST,
            "Code expired",
            "That code is not valid any more. Start again on your device.",
        ),
        Err(_) => pages::server_error_page(),
    }
}
