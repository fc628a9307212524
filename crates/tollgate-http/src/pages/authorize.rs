//! The authorization endpoint (generic over the dialect) and the consent form it leads to.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tollgate_core::authorize::{AuthorizeError, AuthorizeParams, ValidAuthorization};
use tollgate_core::session::SignedIn;
use tollgate_core::{ErrorKind, OAuthError};

use super::{
    CheckedForm, csp_allowing, csrf_token, describe_scope, html, login_redirect, login_url,
    safe_continue, signed_in, with_csp,
};
use super::{form_post, fresh_login};
use crate::dialect::Dialect;
use crate::error::PageError;
use crate::params::Params;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    continue_to: &'a str,
    client_name: &'a str,
    user_email: &'a str,
    scopes: Vec<String>,
    /// A client known only by its metadata document: its host, shown prominently.
    document_host: Option<&'a str>,
    client_uri: Option<&'a str>,
    /// Shown only when served over https from the document's own host.
    logo_uri: Option<&'a str>,
}

/// Where an authorization ends: a redirect (to the client or to sign-in, in the dialect's
/// form), or a page.
enum Outcome {
    Redirect(String),
    Page(Response),
}

async fn validate(
    state: &AppState,
    params: Result<AuthorizeParams, OAuthError>,
) -> Result<Result<ValidAuthorization, String>, PageError> {
    let params = params.map_err(|e| PageError::bad_request(e.description))?;
    match state.engine.validate_authorization(&params).await {
        Ok(v) => Ok(Ok(v)),
        Err(AuthorizeError::Page(m)) => Err(PageError::bad_request(m)),
        Err(AuthorizeError::Redirect(url)) => Ok(Err(url)),
    }
}

pub async fn authorize<D: Dialect>(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let query = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let outcome = match validate(&state, D::authorize_params(&query)).await {
        Ok(Ok(valid)) => decide(&state, jar, &valid, target).await,
        Ok(Err(url)) => Ok(Outcome::Redirect(url)),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(Outcome::Redirect(url)) => form_post::page(&url)
            .unwrap_or_else(|| D::authorize_redirect(&url, state.engine.issuer())),
        Ok(Outcome::Page(page)) => page,
        // A browser gets the error page; an API client gets the dialect's error, if it has one.
        Err(e) => match (prefers_html(&headers), D::authorize_error(&e.to_oauth())) {
            (false, Some(resp)) => resp,
            _ => e.into_response(),
        },
    }
}

/// Whether the caller is a browser (it lists `text/html` in `Accept`).
fn prefers_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Signed in and consented: issue the code; otherwise ask for what is missing.
async fn decide(
    state: &AppState,
    jar: CookieJar,
    valid: &ValidAuthorization,
    target: &str,
) -> Result<Outcome, PageError> {
    let fresh_login = |w: &SignedIn| fresh_login::satisfied(state, target, w.session.auth_time);
    // prompt=login, or a sign-in older than max_age (OIDC Core 3.1.2.1), needs a new one.
    let now = state.now();
    let needs_new =
        |w: &SignedIn| valid.prompt.login || valid.sign_in_too_old(w.session.auth_time, now);
    // A sign-in weaker than `acr_values` asks for is made again (step-up); when a fresh one
    // could not do better (no second factor set up), it is accepted: `acr` is voluntary.
    let strong_enough = |w: &SignedIn| w.authn().satisfies(&valid.acr_values) || fresh_login(w);
    let who = match signed_in(state, &jar).await? {
        Some(w) if (!needs_new(&w) || fresh_login(&w)) && strong_enough(&w) => w,
        _ if valid.prompt.none => {
            let url = redirect_error(
                state,
                valid,
                "login_required",
                "the user is not signed in, or not recently enough",
            );
            return Ok(Outcome::Redirect(url));
        }
        // Signed in, but not freshly or strongly enough; or max_age asks for a fresh sign-in.
        w if w.is_some() || valid.prompt.login || valid.max_age.is_some() => {
            let target = fresh_login::mark(state, target);
            return Ok(Outcome::Redirect(login_url(&target)));
        }
        _ => return Ok(Outcome::Redirect(login_url(target))),
    };
    if !state.engine.needs_consent(&who.user, valid).await? {
        return Ok(Outcome::Redirect(issue(state, valid, &who).await));
    }
    if valid.prompt.none {
        let url = redirect_error(
            state,
            valid,
            "consent_required",
            "the user has not granted these scopes",
        );
        return Ok(Outcome::Redirect(url));
    }
    Ok(Outcome::Page(consent_page(state, jar, valid, &who, target)))
}

