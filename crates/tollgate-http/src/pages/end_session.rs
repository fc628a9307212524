//! OpenID Connect RP-Initiated Logout 1.0: the end-session endpoint (`/oauth/logout`, GET and
//! POST). The engine checks the request and ends the session; this only renders.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::logout::{EndSessionParams, EndSessionRequest};

use super::{SESSION_COOKIE, cookie, csrf_token, html, message, session_value, signed_in};
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

pub const PATH: &str = "/oauth/logout";

#[derive(Template)]
#[template(path = "end_session.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    user_email: &'a str,
    client_name: Option<&'a str>,
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
}

/// The parameters, each at most once (a repeated one is refused).
fn end_session_params(p: &Params) -> Result<EndSessionParams, PageError> {
    let one = |name: &str| {
        p.one(name)
            .map_err(|_| PageError::bad_request(format!("{name} is given more than once")))
    };
    Ok(EndSessionParams {
        id_token_hint: one("id_token_hint")?,
        client_id: one("client_id")?,
        post_logout_redirect_uri: one("post_logout_redirect_uri")?,
        state: one("state")?,
    })
}

pub async fn end_session_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = end_session_params(&Params::parse(query.unwrap_or_default().as_bytes()))?;
    end_session(&state, jar, params, false).await
}

/// A relying party may POST the same parameters; the confirmation form posts here too, with
/// its CSRF token and `confirm`.
pub async fn end_session_post(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let confirmed = form.one("confirm").ok().flatten().is_some();
    if confirmed {
        super::check_csrf(&state, &jar, form.one("csrf").ok().flatten().as_deref())?;
    }
    let params = end_session_params(&form)?;
    if !confirmed && session_value(&state, &jar).is_none() {
        // A relying party's cross-site form POST carries no SameSite=Lax session cookie; the
        // same request as a top-level GET does. Checked first: a bad one is an error page here.
        state
            .engine
            .check_end_session(params.clone())
            .await
            .map_err(|e| PageError::bad_request(e.0))?;
        return Ok(Redirect::to(&as_get(&params)).into_response());
    }
    end_session(&state, jar, params, confirmed).await
}

/// The end-session endpoint with `params` in its query.
fn as_get(p: &EndSessionParams) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("id_token_hint", &p.id_token_hint),
        ("client_id", &p.client_id),
        ("post_logout_redirect_uri", &p.post_logout_redirect_uri),
        ("state", &p.state),
    ] {
        if let Some(v) = value {
            q.append_pair(name, v);
        }
    }
    format!("{PATH}?{}", q.finish())
}

async fn end_session(
    state: &AppState,
    jar: CookieJar,
    params: EndSessionParams,
    confirmed: bool,
) -> Result<Response, PageError> {
    let req = state
        .engine
        .check_end_session(params)
        .await
        .map_err(|e| PageError::bad_request(e.0))?;
    let who = signed_in(state, &jar).await?;
    if !confirmed && req.needs_confirmation(who.as_ref()) {
        let email = who
            .as_ref()
            .map(|w| w.user.email.clone())
            .unwrap_or_default();
        return Ok(confirm_page(state, jar, &req, &email));
    }
    if let Some(session) = session_value(state, &jar) {
        state.engine.logout(&session).await?;
    }
    let jar = jar.remove(cookie(state, SESSION_COOKIE, String::new(), None));
    Ok(match &req.redirect {
        Some(to) => (jar, Redirect::to(to)).into_response(),
        None => {
            let page = message(StatusCode::OK, "Signed out", "You are signed out.");
            (jar, page).into_response()
        }
    })
}

fn confirm_page(
    state: &AppState,
    jar: CookieJar,
    req: &EndSessionRequest,
    email: &str,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let p = &req.params;
    let page = ConfirmPage {
        csrf: &csrf,
        user_email: email,
        client_name: req.client.as_ref().map(|c| c.friendly_name.as_str()),
        client_id: req.client.as_ref().map_or("", |c| c.id.as_str()),
        post_logout_redirect_uri: p.post_logout_redirect_uri.as_deref().unwrap_or_default(),
        state: p.state.as_deref().unwrap_or_default(),
    };
    let resp = (jar, html(StatusCode::OK, page.render())).into_response();
    // The confirmed form ends in a redirect to the client's registered URI.
    let csp = req.redirect.as_deref().and_then(super::csp_allowing);
    super::with_csp(resp, csp)
}
