//! `/console/sessions`: the account's active refresh-token families, by user and app, with
//! revoke.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::{Console, ConsoleResult, Frame, PathId, notice, see_other, when};
use crate::pages::CheckedForm;
use crate::state::AppState;

pub(super) struct SessionRow {
    id: String,
    user: String,
    app: String,
    app_sid: String,
    scopes: String,
    signed_in: String,
    last_used: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct ListPage {
    frame: Frame,
    sessions: Vec<SessionRow>,
    limit: i64,
}

/// What the rows show for an app or a user, by id.
fn by_id<T>(items: Vec<T>, entry: impl FnMut(T) -> (String, String)) -> HashMap<String, String> {
    items.into_iter().map(entry).collect()
}

pub(crate) async fn list(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let (admin, account) = (state.engine.node_admin(), Some(&console.account));
    let families = admin.active_sessions(&console.account).await?;
    let apps = by_id(admin.clients(account).await?, |c| {
        (c.id.to_string(), c.friendly_name)
    });
    let users = by_id(admin.users(account).await?, |u| {
        (u.sid.to_string(), u.email)
    });
    let sessions = families
        .into_iter()
        .map(|f| {
            let app_sid = f.family.client_id.to_string();
            let user_sid = f.family.user_sid.to_string();
            SessionRow {
                id: f.family.id.clone(),
                // A user of another account may have signed in to this account's app: that
                // user's details are the other account's, so they are not shown.
                user: users
                    .get(&user_sid)
                    .cloned()
                    .unwrap_or_else(|| "a user of another account".to_owned()),
                app: apps
                    .get(&app_sid)
                    .cloned()
                    .unwrap_or_else(|| app_sid.clone()),
                app_sid,
                scopes: f.family.scopes.join(" "),
                signed_in: when(f.family.auth_time),
                last_used: when(f.last_issued_at),
                expires: when(f.expires_at),
            }
        })
        .collect();
    let page = ListPage {
        frame: console.frame_noting("sessions", notice(query.as_deref())),
        sessions,
        limit: tollgate_core::console::SESSION_LIST_LIMIT,
    };
    Ok(console.page(StatusCode::OK, page.render()))
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    console: Console,
    PathId(id): PathId,
    _form: CheckedForm,
) -> ConsoleResult {
    state
        .engine
        .node_admin()
        .revoke_session(&console.account, &id)
        .await?;
    Ok(see_other(console.jar, "/console/sessions?notice=revoked"))
}
