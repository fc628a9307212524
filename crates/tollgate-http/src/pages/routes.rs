//! The shared page routes, each with its OpenAPI operation (HTML forms; they need a browser's
//! cookies).

use super::{account, authorize, demo, device, email, end_session, login, passkeys, second_factor};
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
        .merge(second_factor_pages(&page))
        .merge(account_pages(&page))
        .merge(account_settings_pages(&page))
        .merge(passkey_pages(&page))
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
        .route(
            Op::get("/assets/passkeys.js", TAG)
                .summary("The passkey forms' script (the WebAuthn calls)")
                .respond("200", text("Script", "text/javascript; charset=utf-8")),
            passkeys::script,
        )
        .merge(device_pages(&page))
        .merge(password_reset_pages(&page))
        .merge(verify_email_pages(&page))
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
        .merge(end_session_routes(page))
}

/// OpenID Connect RP-Initiated Logout 1.0.
fn end_session_routes(page: &utoipa::openapi::Response) -> Routes {
    let params = [
        ("id_token_hint", false),
        ("client_id", false),
        ("post_logout_redirect_uri", false),
        ("state", false),
        ("ui_locales", false),
    ];
    // The form takes the query's parameters, and the confirmation page's own fields.
    let mut fields = params.to_vec();
    fields.extend([("csrf", false), ("confirm", false)]);
    let fields = form(&fields);
    let answers = |op: Op| {
        op.respond("200", page.clone())
            .respond(
                "303",
                redirect("To the client's registered post-logout redirect URI"),
            )
            .respond_all(&["400", "403", "413"], page)
    };
    Routes::new()
        .route(
            answers(
                Op::get(end_session::PATH, TAG)
                    .summary("End session (OpenID Connect RP-Initiated Logout)")
                    .query(&params),
            ),
            end_session::end_session_get,
        )
        .route(
            answers(
                Op::post(end_session::PATH, TAG)
                    .summary("End session, by form (RP-Initiated Logout, or the confirmation)")
                    .body(body(vec![fields], false)),
            ),
            end_session::end_session_post,
        )
}

/// The status codes a second-factor or account form answers with a page.
const FORM_STATUSES: [&str; 6] = ["400", "401", "403", "413", "429", "503"];

/// The form that confirms a one-time code setup (at sign-in or from the account page).
fn setup_form() -> (&'static str, utoipa::openapi::schema::Schema) {
    form(&[
        ("csrf", true),
        ("continue", false),
        ("pending", false),
        ("setup", true),
        ("code", true),
    ])
}

/// The second step of a sign-in.
fn second_factor_pages(page: &utoipa::openapi::Response) -> Routes {
    let statuses = FORM_STATUSES;
    let code = form(&[
        ("csrf", true),
        ("continue", false),
        ("pending", true),
        ("code", true),
    ]);
    Routes::new()
        .route(
            Op::post("/login/code", TAG)
                .summary("Sign in: the one-time or recovery code after the password")
                .body(body(vec![code], true))
                .respond("303", redirect("Signed in"))
                .respond_all(&statuses, page),
            second_factor::code_submit,
        )
        .route(
            Op::post("/login/setup", TAG)
                .summary("Sign in: confirm the one-time code setup the policy requires")
                .body(body(vec![setup_form()], true))
                .respond("200", page.clone())
                .respond_all(&statuses, page),
            second_factor::setup_submit,
        )
}

/// The account page and its second factor.
fn account_pages(page: &utoipa::openapi::Response) -> Routes {
    let statuses = FORM_STATUSES;
    Routes::new()
        .route(
            Op::get(account::PATH, TAG)
                .summary("The signed-in person's account page")
                .respond("200", page.clone())
                .respond("303", redirect("To sign in")),
            account::account_page,
        )
        .route(
            Op::get("/account/two-factor", TAG)
                .summary("Set up one-time codes: QR code and key")
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond("400", page.clone()),
            account::setup_page_get,
        )
        .route(
            Op::post("/account/two-factor", TAG)
                .summary("Confirm one-time codes with a code from the app")
                .body(body(vec![setup_form()], true))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&statuses, page),
            account::setup_submit,
        )
        .route(
            Op::post("/account/two-factor/remove", TAG)
                .summary("Remove one-time codes and recovery codes")
                .body(body(vec![form(&[("csrf", true)])], true))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&["400", "403", "413"], page),
            account::remove_submit,
        )
}

