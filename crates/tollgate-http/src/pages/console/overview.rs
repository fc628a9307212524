//! `/console`: the account at a glance.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use tollgate_core::console::Overview;
use tollgate_core::keys::StoredKey;

use super::{Console, ConsoleResult, Frame, notice, span, when};
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
}

pub(crate) async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let overview = state.engine.overview(&console.account).await?;
    let now = state.now();
    let mut frame = console.frame("overview");
    frame.notice = notice(query.as_deref());
    let page = OverviewPage {
        frame,
        keys: overview.keys.iter().map(|k| key_row(k, now)).collect(),
        overview,
    };
    Ok(console.page(StatusCode::OK, page.render()))
}
