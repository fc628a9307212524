//! `/v1/Account/Resources`: the caller's API resources (audiences) and the accounts it grants
//! them to (DESIGN section 14). Another account's resource answers 404, like its apps.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tollgate_core::OAuthError;
use tollgate_core::admin::ResourceSpec;
use tollgate_core::ids::{AccountSid, ResourceSid};
use tollgate_core::model::Resource;
use utoipa::openapi::Response as ApiResponse;
use utoipa::openapi::schema::Schema;

use super::{ApiAccount, ApiError, PathSid, body, caller};
use crate::openapi::{
    Op, array_of, body as request_body, empty, json, nullable_string, object, string, strings,
};
use crate::render::rfc2822;
use crate::routes::Routes;
use crate::state::AppState;

const BASE: &str = "/v1/Account/Resources";
const ONE: &str = "/v1/Account/Resources/{sid}";
const GRANTS: &str = "/v1/Account/Resources/{sid}/Grants";
const GRANT: &str = "/v1/Account/Resources/{sid}/Grants/{account_sid}";

#[derive(Serialize)]
struct ResourceView {
    sid: String,
    identifier: String,
    account_sid: String,
    friendly_name: String,
    scopes: Vec<String>,
    granted_to: Vec<String>,
    date_created: Option<String>,
    date_updated: Option<String>,
    url: String,
}

fn view(state: &AppState, r: &Resource) -> ResourceView {
    ResourceView {
        sid: r.sid.to_string(),
        identifier: r.identifier.clone(),
        account_sid: r.account_sid.to_string(),
        friendly_name: r.friendly_name.clone(),
        scopes: r.scopes.clone(),
        granted_to: r.granted_to.iter().map(ToString::to_string).collect(),
        date_created: rfc2822(r.created_at),
        date_updated: rfc2822(r.updated_at),
        url: format!("{}{BASE}/{}", state.engine.issuer(), r.sid),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceBody {
    identifier: Option<String>,
    friendly_name: Option<String>,
    scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    account_sid: Option<String>,
}

/// The path's resource SID; anything else is no resource of the caller's.
fn resource_sid(raw: &str) -> Result<ResourceSid, ApiError> {
    ResourceSid::parse(raw).map_err(|_| ApiError::NotFound)
}

async fn create(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    req: Request,
) -> Result<Response, ApiError> {
    let b = body::<ResourceBody>(req).await?;
    let identifier = b
        .identifier
        .ok_or_else(|| OAuthError::invalid_request("identifier is required"))?;
    let spec = ResourceSpec {
        identifier,
        account_sid: None,
        friendly_name: b.friendly_name,
        scopes: b.scopes.unwrap_or_default(),
    };
    let admin = state.engine.node_admin();
    let r = admin.create_resource(&caller(&account), spec).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &r))).into_response())
}

async fn list(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let found = admin.resources(&caller(&account), None).await?;
    let views: Vec<ResourceView> = found.iter().map(|r| view(&state, r)).collect();
    Ok(Json(serde_json::json!({ "resources": views })).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    PathSid(sid): PathSid,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    let r = admin
        .resource_for(&caller(&account), &resource_sid(&sid)?)
        .await?;
    Ok(Json(view(&state, &r)).into_response())
}

async fn delete(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    PathSid(sid): PathSid,
) -> Result<Response, ApiError> {
    let admin = state.engine.node_admin();
    admin
        .delete_resource(&caller(&account), &resource_sid(&sid)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn grant(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    PathSid(sid): PathSid,
    req: Request,
) -> Result<Response, ApiError> {
    let (admin, me) = (state.engine.node_admin(), caller(&account));
    // Another account's resource answers 404 before the body is read.
    let sid = admin.resource_for(&me, &resource_sid(&sid)?).await?.sid;
    let raw = body::<GrantBody>(req)
        .await?
        .account_sid
        .ok_or_else(|| OAuthError::invalid_request("account_sid is required"))?;
    let to = AccountSid::parse(&raw).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let r = admin.set_resource_grant(&me, &sid, &to, true).await?;
    Ok(Json(view(&state, &r)).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    ApiAccount(account): ApiAccount,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path((sid, from))) = path else {
        return Err(ApiError::NotFound);
    };
    let from = AccountSid::parse(&from).map_err(|_| ApiError::NotFound)?;
    let admin = state.engine.node_admin();
    let r = admin
        .set_resource_grant(&caller(&account), &resource_sid(&sid)?, &from, false)
        .await?;
    Ok(Json(view(&state, &r)).into_response())
}

fn resource() -> Schema {
    object(vec![
        ("sid", string(), true),
        ("identifier", string(), true),
        ("account_sid", string(), true),
        ("friendly_name", string(), true),
        ("scopes", strings(), true),
        ("granted_to", strings(), true),
        ("date_created", nullable_string(), true),
        ("date_updated", nullable_string(), true),
        ("url", string(), true),
    ])
}

/// The resource endpoints, each with its OpenAPI operation.
pub(super) fn routes(err: &ApiResponse) -> Routes {
    let tag = "admin";
    let one = || json("The resource", resource());
    let list_body = object(vec![("resources", array_of(resource()), true)]);
    let create_body = object(vec![
        ("identifier", string(), true),
        ("friendly_name", string(), false),
        ("scopes", strings(), false),
    ]);
    Routes::new()
        .route(
            Op::get(BASE, tag)
                .summary("The account's API resources (audiences) and whom they are granted to")
                .respond("200", json("Resources", list_body))
                .respond_all(&["401", "429"], err),
            list,
        )
        .route(
            Op::post(BASE, tag)
                .summary(
                    "Register an API resource; the first account to register an identifier owns it",
                )
                .body(request_body(vec![("application/json", create_body)], true))
                .respond("201", one())
                .respond_all(&["400", "401", "429"], err),
            create,
        )
        .route(
            Op::get(ONE, tag)
                .path_param("sid")
                .summary("One resource")
                .respond("200", one())
                .respond_all(&["401", "404", "429"], err),
            fetch,
        )
        .route(
            Op::delete(ONE, tag)
                .path_param("sid")
                .summary("Delete a resource no app names any more")
                .respond("204", empty("Deleted"))
                .respond_all(&["400", "401", "404", "429"], err),
            delete,
        )
        .merge(grant_routes(err))
}

/// Granting a resource to another account and revoking the grant.
fn grant_routes(err: &ApiResponse) -> Routes {
    let tag = "admin";
    let one = || json("The resource", resource());
    let grant_body = object(vec![("account_sid", string(), true)]);
    Routes::new()
        .route(
            Op::post(GRANTS, tag)
                .path_param("sid")
                .summary("Let another account's apps name the resource")
                .body(request_body(vec![("application/json", grant_body)], true))
                .respond("200", one())
                .respond_all(&["400", "401", "404", "429"], err),
            grant,
        )
        .route(
            Op::delete(GRANT, tag)
                .path_param("sid")
                .path_param("account_sid")
                .summary("Revoke a grant: that account's apps get invalid_target for it")
                .respond("200", one())
                .respond_all(&["400", "401", "404", "429"], err),
            revoke,
        )
}
