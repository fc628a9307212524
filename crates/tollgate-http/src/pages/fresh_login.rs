//! `prompt=login` (OIDC Core section 3.1.2.1) asks for a sign-in made for this authorization
//! request. Before sending the person to sign in, the request's URL gets a marker: when the
//! sign-in was made and a tag binding that time to the rest of the URL. Back at the
//! authorization endpoint, a session signed in at or after the marked time satisfies the
//! requirement, once, for this request only; the same works for a pushed request (whose URL is
//! just its `request_uri`), where stripping `prompt` from the URL could not.

use crate::state::AppState;

const MARKER: &str = "tg_login_after";

/// `target` split into its path and its query pairs other than the marker, re-encoded the same
/// way whenever it is tagged or checked.
fn unmarked(target: &str) -> (&str, String, Option<String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut out = form_urlencoded::Serializer::new(String::new());
    let mut marker = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == MARKER {
            marker = Some(v.into_owned());
        } else {
            out.append_pair(&k, &v);
        }
    }
    (path, out.finish(), marker)
}

fn tag(state: &AppState, at: &str, path: &str, query: &str) -> String {
    state.engine.page_mac(&[
        b"fresh-login",
        at.as_bytes(),
        path.as_bytes(),
        query.as_bytes(),
    ])
}

/// `target` marked to require a sign-in from now on.
pub(crate) fn mark(state: &AppState, target: &str) -> String {
    let (path, query, _) = unmarked(target);
    let at = state.now().to_string();
    let value = format!("{at}.{}", tag(state, &at, path, &query));
    let marker = form_urlencoded::Serializer::new(String::new())
        .append_pair(MARKER, &value)
        .finish();
    if query.is_empty() {
        format!("{path}?{marker}")
    } else {
        format!("{path}?{query}&{marker}")
    }
}

/// Whether `target` carries a genuine marker that a sign-in at `auth_time` satisfies.
pub(crate) fn satisfied(state: &AppState, target: &str, auth_time: i64) -> bool {
    let (path, query, marker) = unmarked(target);
    let Some((at, mac)) = marker.as_deref().and_then(|m| m.split_once('.')) else {
        return false;
    };
    let Ok(since) = at.parse::<i64>() else {
        return false;
    };
    state.engine.verify_page_mac(
        &[
            b"fresh-login",
            at.as_bytes(),
            path.as_bytes(),
            query.as_bytes(),
        ],
        mac,
    ) && auth_time >= since
}
