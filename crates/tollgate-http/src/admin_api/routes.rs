//! The admin API's routes, each with its OpenAPI operation.

use axum::handler::Handler;
use utoipa::openapi::Response;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::Schema;

use super::{
    create, create_user, delete, fetch, list, list_users, rotate_auth_token, rotate_secret, update,
    update_user,
};
use crate::openapi::{
    Field, Op, body, boolean, empty, integer, json, nullable_string, object, string, strings,
};
use crate::routes::Routes;
use crate::state::AppState;

const TAG: &str = "admin";

pub fn router() -> Routes {
    let err = json("Twilio error", crate::dialects::twilio::error_schema());
    Routes::new()
        .merge(apps(&err))
        .merge(one_app(&err))
        .merge(auth_token(&err))
        .merge(users(&err))
        .merge(super::resources::routes(&err))
        .merge(super::registration::routes(&err))
        .merge(super::sign_in::routes(&err))
}

/// The GET and POST of an account's policy: both answer with the policy.
pub(super) fn policy_routes<S, ST, P, PT>(
    path: &'static str,
    [get_summary, post_summary]: [&'static str; 2],
    (policy, policy_body): (Schema, Schema),
    err: &Response,
    show: S,
    set: P,
) -> Routes
where
    S: Handler<ST, AppState>,
    ST: 'static,
    P: Handler<PT, AppState>,
    PT: 'static,
{
    Routes::new()
        .route(
            Op::get(path, TAG)
                .summary(get_summary)
                .respond("200", json("The policy", policy.clone()))
                .respond_all(&["401", "429"], err),
            show,
        )
        .route(
            Op::post(path, TAG)
                .summary(post_summary)
                .json_body(policy_body, true)
                .respond("200", json("The policy", policy))
                .respond_all(&["400", "401", "429"], err),
            set,
        )
}

/// An app's settings, in the order the API shows them. In an answer (`answer`) each is marked
/// as it is always there or not; create and update take each, none required.
fn app_settings(answer: bool) -> Vec<Field> {
    // An answer shows no lifetime as null.
    let ttl = if answer {
        crate::openapi::any()
    } else {
        integer()
    };
    let settings = vec![
        ("friendly_name", string(), true),
        ("grant_types", strings(), true),
        ("redirect_uris", strings(), true),
        ("scopes", strings(), true),
        ("audiences", strings(), true),
        ("access_token_ttl", ttl, true),
        ("token_format", string(), true),
        ("public", boolean(), true),
        ("require_pkce", boolean(), true),
        ("token_endpoint_auth_method", string(), true),
        ("jwks", crate::openapi::any(), false),
        ("jwks_uri", string(), false),
        ("require_pushed_authorization_requests", boolean(), true),
        ("dpop_bound_access_tokens", boolean(), true),
        ("profile", string(), true),
        ("id_token_signed_response_alg", string(), false),
        ("require_signed_request_object", boolean(), true),
        ("post_logout_redirect_uris", strings(), true),
        ("backchannel_logout_uri", string(), false),
    ];
    settings
        .into_iter()
        .map(|(name, schema, always)| (name, schema, answer && always))
        .collect()
}

/// An app as the API shows it.
fn app() -> Schema {
    let mut fields = vec![("sid", string(), true), ("account_sid", string(), true)];
    fields.extend(app_settings(true));
    fields.extend([
        ("date_created", nullable_string(), true),
        ("date_updated", nullable_string(), true),
        ("url", string(), true),
        ("secret", string(), false),
    ]);
    object(fields)
}

/// An app's settings, as create and update take them.
fn app_body() -> RequestBody {
    body(
        vec![("application/json", object(app_settings(false)))],
        false,
    )
}

/// `/v1/Account/OAuthApps`: list and create.
fn apps(err: &Response) -> Routes {
    let apps = object(vec![("oauth_apps", crate::openapi::array_of(app()), true)]);
    Routes::new()
        .route(
            Op::get("/v1/Account/OAuthApps", TAG)
                .summary("The account's OAuth apps (HTTP Basic AccountSid:AuthToken)")
                .respond("200", json("Apps", apps))
                .respond_all(&["401", "429"], err),
            list,
        )
        .route(
            Op::post("/v1/Account/OAuthApps", TAG)
                .summary("Create an OAuth app; the secret is in this answer only")
                .body(app_body())
                .respond("201", json("The app", app()))
                .respond_all(&["400", "401", "429"], err),
            create,
        )
}

/// `/v1/Account/OAuthApps/{sid}` and its secret.
fn one_app(err: &Response) -> Routes {
    let one = "/v1/Account/OAuthApps/{sid}";
    Routes::new()
        .route(
            Op::get(one, TAG)
                .path_param("sid")
                .summary("One app")
                .respond("200", json("The app", app()))
                .respond_all(&["401", "404", "429"], err),
            fetch,
        )
        .route(
            Op::post(one, TAG)
                .path_param("sid")
                .summary("Update an app")
                .body(app_body())
                .respond("200", json("The app", app()))
                .respond_all(&["400", "401", "404", "429"], err),
            update,
        )
        .route(
            Op::delete(one, TAG)
                .path_param("sid")
                .summary("Delete an app")
                .respond("204", empty("Deleted"))
                .respond_all(&["401", "404", "429"], err),
            delete,
        )
        .route(
            Op::post("/v1/Account/OAuthApps/{sid}/Secret", TAG)
                .path_param("sid")
                .summary("Rotate an app's secret; the new one is in this answer only")
                .respond("200", json("The app", app()))
                .respond_all(&["401", "404", "429"], err),
            rotate_secret,
        )
}

fn auth_token(err: &Response) -> Routes {
    let token = object(vec![
        ("account_sid", string(), true),
        ("auth_token", string(), true),
        ("date_updated", nullable_string(), true),
    ]);
    Routes::new().route(
        Op::post("/v1/Account/AuthToken", TAG)
            .summary("Rotate the account's auth token")
            .respond("200", json("The new token", token))
            .respond_all(&["401", "429"], err),
        rotate_auth_token,
    )
}

/// A user as the API shows it.
fn user() -> Schema {
    object(vec![
        ("sid", string(), true),
        ("account_sid", string(), true),
        ("email", string(), true),
        ("email_verified", boolean(), true),
        ("first_name", nullable_string(), true),
        ("last_name", nullable_string(), true),
        ("friendly_name", nullable_string(), true),
        ("admin", boolean(), true),
        ("date_created", nullable_string(), true),
    ])
}

/// The body that creates a user.
fn new_user() -> Schema {
    object(vec![
        ("email", string(), true),
        ("password", string(), true),
        ("first_name", string(), false),
        ("last_name", string(), false),
        ("friendly_name", string(), false),
        ("admin", boolean(), false),
        ("email_verified", boolean(), false),
    ])
}

fn users(err: &Response) -> Routes {
    Routes::new()
        .route(
            Op::get("/v1/Account/Users", TAG)
                .summary("The account's users")
                .respond(
                    "200",
                    json(
                        "Users",
                        object(vec![("users", crate::openapi::array_of(user()), true)]),
                    ),
                )
                .respond_all(&["401", "429"], err),
            list_users,
        )
        .route(
            Op::post("/v1/Account/Users", TAG)
                .summary("Create a user; admin=true makes an administrator of the account")
                .json_body(new_user(), true)
                .respond("201", json("The user", user()))
                .respond_all(&["400", "401", "429", "503"], err),
            create_user,
        )
        .route(
            Op::post("/v1/Account/Users/{sid}", TAG)
                .path_param("sid")
                .summary(
                    "Update a user: email_verified vouches for the address (or takes it back); \
                     send_verification mails a new verification link",
                )
                .json_body(
                    object(vec![
                        ("email_verified", boolean(), false),
                        ("send_verification", boolean(), false),
                    ]),
                    false,
                )
                .respond("200", json("The user", user()))
                .respond_all(&["400", "401", "404", "429", "503"], err),
            update_user,
        )
}
