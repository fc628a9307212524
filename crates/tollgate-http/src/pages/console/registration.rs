//! `/console/registration`: the account's dynamic registration policy (off, initial access
//! token, open), the initial access tokens that can still register a client (issue, revoke).
//! The same admin service as `tollgate registration` and `/v1/Account/Registration`.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use tollgate_core::model::RegistrationPolicy;

use super::{Console, ConsoleResult, Errors, Frame, PathId, notice, see_other, when};
use crate::pages::{CheckedForm, field};
use crate::state::AppState;

pub(super) struct TokenRow {
    id: String,
    created: String,
    expires: String,
    remaining: i64,
}

#[derive(Template)]
#[template(path = "console/registration.html")]
struct RegistrationPage<'a> {
    frame: Frame,
    policy: &'static str,
    endpoint: String,
    tokens: Vec<TokenRow>,
    /// A token just issued, shown this once.
    issued: Option<&'a str>,
    errors: Errors,
}

async fn render(
    state: &AppState,
    console: Console,
    status: StatusCode,
    notice_text: Option<&'static str>,
    issued: Option<&str>,
    errors: Errors,
) -> ConsoleResult {
    let admin = state.engine.node_admin();
    let caller = console.caller();
    let (_, policy) = admin.registration_policy(&caller, None).await?;
    let tokens = admin
        .initial_access_tokens(&caller, None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.digest.to_hex(),
            created: when(t.created_at),
            expires: when(t.expires_at),
            remaining: t.remaining,
        })
        .collect();
    let page = RegistrationPage {
        frame: console.frame_noting("registration", notice_text),
        policy: policy.as_str(),
        endpoint: state.endpoint_url("/oauth/register"),
        tokens,
        issued,
        errors,
    };
    Ok(console.page(status, page.render()))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let n = notice(query.as_deref());
    render(&state, console, StatusCode::OK, n, None, Errors::default()).await
}

pub(crate) async fn set_policy(
    State(state): State<AppState>,
    console: Console,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let Ok(policy) = field(&form, "policy").parse::<RegistrationPolicy>() else {
        let errors = Errors::one("policy", "Choose off, token or open.");
        return render(&state, console, StatusCode::BAD_REQUEST, None, None, errors).await;
    };
    state
        .engine
        .node_admin()
        .set_registration_policy(&console.caller(), None, policy)
        .await?;
    Ok(see_other(console.jar, "/console/registration?notice=saved"))
}

pub(crate) async fn issue(
    State(state): State<AppState>,
    console: Console,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let mut errors = Errors::default();
    let number = |name: &'static str, errors: &mut Errors| -> Option<u32> {
        let raw = field(&form, name);
        let parsed = raw.trim().parse::<u32>().ok();
        if parsed.is_none() {
            errors.add(name, "Enter a whole number.");
        }
        parsed
    };
    let hours = number("hours", &mut errors);
    let uses = number("uses", &mut errors);
    let (Some(hours), Some(uses)) = (hours, uses) else {
        return render(&state, console, StatusCode::BAD_REQUEST, None, None, errors).await;
    };
    let issued = state
        .engine
        .node_admin()
        .issue_initial_access_token(
            &console.caller(),
            None,
            Some(hours.saturating_mul(3600)),
            Some(uses),
        )
        .await;
    match issued {
        Ok((_, secret)) => {
            let text = Some("The initial access token was issued. It is shown this once.");
            let token = secret.expose().to_owned();
            render(&state, console, StatusCode::OK, text, Some(&token), errors).await
        }
        Err(tollgate_core::admin::AdminError::Invalid(m)) => {
            let errors = Errors::one("hours", m);
            render(&state, console, StatusCode::BAD_REQUEST, None, None, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    console: Console,
    PathId(id): PathId,
    _form: CheckedForm,
) -> ConsoleResult {
    let revoked = state
        .engine
        .node_admin()
        .revoke_initial_access_token(&console.caller(), None, &id)
        .await?;
    if !revoked {
        return Err(super::ConsoleError::NotFound);
    }
    Ok(see_other(
        console.jar,
        "/console/registration?notice=token-revoked",
    ))
}
