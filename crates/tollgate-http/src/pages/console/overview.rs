//! `/console`: the account at a glance.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use tollgate_core::console::Overview;
use tollgate_core::keys::StoredKey;

use tollgate_core::model::SignInPolicy;

use super::{Console, ConsoleError, ConsoleResult, Frame, notice, see_other, span, when};
use crate::pages::{CheckedForm, field};
use crate::state::AppState;

pub(super) struct KeyRow {
    kid: String,
    algorithm: &'static str,
    state: String,
    age: String,
    created: String,
}

fn key_row(k: &StoredKey, now: i64) -> KeyRow {
    let state = match (k.retires_at, k.expires_at) {
        _ if k.activates_at > now => format!("published, signs from {}", when(k.activates_at)),
        (Some(r), Some(e)) if r <= now => format!("retired, published until {}", when(e)),
        (Some(r), _) => format!("signing until {}", when(r)),
        (None, _) => "signing".to_owned(),
    };
    KeyRow {
        kid: k.kid.clone(),
        algorithm: k.algorithm.as_str(),
        state,
        age: span(now - k.created_at),
        created: when(k.created_at),
    }
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    frame: Frame,
    overview: Overview,
    keys: Vec<KeyRow>,
    sign_in_policy: &'static str,
    policies: &'static [(&'static str, &'static str)],
}

/// The account's sign-in policy choices: value and words.
const POLICIES: [(&str, &str); 3] = [
    ("password", "Password only"),
    ("optional", "Second factor optional (asked for once set up)"),
    (
        "required",
        "Second factor required (set up at the next sign-in)",
    ),
];

pub(crate) async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let overview = state.engine.overview(&console.account).await?;
    let (_, policy) = state
        .engine
        .node_admin()
        .sign_in_policy(&console.caller(), None)
        .await?;
    let now = state.now();
    let page = OverviewPage {
        frame: console.frame_noting("overview", notice(query.as_deref())),
        keys: overview.keys.iter().map(|k| key_row(k, now)).collect(),
        overview,
        sign_in_policy: policy.as_str(),
        policies: &POLICIES,
    };
    Ok(console.page(StatusCode::OK, page.render()))
}

/// Sets the account's sign-in policy.
pub(crate) async fn set_sign_in_policy(
    State(state): State<AppState>,
    console: Console,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let Ok(policy) = field(&form, "sign_in_policy").parse::<SignInPolicy>() else {
        return Err(ConsoleError::Page(crate::error::PageError::bad_request(
            "Choose password, optional or required.",
        )));
    };
    state
        .engine
        .node_admin()
        .set_account_sign_in_policy(&console.caller(), None, policy)
        .await?;
    Ok(see_other(console.jar, "/console?notice=saved"))
}
