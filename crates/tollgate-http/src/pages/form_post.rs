//! OAuth 2.0 Form Post Response Mode: the authorization response as an HTML form that posts
//! itself to the client's redirect URI. The page's CSP allows exactly its one inline script
//! (by hash) and a form submission to the redirect URI's origin; without JavaScript a button
//! submits it.

use askama::Template;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::{csp_allowing, html, with_csp};

/// The page's only script; its hash is in the CSP.
const SUBMIT: &str = "document.getElementById('response').submit();";

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: Vec<(String, String)>,
    script: &'a str,
}

/// The self-posting page for a form_post response URL, or `None` for any other URL.
pub(crate) fn page(url: &str) -> Option<Response> {
    let (action, fields) = tollgate_core::oidc_params::form_post(url)?;
    let page = FormPostPage {
        action,
        fields,
        script: SUBMIT,
    };
    let resp = html(StatusCode::OK, page.render());
    Some(with_csp(resp, csp(action)))
}

fn csp(action: &str) -> Option<HeaderValue> {
    let base = csp_allowing(action)?;
    let hash = tollgate_core::jose::sha256_b64url(SUBMIT.as_bytes())
        .replace('-', "+")
        .replace('_', "/");
    let value = format!("{}; script-src 'sha256-{hash}='", base.to_str().ok()?);
    HeaderValue::from_str(&value).ok()
}
