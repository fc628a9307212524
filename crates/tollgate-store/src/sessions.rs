//! What OpenID Connect logout needs beside the browser sessions: the session an authorization
//! code came from, and the clients (with their refresh families) each session signed in to.

use sqlx::any::AnyRow;
use tollgate_core::ids::ClientId;
use tollgate_core::model::{CodeSignIn, SessionClient};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::rows::{Columns, by_name};
use crate::sql::{Db, parse_list, read_all, read_row};

pub(crate) async fn code_sign_in(db: &Db, code: &SecretDigest) -> StoreResult<Option<CodeSignIn>> {
    let q = sqlx::query_as("SELECT amr, session_sid FROM code_authn WHERE code_digest = $1")
        .bind(code.to_hex());
    let row: Option<(String, Option<String>)> = read_row(db, q).await?;
    row.map(|(amr, session_sid)| {
        Ok(CodeSignIn {
            amr: parse_list(&amr)?,
            session_sid,
        })
    })
    .transpose()
}

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
