//! `/v1/Account/SignIn`: the caller's sign-in policy (password only, second factor optional,
//! or second factor required and set up at the next sign-in).

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tollgate_core::OAuthError;
use tollgate_core::ids::AccountSid;
use tollgate_core::model::SignInPolicy;
use utoipa::openapi::Response as ApiResponse;

use super::{ApiAccount, ApiError, body, caller};
use crate::openapi::{object, string};
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/v1/Account/SignIn";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    sign_in_policy: Option<String>,
}

fn view(account: &AccountSid, policy: SignInPolicy) -> Response {
    Json(json!({
        "account_sid": account.as_str(),
        "sign_in_policy": policy.as_str(),
    }))
    .into_response()
}

async fn show(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let (sid, policy) = admin.sign_in_policy(&caller(&account), None).await?;
    Ok(view(&sid, policy))
}

async fn set(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let policy = body::<PolicyBody>(req)
        .await?
        .sign_in_policy
        .as_deref()
        .map(str::parse::<SignInPolicy>)
        .and_then(Result::ok)
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "sign_in_policy is required (password, optional or required)",
            )
        })?;
    let admin = state.engine.node_admin();
    let sid = admin
        .set_account_sign_in_policy(&caller(&account), None, policy)
        .await?;
    Ok(view(&sid, policy))
}

pub(super) fn routes(err: &ApiResponse) -> Routes {
    let policy = object(vec![
        ("account_sid", string(), true),
        ("sign_in_policy", string(), true),
    ]);
    let policy_body = object(vec![("sign_in_policy", string(), true)]);
    let summaries = [
        "The account's sign-in policy (password, optional or required)",
        "Set the account's sign-in policy",
    ];
    super::routes::policy_routes(PATH, summaries, (policy, policy_body), err, show, set)
}