/// OIDC error codes (login_required, consent_required) are not ErrorKinds; build the URL.
fn redirect_error(
    state: &AppState,
    valid: &ValidAuthorization,
    code: &str,
    description: &str,
) -> String {
    let mut params = vec![("error", code), ("error_description", description)];
    if let Some(s) = &valid.state {
        params.push(("state", s));
    }
    params.push(("iss", state.engine.issuer()));
    valid.response_mode.deliver(&valid.redirect_uri, &params)
}

async fn issue(state: &AppState, valid: &ValidAuthorization, who: &SignedIn) -> String {
    match state.engine.issue_code(valid, who).await {
        Ok(url) => url,
        Err(e) => valid.error_redirect(state.engine.issuer(), &e),
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
        document_host: valid.document.as_ref().map(|d| d.host.as_str()),
        client_uri: valid
            .document
            .as_ref()
            .and_then(|d| d.client_uri.as_deref()),
        logo_uri: valid.document.as_ref().and_then(|d| same_host_logo(d)),
    };
    let logo_origin = page.logo_uri.and_then(|l| url::Url::parse(l).ok());
    let page = (jar, html(StatusCode::OK, page.render())).into_response();
    let mut csp = csp_allowing(&valid.redirect_uri);
    if let (Some(v), Some(logo)) = (&csp, logo_origin) {
        let origin = logo.origin().ascii_serialization();
        let widened = v
            .to_str()
            .ok()
            .map(|s| s.replacen("img-src 'self'", &format!("img-src 'self' {origin}"), 1));
        csp = widened.and_then(|s| axum::http::HeaderValue::from_str(&s).ok());
    }
    with_csp(page, csp)
}

/// A metadata document's `logo_uri`, if it is `https` on the document's own host (no other
/// host learns who is looking at the page).
fn same_host_logo(d: &tollgate_core::metadata_document::DocumentClient) -> Option<&str> {
    let logo = d.logo_uri.as_deref()?;
    let url = url::Url::parse(logo).ok()?;
    let safe = !logo.contains([';', ',', '\'', ' ']);
    let same_host = tollgate_core::metadata_document::display_host(&url) == d.host;
    (url.scheme() == "https" && same_host && safe).then_some(logo)
}

/// The client redirect URI an authorization URL of ours would end on, if it is valid.
pub(crate) async fn redirect_target(state: &AppState, target: &str) -> Option<String> {
    let (path, query) = target.split_once('?')?;
    let endpoint = state.dialects.authorize_endpoint(path)?;
    let params = (endpoint.parse)(&Params::parse(query.as_bytes())).ok()?;
    let valid = state.engine.validate_authorization(&params).await.ok()?;
    Some(valid.redirect_uri)
}

pub async fn consent_submit(
    State(state): State<AppState>,
    CheckedForm { form, jar }: CheckedForm,
) -> Result<Response, PageError> {
    let field = |n: &str| form.one(n).ok().flatten();
    let target = field("continue")
        .filter(|t| safe_continue(&state, t))
        .ok_or_else(|| PageError::bad_request("The authorization request is missing."))?;
    let Some(who) = signed_in(&state, &jar).await? else {
        return Ok(login_redirect(&target));
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let endpoint = state
        .dialects
        .authorize_endpoint(path)
        .ok_or_else(|| PageError::bad_request("The authorization request is missing."))?;
    let issuer = state.engine.issuer();
    let params = (endpoint.parse)(&Params::parse(query.as_bytes()));
    let valid = match validate(&state, params).await? {
        Ok(v) => v,
        Err(url) => return Ok(to_client(endpoint.consent_redirect, &url, issuer)),
    };
    let url = if field("decision").as_deref() == Some("approve") {
        state.engine.remember_consent(&who.user, &valid).await?;
        issue(&state, &valid, &who).await
    } else {
        let err = OAuthError::new(ErrorKind::AccessDenied, "the user denied the request");
        valid.error_redirect(issuer, &err)
    };
    Ok(to_client(endpoint.consent_redirect, &url, issuer))
}

/// A response for the client after consent: a self-posting form for form_post, else the
/// dialect's redirect.
fn to_client(redirect: fn(&str, &str) -> Response, url: &str, issuer: &str) -> Response {
    form_post::page(url).unwrap_or_else(|| redirect(url, issuer))
}
