//! The shared page routes, each with its OpenAPI operation (HTML forms; they need a browser's
//! cookies).

use super::{authorize, demo, device, login};
use crate::openapi::{Op, body, form, html, redirect, text};
use crate::routes::Routes;

const TAG: &str = "pages";

pub fn router() -> Routes {
    let page = html("A page");
    let refused = |op: Op, statuses: &[&'static str]| op.respond_all(statuses, &page);
    let css = text("Stylesheet", "text/css; charset=utf-8");
    Routes::new()
        .route(
            Op::get("/", TAG)
                .summary("Home")
                .respond("200", page.clone()),
            login::home,
        )
        .merge(sign_in(&page))
        .route(
            refused(consent(), &["400", "403", "413"]),
            authorize::consent_submit,
        )
        .route(
            Op::get("/assets/tollgate.css", TAG)
                .summary("Stylesheet")
                .respond("200", css),
            super::css,
        )
        .merge(device_pages(&page))
        .route(
            Op::get(demo::CALLBACK_PATH, TAG)
                .summary("Where serve --demo's authorization URL lands")
                .query(&[("code", false), ("state", false), ("error", false)])
                .respond("200", page.clone())
                .respond("404", page),
            demo::callback,
        )
        .map(super::secured)
}

fn consent() -> Op {
    let fields = form(&[("csrf", true), ("continue", true), ("decision", true)]);
    Op::post("/consent", TAG)
        .summary("Approve or deny an authorization request")
        .body(body(vec![fields], true))
        .respond("303", redirect("Back to the client, or to sign in"))
}

/// Sign-in and sign-out.
fn sign_in(page: &utoipa::openapi::Response) -> Routes {
    let login_form = form(&[
        ("csrf", true),
        ("continue", false),
        ("email", true),
        ("password", true),
    ]);
    Routes::new()
        .route(
            Op::get("/login", TAG)
                .summary("Sign-in form")
                .query(&[("continue", false)])
                .respond("200", page.clone()),
            login::login_page,
        )
        .route(
            Op::post("/login", TAG)
                .summary("Sign in")
                .body(body(vec![login_form], true))
                .respond("303", redirect("Signed in"))
                .respond_all(&["400", "401", "403", "413", "429", "503"], page),
            login::login_submit,
        )
        .route(
            Op::get("/logout", TAG)
                .summary("Sign-out page")
                .respond("200", page.clone()),
            login::logout_page,
        )
        .route(
            Op::post("/logout", TAG)
                .summary("Sign out")
                .body(body(vec![form(&[("csrf", true)])], true))
                .respond("200", page.clone())
                .respond_all(&["400", "403", "413"], page),
            login::logout_submit,
        )
}

/// Device verification: enter the code, confirm it, decide.
fn device_pages(page: &utoipa::openapi::Response) -> Routes {
    let answers = |op: Op, statuses: &[&'static str]| {
        op.respond("200", page.clone())
            .respond("303", redirect("To sign in"))
            .respond_all(statuses, page)
    };
    let decision = form(&[
        ("csrf", true),
        ("user_code", true),
        ("confirm", true),
        ("decision", true),
    ]);
    Routes::new()
        .route(
            answers(
                Op::get("/device", TAG)
                    .summary("Enter or confirm a device code")
                    .query(&[("user_code", false)]),
                &["400", "429"],
            ),
            device::device_page,
        )
        .route(
            answers(
                Op::post("/device", TAG)
                    .summary("Submit a device code")
                    .body(body(
                        vec![form(&[("csrf", true), ("user_code", true)])],
                        true,
                    )),
                &["400", "403", "413", "429"],
            ),
            device::device_submit,
        )
        .route(
            answers(
                Op::post("/device/decision", TAG)
                    .summary("Approve or deny a confirmed device")
                    .body(body(vec![decision], true)),
                &["400", "403", "413", "429"],
            ),
            device::device_decision,
        )
}
