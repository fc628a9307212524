//! `/console/users`: the account's users; create, reset a password, delete.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_core::admin::{Admin, AdminError, UserSpec, user_problems};
use tollgate_core::ids::UserSid;
use tollgate_core::model::User;

use super::{Console, ConsoleError, ConsoleResult, Errors, Frame, PathId, notice, see_other, when};
use crate::pages::{CheckedForm, field};
use crate::params::Params;
use crate::state::AppState;

pub(super) struct UserRow {
    sid: String,
    email: String,
    name: String,
    admin: bool,
    created: String,
}

fn row(u: &User) -> UserRow {
    UserRow {
        sid: u.sid.to_string(),
        email: u.email.clone(),
        name: u.display_name().unwrap_or_default(),
        admin: u.admin,
        created: when(u.created_at),
    }
}

/// The new-user form as typed (never the password).
#[derive(Debug, Clone, Default)]
pub(super) struct UserForm {
    email: String,
    first_name: String,
    last_name: String,
    admin: bool,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct ListPage {
    frame: Frame,
    users: Vec<UserRow>,
    form: UserForm,
    errors: Errors,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    frame: Frame,
    user: UserRow,
    myself: bool,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    console: Console,
    status: StatusCode,
    form: UserForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> ConsoleResult {
    let users = state
        .engine
        .node_admin()
        .users(Some(&console.account))
        .await?
        .iter()
        .map(row)
        .collect();
    let page = ListPage {
        frame: console.frame_noting("users", notice),
        users,
        form,
        errors,
    };
    Ok(console.page(status, page.render()))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let n = notice(query.as_deref());
    list_page(
        &state,
        console,
        StatusCode::OK,
        UserForm::default(),
        Errors::default(),
        n,
    )
    .await
}

fn optional(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

pub(crate) async fn create(
    State(state): State<AppState>,
    console: Console,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let (typed, spec) = read_new_user(&form, &console);
    let admin = state.engine.node_admin();
    let mut errors = new_user_problems(&admin, &spec).await?;
    if !errors.is_empty() {
        return refused_new(&state, console, typed, errors).await;
    }
    match admin.create_user(spec).await {
        Ok(_) => Ok(see_other(console.jar, "/console/users?notice=user-created")),
        Err(AdminError::Invalid(m)) => {
            errors.add("email", m);
            refused_new(&state, console, typed, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The new-user form as typed (to show again) and the user it asks for.
fn read_new_user(form: &Params, console: &Console) -> (UserForm, UserSpec) {
    let typed = UserForm {
        email: field(form, "email").trim().to_owned(),
        first_name: field(form, "first_name"),
        last_name: field(form, "last_name"),
        admin: field(form, "admin") == "yes",
    };
    let spec = UserSpec {
        email: typed.email.clone(),
        password: field(form, "password"),
        first_name: optional(typed.first_name.clone()),
        last_name: optional(typed.last_name.clone()),
        friendly_name: None,
        account_sid: Some(console.account.clone()),
        admin: typed.admin,
        // Nothing in the console proves the address yet (see `tollgate user verify-email`).
        email_verified: false,
    };
    (typed, spec)
}

/// What is wrong with the new user, by form field.
async fn new_user_problems(admin: &Admin, spec: &UserSpec) -> Result<Errors, ConsoleError> {
    let mut errors = Errors::default();
    for p in user_problems(spec) {
        errors.add(p.field, p.message);
    }
    // Emails are unique across the server; say so next to the field.
    if !errors.has("email")
        && admin
            .user_by_email(&spec.email.to_lowercase())
            .await?
            .is_some()
    {
        errors.add("email", tollgate_core::admin::EMAIL_TAKEN);
    }
    Ok(errors)
}

/// The user list again, with the new-user form as typed and what is wrong with it.
async fn refused_new(
    state: &AppState,
    console: Console,
    typed: UserForm,
    errors: Errors,
) -> ConsoleResult {
    list_page(state, console, StatusCode::BAD_REQUEST, typed, errors, None).await
}

async fn own_user(state: &AppState, console: &Console, sid: &str) -> Result<User, ConsoleError> {
    let sid = UserSid::parse(sid).map_err(|_| ConsoleError::NotFound)?;
    let admin = state.engine.node_admin();
    Ok(admin.user_for(&console.caller(), &sid).await?)
}

fn user_page(
    console: Console,
    status: StatusCode,
    user: &User,
    errors: Errors,
    notice: Option<&'static str>,
) -> Response {
    let page = UserPage {
        myself: user.sid == console.who.user.sid,
        frame: console.frame_noting("users", notice),
        user: row(user),
        errors,
    };
    console.page(status, page.render())
}

/// The user page again, with what is wrong with the form.
fn refused(console: Console, user: &User, errors: Errors) -> Response {
    user_page(console, StatusCode::BAD_REQUEST, user, errors, None)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let user = own_user(&state, &console, &sid).await?;
    let n = notice(query.as_deref());
    Ok(user_page(
        console,
        StatusCode::OK,
        &user,
        Errors::default(),
        n,
    ))
}

pub(crate) async fn reset_password(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let user = own_user(&state, &console, &sid).await?;
    let password = field(&form, "password");
    if let Err(m) = tollgate_core::password::check_policy(&password) {
        let errors = Errors::one("password", m);
        return Ok(refused(console, &user, errors));
    }
    state
        .engine
        .node_admin()
        .reset_password(&user.sid, password)
        .await?;
    // Resetting one's own password ends one's own session too: sign in again.
    let to = format!("/console/users/{}?notice=password-reset", user.sid);
    Ok(see_other(console.jar, &to))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let user = own_user(&state, &console, &sid).await?;
    let mut errors = Errors::default();
    if user.sid == console.who.user.sid {
        errors.add(
            "confirm",
            "you cannot delete yourself; ask another administrator",
        );
    } else if field(&form, "confirm") != "yes" {
        errors.add("confirm", "tick the box to confirm that the user should go");
    }
    if !errors.is_empty() {
        return Ok(refused(console, &user, errors));
    }
    match state.engine.node_admin().delete_user(&user.sid).await {
        Ok(()) | Err(AdminError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(see_other(console.jar, "/console/users?notice=user-deleted"))
}