/// The account page's password, session and app forms.
fn account_settings_pages(page: &utoipa::openapi::Response) -> Routes {
    let statuses = FORM_STATUSES;
    Routes::new()
        .route(
            Op::post("/account/password", TAG)
                .summary("Change the password (other sessions are signed out)")
                .body(body(
                    vec![form(&[
                        ("csrf", true),
                        ("current_password", true),
                        ("new_password", true),
                    ])],
                    true,
                ))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&statuses, page),
            account::password_submit,
        )
        .route(
            Op::post("/account/sessions/end", TAG)
                .summary("Sign out one session, or every other one (`others`)")
                .body(body(vec![form(&[("csrf", true), ("session", true)])], true))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&["400", "403", "413"], page),
            account::end_session_submit,
        )
        .route(
            Op::post("/account/apps/revoke", TAG)
                .summary("Revoke an app's access: consent and refresh tokens")
                .body(body(
                    vec![form(&[("csrf", true), ("client_id", true)])],
                    true,
                ))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&["400", "403", "413"], page),
            account::revoke_app_submit,
        )
}

/// The query of a page a mailed link opens.
const TOKEN_QUERY: &[(&str, bool)] = &[("token", false)];

/// Where a mailed password reset link leads.
fn password_reset_pages(page: &utoipa::openapi::Response) -> Routes {
    Routes::new()
        .route(
            Op::get("/password-reset", TAG)
                .summary("Forgot password: ask for a reset link by email")
                .respond("200", page.clone()),
            email::forgot_page,
        )
        .route(
            Op::post("/password-reset", TAG)
                .summary("Mail a reset link; the same answer whether or not the address is known")
                .body(body(vec![form(&[("csrf", true), ("email", true)])], true))
                .respond("200", page.clone())
                .respond_all(&["400", "403", "413", "429", "503"], page),
            email::forgot_submit,
        )
        .route(
            Op::get("/password-reset/new", TAG)
                .summary("The new password form a reset link opens")
                .query(TOKEN_QUERY)
                .respond("200", page.clone())
                .respond("400", page.clone()),
            email::reset_page,
        )
        .route(
            Op::post("/password-reset/new", TAG)
                .summary("Set a new password with a reset link (ends every session)")
                .body(body(
                    vec![form(&[
                        ("csrf", true),
                        ("token", true),
                        ("new_password", true),
                        ("confirm_password", true),
                    ])],
                    true,
                ))
                .respond("200", page.clone())
                .respond_all(&["400", "403", "413", "503"], page),
            email::reset_submit,
        )
}

/// Where a mailed address confirmation link leads.
fn verify_email_pages(page: &utoipa::openapi::Response) -> Routes {
    Routes::new()
        .route(
            Op::get("/account/verify-email", TAG)
                .summary("Confirm an email address: the page a verification link opens")
                .query(TOKEN_QUERY)
                .respond("200", page.clone())
                .respond("400", page.clone()),
            email::verify_page,
        )
        .route(
            Op::post("/account/verify-email", TAG)
                .summary("Confirm an email address with a verification link")
                .body(body(vec![form(&[("csrf", true), ("token", true)])], true))
                .respond("200", page.clone())
                .respond_all(&["400", "403", "413", "503"], page),
            email::verify_submit,
        )
        .route(
            Op::post("/account/verify-email/send", TAG)
                .summary("Email the signed-in person a new link to confirm their address")
                .body(body(vec![form(&[("csrf", true)])], true))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&["400", "403", "413", "429", "503"], page),
            email::verify_send,
        )
}

/// Passkeys: sign in with one, use one as the second factor, add and delete them.
fn passkey_pages(page: &utoipa::openapi::Response) -> Routes {
    let statuses = FORM_STATUSES;
    let sign_in = form(&[
        ("csrf", true),
        ("continue", false),
        ("ceremony", true),
        ("credential", true),
    ]);
    let second = form(&[
        ("csrf", true),
        ("continue", false),
        ("pending", true),
        ("ceremony", true),
        ("credential", true),
    ]);
    let register = form(&[
        ("csrf", true),
        ("ceremony", true),
        ("credential", true),
        ("name", false),
    ]);
    Routes::new()
        .route(
            Op::post("/login/passkey", TAG)
                .summary("Sign in with a passkey (the WebAuthn answer, JSON)")
                .body(body(vec![sign_in], true))
                .respond("303", redirect("Signed in"))
                .respond_all(&statuses, page),
            passkeys::sign_in_submit,
        )
        .route(
            Op::post("/login/passkey/second", TAG)
                .summary("Sign in: a passkey as the second factor after the password")
                .body(body(vec![second], true))
                .respond("303", redirect("Signed in"))
                .respond_all(&statuses, page),
            passkeys::second_factor_submit,
        )
        .route(
            Op::post("/account/passkeys", TAG)
                .summary("Add a passkey (the WebAuthn answer, JSON)")
                .body(body(vec![register], true))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&statuses, page),
            passkeys::register_submit,
        )
        .route(
            Op::post("/account/passkeys/delete", TAG)
                .summary("Delete one of your passkeys")
                .body(body(
                    vec![form(&[("csrf", true), ("credential_id", true)])],
                    true,
                ))
                .respond("200", page.clone())
                .respond("303", redirect("To sign in"))
                .respond_all(&["400", "403", "413"], page),
            passkeys::delete_submit,
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
