//! Authorization request parameters beyond RFC 6749: OIDC Core 3.1.2.1 `max_age`, the
//! response modes (OAuth 2.0 Multiple Response Type Encoding Practices, Form Post Response
//! Mode) and RFC 9449 section 10 `dpop_jkt`.

use url::form_urlencoded;

use crate::authorize::{AuthorizeParams, ValidAuthorization, redirect_with};

/// The response modes discovery advertises.
pub const RESPONSE_MODES: [&str; 3] = ["query", "fragment", "form_post"];

/// Where the authorization response's parameters go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseMode {
    #[default]
    Query,
    Fragment,
    /// An auto-submitting HTML form the HTTP layer renders from a [`form_post`] URL.
    FormPost,
}

/// What a form_post response URL carries in its fragment before the parameters, so the HTTP
/// layer can tell it from a fragment response. Such a URL never leaves the server.
const FORM_POST_MARKER: &str = "tollgate-form-post";

impl ResponseMode {
    /// The response URL: `params` in the query, in the fragment, or marked for a form post.
    pub fn deliver(self, base: &str, params: &[(&str, &str)]) -> String {
        let encoded = || {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                q.append_pair(k, v);
            }
            q.finish()
        };
        match self {
            ResponseMode::Query => redirect_with(base, params),
            ResponseMode::Fragment => format!("{base}#{}", encoded()),
            ResponseMode::FormPost => format!("{base}#{FORM_POST_MARKER}&{}", encoded()),
        }
    }
}

/// A form_post response: the URL to post to and the fields, or `None` for any other URL.
pub fn form_post(url: &str) -> Option<(&str, Vec<(String, String)>)> {
    let (action, fragment) = url.split_once('#')?;
    let fields = fragment.strip_prefix(FORM_POST_MARKER)?.strip_prefix('&')?;
    let fields = form_urlencoded::parse(fields.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Some((action, fields))
}

pub(crate) fn response_mode(params: &AuthorizeParams) -> Result<ResponseMode, &'static str> {
    match params.response_mode.as_deref().unwrap_or_default() {
        "" | "query" => Ok(ResponseMode::Query),
        "fragment" => Ok(ResponseMode::Fragment),
        "form_post" => Ok(ResponseMode::FormPost),
        _ => Err("response_mode must be query, fragment or form_post"),
    }
}

/// `max_age` and `dpop_jkt`, checked once the rest of the request is valid.
pub(crate) fn extend(
    params: &AuthorizeParams,
    valid: &mut ValidAuthorization,
) -> Result<(), &'static str> {
    if let Some(m) = params.max_age.as_deref().filter(|m| !m.is_empty()) {
        let secs = m
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or("max_age must be a non-negative number of seconds")?;
        valid.max_age = Some(secs);
    }
    if let Some(jkt) = params.dpop_jkt.as_deref().filter(|j| !j.is_empty()) {
        // An RFC 7638 SHA-256 thumbprint, base64url without padding.
        let well_formed = jkt.len() == 43
            && jkt
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if !well_formed {
            return Err("dpop_jkt must be a base64url SHA-256 JWK thumbprint");
        }
        valid.dpop_jkt = Some(jkt.to_owned());
    }
    Ok(())
}

impl ValidAuthorization {
    /// OIDC Core 3.1.2.1: whether a sign-in at `auth_time` is too old for this request
    /// (`max_age=0` always is, like `prompt=login`).
    pub fn sign_in_too_old(&self, auth_time: i64, now: i64) -> bool {
        self.max_age
            .is_some_and(|max| max == 0 || now.saturating_sub(auth_time) > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_put_parameters_where_they_belong() {
        let p = [("code", "a b"), ("state", "s")];
        assert_eq!(
            ResponseMode::Query.deliver("https://c.example/cb?x=1", &p),
            "https://c.example/cb?x=1&code=a+b&state=s"
        );
        assert_eq!(
            ResponseMode::Fragment.deliver("https://c.example/cb", &p),
            "https://c.example/cb#code=a+b&state=s"
        );
        let post = ResponseMode::FormPost.deliver("https://c.example/cb", &p);
        let (action, fields) = form_post(&post).expect("form post");
        assert_eq!(action, "https://c.example/cb");
        assert_eq!(fields[0], ("code".to_owned(), "a b".to_owned()));
        assert!(form_post("https://c.example/cb#code=x").is_none());
    }
}
