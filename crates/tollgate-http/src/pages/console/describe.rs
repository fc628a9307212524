//! The console's routes in the OpenAPI description. They answer HTML (or redirect to sign in)
//! and need a browser's session cookie; forms need its CSRF token.

use utoipa::openapi::{ContentBuilder, HttpMethod, ResponseBuilder};

use crate::openapi::{Op, Spec, body, form, html, redirect};

pub fn describe(spec: &mut Spec) {
    let page = html("A console page");
    let tag = "console";
    // Every console route: to sign in when signed out, 403 for a non-administrator.
    let guarded = |op: Op| {
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
    };
    let get = |path: &'static str, summary: &'static str, query: &[(&'static str, bool)]| {
        guarded(
            Op::new(HttpMethod::Get, path, tag)
                .summary(summary)
                .query(query)
                .respond("200", page.clone()),
        )
    };
    let post = |path: &'static str, summary: &'static str, fields: &[(&'static str, bool)]| {
        guarded(
            Op::new(HttpMethod::Post, path, tag)
                .summary(summary)
                .body(body(vec![form(fields)], true))
                .respond("200", page.clone())
                .respond_all(&["400", "413"], &page),
        )
    };
    let notice = [("notice", false)];
    spec.add(get("/console", "Overview of the account", &notice));
    spec.add(get("/console/apps", "The account's OAuth apps", &notice));
    spec.add(get("/console/apps/new", "The new-app form", &[]));
    let app_fields = [
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
    spec.add(post(
        "/console/apps",
        "Create an app; the answer shows its secret once",
        &app_fields,
    ));
    let with_id = |op: Op, name: &'static str| op.path_param(name).respond("404", page.clone());
    spec.add(with_id(
        get(
            "/console/apps/{sid}",
            "One app: settings, rotation, deletion",
            &notice,
        ),
        "sid",
    ));
    spec.add(with_id(
        post("/console/apps/{sid}", "Update an app", &app_fields[..8]),
        "sid",
    ));
    spec.add(with_id(
        post(
            "/console/apps/{sid}/secret",
            "Rotate an app's secret; the answer shows the new one once",
            &[("csrf", true)],
        ),
        "sid",
    ));
    spec.add(with_id(
        post(
            "/console/apps/{sid}/delete",
            "Delete an app (confirm=yes)",
            &[("csrf", true), ("confirm", true)],
        ),
        "sid",
    ));
    spec.add(get("/console/users", "The account's users", &notice));
    spec.add(post(
        "/console/users",
        "Add a user",
        &[
            ("csrf", true),
            ("email", true),
            ("password", true),
            ("first_name", false),
            ("last_name", false),
            ("admin", false),
        ],
    ));
    spec.add(with_id(
        get("/console/users/{sid}", "One user", &notice),
        "sid",
    ));
    spec.add(with_id(
        post(
            "/console/users/{sid}/password",
            "Set a user's password (ends their browser sessions)",
            &[("csrf", true), ("password", true)],
        ),
        "sid",
    ));
    spec.add(with_id(
        post(
            "/console/users/{sid}/delete",
            "Delete a user (confirm=yes)",
            &[("csrf", true), ("confirm", true)],
        ),
        "sid",
    ));
    spec.add(get(
        "/console/sessions",
        "Active refresh-token families by user and app",
        &notice,
    ));
    spec.add(with_id(
        post(
            "/console/sessions/{id}/revoke",
            "Revoke a refresh-token family",
            &[("csrf", true)],
        ),
        "id",
    ));
    let script = ResponseBuilder::new()
        .description("The console's copy-button script")
        .content(
            "text/javascript; charset=utf-8",
            ContentBuilder::new()
                .schema(Some(crate::openapi::string()))
                .build(),
        )
        .build();
    spec.add(
        Op::new(HttpMethod::Get, "/assets/console.js", "pages")
            .summary("Console script (progressive enhancement)")
            .respond("200", script),
    );
}
