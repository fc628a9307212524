//! What OpenID Connect logout needs beside the browser sessions: the session an authorization
//! code came from, and the clients (with their refresh families) each session signed in to.

use sqlx::any::AnyRow;
use tollgate_core::ids::ClientId;
use tollgate_core::model::SessionClient;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, read_all, read_row};

fn link_from(r: &AnyRow) -> StoreResult<SessionClient> {
    Ok(by_name!(
        r,
        SessionClient {
            session_sid,
            client_id: r.id("client_sid", "client sid", ClientId::parse)?,
            family_id,
            created_at,
            expires_at,
        }
    ))
}

pub(crate) async fn session_clients(db: &Db, sid: &str) -> StoreResult<Vec<SessionClient>> {
    let q = sqlx::query(
        "SELECT session_sid, client_sid, family_id, created_at, expires_at \
         FROM session_clients WHERE session_sid = $1 ORDER BY created_at, client_sid",
    )
    .bind(sid);
    read_all(db, q, link_from).await
}

pub(crate) async fn family_session(db: &Db, family_id: &str) -> StoreResult<Option<String>> {
    let q = sqlx::query_as("SELECT session_sid FROM session_clients WHERE family_id = $1")
        .bind(family_id);
    let row: Option<(String,)> = read_row(db, q).await?;
    Ok(row.map(|(s,)| s))
}
