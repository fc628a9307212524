//! `/v1/Account/Registration`: the caller's RFC 7591 registration policy, and the initial
//! access tokens it hands to developers (shown once, stored by digest).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tollgate_core::OAuthError;
use tollgate_core::admin::issued_token_view;
use tollgate_core::model::RegistrationPolicy;
use utoipa::openapi::Response as ApiResponse;

use super::{ApiAccount, ApiError, body, caller};
use crate::openapi::{Op, integer, json as json_response, object, string};
use crate::render::NO_STORE;
use crate::routes::Routes;
use crate::state::AppState;

const POLICY: &str = "/v1/Account/Registration";
const TOKENS: &str = "/v1/Account/Registration/InitialAccessTokens";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    policy: Option<RegistrationPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    ttl: Option<u32>,
    uses: Option<u32>,
}

fn policy_view(state: &AppState, account: &str, policy: RegistrationPolicy) -> Response {
    Json(json!({
        "account_sid": account,
        "policy": policy.as_str(),
        "registration_endpoint": state.endpoint_url("/oauth/register"),
    }))
    .into_response()
}

async fn show(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let (sid, policy) = admin.registration_policy(&caller(&account), None).await?;
    Ok(policy_view(&state, sid.as_str(), policy))
}

async fn set(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let policy = body::<PolicyBody>(req)
        .await?
        .policy
        .ok_or_else(|| OAuthError::invalid_request("policy is required (off, token or open)"))?;
    let admin = state.engine.node_admin();
    let sid = admin
        .set_registration_policy(&caller(&account), None, policy)
        .await?;
    Ok(policy_view(&state, sid.as_str(), policy))
}

async fn issue(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let b = body::<TokenBody>(req).await?;
    let admin = state.engine.node_admin();
    let (t, secret) = admin
        .issue_initial_access_token(&caller(&account), None, b.ttl, b.uses)
        .await?;
    let view = issued_token_view(&t, &secret);
    Ok((StatusCode::CREATED, NO_STORE, Json(view)).into_response())
}

pub(super) fn routes(err: &ApiResponse) -> Routes {
    let policy = object(vec![
        ("account_sid", string(), true),
        ("policy", string(), true),
        ("registration_endpoint", string(), true),
    ]);
    let token = object(vec![
        ("account_sid", string(), true),
        ("initial_access_token", string(), true),
        ("expires_at", integer(), true),
        ("uses", integer(), true),
    ]);
    let policy_body = object(vec![("policy", string(), true)]);
    let token_body = object(vec![("ttl", integer(), false), ("uses", integer(), false)]);
    let summaries = [
        "The account's dynamic registration policy (off, token or open)",
        "Set the account's dynamic registration policy",
    ];
    super::routes::policy_routes(POLICY, summaries, (policy, policy_body), err, show, set).route(
        Op::post(TOKENS, "admin")
            .summary("Issue an RFC 7591 initial access token (shown once)")
            .json_body(token_body, false)
            .respond("201", json_response("The token", token))
            .respond_all(&["400", "401", "429"], err),
        issue,
    )
}
