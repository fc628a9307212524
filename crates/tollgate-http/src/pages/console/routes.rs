//! The console's routes, each with its OpenAPI operation. They answer HTML (or redirect to sign
//! in) and need a browser's session cookie; forms need its CSRF token.

use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use super::{CONSOLE_CSP, apps, overview, registration, sessions, users};
use crate::openapi::{Op, body, form, html, redirect, text};
use crate::routes::Routes;

const TAG: &str = "console";

const NOTICE: &[(&str, bool)] = &[("notice", false)];

const APP_FIELDS: &[(&str, bool)] = &[
    ("csrf", true),
    ("friendly_name", true),
    ("grant_types", false),
    ("redirect_uris", false),
    ("scopes", false),
    ("audiences", false),
    ("token_format", false),
    ("access_token_ttl", false),
    ("public", false),
];

/// Every console route: to sign in when signed out, 403 for a non-administrator.
fn guarded(op: Op) -> Op {
    op.respond(
        "303",
        redirect("To sign in, or the page showing the change"),
    )
    .respond(
        "403",
        html("Not an administrator, or the form's CSRF token is wrong"),
    )
    .respond(
        "503",
        html("The server is busy or its database unavailable"),
    )
}

fn page() -> utoipa::openapi::Response {
    html("A console page")
}

fn get(path: &'static str, summary: &'static str, query: &[(&'static str, bool)]) -> Op {
    guarded(
        Op::get(path, TAG)
            .summary(summary)
            .query(query)
            .respond("200", page()),
    )
}

fn post(path: &'static str, summary: &'static str, fields: &[(&'static str, bool)]) -> Op {
    guarded(
        Op::post(path, TAG)
            .summary(summary)
            .body(body(vec![form(fields)], true))
            .respond("200", page())
            .respond_all(&["400", "413"], &page()),
    )
}

/// A route about one item, named by the path parameter `name`.
fn with_id(op: Op, name: &'static str) -> Op {
    op.path_param(name).respond("404", page())
}

pub fn router() -> Routes {
    let script = text(
        "The console's copy-button script",
        "text/javascript; charset=utf-8",
    );
    Routes::new()
        .route(
            get("/console", "Overview of the account", NOTICE),
            overview::page,
        )
        .route(
            post(
                "/console/sign-in-policy",
                "Set the account's sign-in policy (password, optional or required)",
                &[("csrf", true), ("sign_in_policy", true)],
            ),
            overview::set_sign_in_policy,
        )
        .merge(app_routes())
        .merge(user_routes())
        .route(
            get(
                "/console/sessions",
                "Active refresh-token families by user and app",
                NOTICE,
            ),
            sessions::list,
        )
        .route(
            with_id(
                post(
                    "/console/sessions/{id}/revoke",
                    "Revoke a refresh-token family",
                    &[("csrf", true)],
                ),
                "id",
            ),
            sessions::revoke,
        )
        .merge(registration_routes())
        .route(
            Op::get("/assets/console.js", "pages")
                .summary("Console script (progressive enhancement)")
                .respond("200", script),
            super::script,
        )
        .map(|r| {
            r.layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_CSP),
            ))
        })
        .map(crate::pages::secured)
}

fn app_routes() -> Routes {
    Routes::new()
        .route(
            get("/console/apps", "The account's OAuth apps", NOTICE),
            apps::list,
        )
        .route(
            post(
                "/console/apps",
                "Create an app; the answer shows its secret once",
                APP_FIELDS,
            ),
            apps::create,
        )
        .route(
            get("/console/apps/new", "The new-app form", &[]),
            apps::new_form,
        )
        .route(
            with_id(
                get(
                    "/console/apps/{sid}",
                    "One app: settings, rotation, deletion",
                    NOTICE,
                ),
                "sid",
            ),
            apps::show,
        )
        .route(
            with_id(
                post("/console/apps/{sid}", "Update an app", &APP_FIELDS[..8]),
                "sid",
            ),
            apps::update,
        )
        .route(
            with_id(
                post(
                    "/console/apps/{sid}/secret",
                    "Rotate an app's secret; the answer shows the new one once",
                    &[("csrf", true)],
                ),
                "sid",
            ),
            apps::rotate,
        )
        .route(
            with_id(
                post(
                    "/console/apps/{sid}/delete",
                    "Delete an app (confirm=yes)",
                    &[("csrf", true), ("confirm", true)],
                ),
                "sid",
            ),
            apps::delete,
        )
}

fn user_routes() -> Routes {
    let new_user = [
        ("csrf", true),
        ("email", true),
        ("password", true),
        ("first_name", false),
        ("last_name", false),
        ("admin", false),
    ];
    Routes::new()
        .route(
            get("/console/users", "The account's users", NOTICE),
            users::list,
        )
        .route(
            post("/console/users", "Add a user", &new_user),
            users::create,
        )
        .route(
            with_id(get("/console/users/{sid}", "One user", NOTICE), "sid"),
            users::show,
        )
        .route(
            with_id(
                post(
                    "/console/users/{sid}/password",
                    "Set a user's password (ends their browser sessions)",
                    &[("csrf", true), ("password", true)],
                ),
                "sid",
            ),
            users::reset_password,
        )
        .route(
            with_id(
                post(
                    "/console/users/{sid}/delete",
                    "Delete a user (confirm=yes)",
                    &[("csrf", true), ("confirm", true)],
                ),
                "sid",
            ),
            users::delete,
        )
}

fn registration_routes() -> Routes {
    Routes::new()
        .route(
            get(
                "/console/registration",
                "The dynamic registration policy and initial access tokens",
                NOTICE,
            ),
            registration::page,
        )
        .route(
            post(
                "/console/registration/policy",
                "Set the registration policy (off, token or open)",
                &[("csrf", true), ("policy", true)],
            ),
            registration::set_policy,
        )
        .route(
            post(
                "/console/registration/tokens",
                "Issue an initial access token; the answer shows it once",
                &[("csrf", true), ("hours", true), ("uses", true)],
            ),
            registration::issue,
        )
        .route(
            with_id(
                post(
                    "/console/registration/tokens/{id}/revoke",
                    "Revoke an initial access token",
                    &[("csrf", true)],
                ),
                "id",
            ),
            registration::revoke,
        )
}
