//! A Twilio-shaped Messages API protected by Tollgate: the end of the token guide.
//!
//! ```sh
//! cargo run --release -p tollgate-sdk --example messages_api -- \
//!     --issuer http://127.0.0.1:8080 --listen 127.0.0.1:3000
//! ```
//!
//! `GET /2010-04-01/Accounts/{AccountSid}/Messages.json` lists the account's messages and
//! `POST` (form `To`, `From`, `Body`) creates one, for a token whose `account_sid` is that
//! account (403 otherwise; 401 without a valid token).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_sdk::{Authenticated, RequireToken, Validator};

#[derive(Clone, Default)]
pub struct Messages {
    by_account: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    next: Arc<AtomicU64>,
}

#[derive(Deserialize)]
pub struct NewMessage {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Body")]
    body: String,
}

/// The API: one layer checks the token, the handlers check the account.
pub fn router(validator: Validator) -> Router {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account_sid}/Messages.json",
            get(list).post(create),
        )
        .layer(RequireToken::new(validator))
        .with_state(Messages::default())
}

/// Twilio's error body, for a token of another account.
fn forbidden(account: &str) -> Response {
    let body = json!({
        "code": 20403,
        "message": format!("this token may not act for account {account}"),
        "more_info": "https://www.twilio.com/docs/errors/20403",
        "status": 403,
    });
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

fn may_act_for(claims: &tollgate_sdk::Claims, account: &str) -> bool {
    claims.account_sid.as_deref() == Some(account)
}

async fn list(
    State(messages): State<Messages>,
    Authenticated(claims): Authenticated,
    Path(account): Path<String>,
) -> Response {
    if !may_act_for(&claims, &account) {
        return forbidden(&account);
    }
    let list = messages
        .by_account
        .lock()
        .map(|m| m.get(&account).cloned().unwrap_or_default())
        .unwrap_or_default();
    Json(json!({
        "messages": list,
        "page": 0,
        "page_size": 50,
        "uri": format!("/2010-04-01/Accounts/{account}/Messages.json"),
    }))
    .into_response()
}

async fn create(
    State(messages): State<Messages>,
    Authenticated(claims): Authenticated,
    Path(account): Path<String>,
    Form(new): Form<NewMessage>,
) -> Response {
    if !may_act_for(&claims, &account) {
        return forbidden(&account);
    }
    let n = messages.next.fetch_add(1, Ordering::Relaxed);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let message = json!({
        "sid": format!("SM{:032x}", u128::from(n) ^ 0x5eed_0000_0000_0000_0000_0000_0000_0000),
        "account_sid": account,
        "to": new.to,
        "from": new.from,
        "body": new.body,
        "status": "queued",
        "date_created": now,
    });
    if let Ok(mut m) = messages.by_account.lock() {
        m.entry(account).or_default().push(message.clone());
    }
    (StatusCode::CREATED, Json(message)).into_response()
}

#[derive(clap::Parser)]
struct Args {
    /// Tollgate's issuer URL.
    #[arg(long)]
    issuer: String,
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// The `aud` this API accepts (default: the issuer, Tollgate's default audience).
    #[arg(long)]
    audience: Option<String>,
    /// Ask Tollgate about every token (RFC 7662), so a revoked token is refused at once;
    /// takes a confidential client as `CLIENT_ID:SECRET` (or `TOLLGATE_INTROSPECT_AS`).
    #[arg(long, env = "TOLLGATE_INTROSPECT_AS")]
    introspect_as: Option<String>,
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = <Args as clap::Parser>::parse();
    let audience = args
        .audience
        .unwrap_or_else(|| args.issuer.trim_end_matches('/').to_owned());
    let mut builder = Validator::discover(&args.issuer).audience(audience);
    if let Some(pair) = &args.introspect_as {
        let (id, secret) = pair
            .split_once(':')
            .ok_or("--introspect-as takes CLIENT_ID:SECRET")?;
        builder = builder.introspection(id, secret).check_revocation(true);
    }
    let validator = builder.build().await?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!("Messages API on http://{}", listener.local_addr()?);
    axum::serve(listener, router(validator)).await?;
    Ok(())
}
