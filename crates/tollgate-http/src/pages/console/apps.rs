//! `/console/apps`: list, create (the secret shown once), edit, rotate the secret, delete.
//! The form uses the admin API's field names.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use tollgate_core::admin::{AdminError, ClientPatch, client_problems};
use tollgate_core::ids::ClientId;
use tollgate_core::model::{Client, GrantType, RegisteredVia, TokenFormat};
use tollgate_core::secret::Secret;

use super::{Console, ConsoleError, ConsoleResult, Errors, Frame, PathId, notice, see_other, when};
use crate::pages::{CheckedForm, field};
use crate::params::Params;
use crate::state::AppState;

/// A grant type checkbox.
pub(super) struct Choice {
    value: &'static str,
    label: &'static str,
    hint: &'static str,
    checked: bool,
}

const GRANTS: [(GrantType, &str, &str); 4] = [
    (
        GrantType::ClientCredentials,
        "Client credentials",
        "A server calling APIs as itself.",
    ),
    (
        GrantType::AuthorizationCode,
        "Authorization code",
        "People sign in through a browser (with PKCE).",
    ),
    (
        GrantType::RefreshToken,
        "Refresh token",
        "Keep people signed in; tokens rotate on every use.",
    ),
    (
        GrantType::DeviceCode,
        "Device code",
        "TVs and command-line tools (RFC 8628).",
    ),
];

/// The app form as typed: what a rejected form shows again.
#[derive(Debug, Clone, Default)]
pub(super) struct AppForm {
    friendly_name: String,
    grant_types: Vec<String>,
    redirect_uris: String,
    scopes: String,
    audiences: String,
    token_format: String,
    access_token_ttl: String,
    public: bool,
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

impl AppForm {
    fn blank() -> Self {
        Self {
            grant_types: vec![GrantType::ClientCredentials.as_str().to_owned()],
            token_format: TokenFormat::Jwt.as_str().to_owned(),
            ..Self::default()
        }
    }

    fn of(c: &Client) -> Self {
        Self {
            friendly_name: c.friendly_name.clone(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            redirect_uris: c.redirect_uris.join("\n"),
            scopes: c.scopes.join(" "),
            audiences: c.audiences.join(" "),
            token_format: c.token_format.as_str().to_owned(),
            access_token_ttl: c
                .access_token_ttl
                .map(|t| t.to_string())
                .unwrap_or_default(),
            public: c.is_public(),
        }
    }

    fn read(form: &Params) -> Self {
        Self {
            friendly_name: field(form, "friendly_name").trim().to_owned(),
            grant_types: form.all("grant_types"),
            redirect_uris: field(form, "redirect_uris"),
            scopes: field(form, "scopes"),
            audiences: field(form, "audiences"),
            token_format: field(form, "token_format"),
            access_token_ttl: field(form, "access_token_ttl").trim().to_owned(),
            public: field(form, "public") == "yes",
        }
    }

    /// The settings the form shows, or every problem by field. `public` is the app's kind
    /// (fixed once made); settings the form does not show stay as they are.
    fn patch(&self, public: bool) -> Result<ClientPatch, Errors> {
        let mut errors = Errors::default();
        let mut grant_types = Vec::new();
        for g in &self.grant_types {
            match g.parse::<GrantType>() {
                Ok(g) => grant_types.push(g),
                Err(e) => errors.add("grant_types", e.to_string()),
            }
        }
        if grant_types.is_empty() && !errors.has("grant_types") {
            errors.add("grant_types", "choose at least one grant type");
        }
        let token_format = self
            .token_format
            .parse::<TokenFormat>()
            .unwrap_or_else(|e| {
                errors.add("token_format", e);
                TokenFormat::Jwt
            });
        let patch = ClientPatch {
            friendly_name: Some(self.friendly_name.clone()),
            grant_types: Some(grant_types),
            redirect_uris: Some(words(&self.redirect_uris)),
            scopes: Some(words(&self.scopes)),
            audiences: Some(words(&self.audiences)),
            public: Some(public),
            token_format: Some(token_format),
            access_token_ttl: Some(self.access_token_ttl(&mut errors)),
            ..ClientPatch::default()
        };
        for p in client_problems(&patch.clone().into_spec(None)) {
            errors.add(p.field, p.message);
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }

    /// Blank: the server's default lifetime.
    fn access_token_ttl(&self, errors: &mut Errors) -> Option<u32> {
        match self.access_token_ttl.as_str() {
            "" => None,
            t => t.parse::<u32>().ok().or_else(|| {
                errors.add(
                    "access_token_ttl",
                    "access token lifetime must be a whole number of seconds",
                );
                None
            }),
        }
    }

    fn choices(&self) -> Vec<Choice> {
        GRANTS
            .iter()
            .map(|(g, label, hint)| Choice {
                value: g.as_str(),
                label,
                hint,
                checked: self.grant_types.iter().any(|v| v == g.as_str()),
            })
            .collect()
    }

    fn is_opaque(&self) -> bool {
        self.token_format == TokenFormat::Opaque.as_str()
    }
}

pub(super) struct AppRow {
    sid: String,
    name: String,
    kind: &'static str,
    grants: String,
    created: String,
}

fn kind(c: &Client) -> &'static str {
    if c.is_public() {
        "Public"
    } else {
        "Confidential"
    }
}

/// The kind, marked when the app registered itself (RFC 7591) or is known by its metadata
/// document.
fn registered_kind(c: &Client, via: Option<RegisteredVia>) -> &'static str {
    match (via, c.is_public()) {
        (None, _) => kind(c),
        (Some(RegisteredVia::MetadataDocument), true) => "Public (metadata document)",
        (Some(RegisteredVia::MetadataDocument), false) => "Confidential (metadata document)",
        (Some(_), true) => "Public (registered)",
        (Some(_), false) => "Confidential (registered)",
    }
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct ListPage {
    frame: Frame,
    apps: Vec<AppRow>,
}

#[derive(Template)]
#[template(path = "console/app_new.html")]
struct NewPage {
    frame: Frame,
    form: AppForm,
    grants: Vec<Choice>,
    errors: Errors,
}

/// An app's page: its details, the settings form, rotation and deletion.
#[derive(Template)]
#[template(path = "console/app.html")]
struct AppPage {
    frame: Frame,
    sid: String,
    kind: &'static str,
    public: bool,
    created: String,
    updated: String,
    form: AppForm,
    grants: Vec<Choice>,
    errors: Errors,
}

/// The client_id, and the secret shown this once.
#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage<'a> {
    frame: Frame,
    heading: &'a str,
    lead: &'a str,
    name: &'a str,
    client_id: &'a str,
    secret: Option<&'a str>,
    issuer: &'a str,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    console: Console,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let admin = state.engine.node_admin();
    // RFC 7591: apps that registered themselves are marked, so they can be reviewed.
    let registered = admin.registrations(&console.caller()).await?;
    let via = |id: &ClientId| registered.iter().find(|(r, _)| r == id).map(|(_, v)| *v);
    let apps = admin
        .clients(Some(&console.account))
        .await?
        .iter()
        .map(|c| AppRow {
            sid: c.id.to_string(),
            name: c.friendly_name.clone(),
            kind: registered_kind(c, via(&c.id)),
            grants: c
                .grant_types
                .iter()
                .map(|g| g.as_str().rsplit(':').next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", "),
            created: when(c.created_at),
        })
        .collect();
    let frame = console.frame_noting("apps", notice(query.as_deref()));
    let page = ListPage { frame, apps };
    Ok(console.page(StatusCode::OK, page.render()))
}

fn new_page(console: Console, status: StatusCode, form: AppForm, errors: Errors) -> Response {
    let page = NewPage {
        frame: console.frame("apps"),
        grants: form.choices(),
        form,
        errors,
    };
    console.page(status, page.render())
}

pub(crate) async fn new_form(console: Console) -> ConsoleResult {
    Ok(new_page(
        console,
        StatusCode::OK,
        AppForm::blank(),
        Errors::default(),
    ))
}

fn secret_page(
    state: &AppState,
    console: Console,
    client: &Client,
    secret: Option<&Secret>,
    rotated: bool,
) -> Response {
    let (heading, lead) = match (rotated, secret.is_some()) {
        (true, _) => (
            "New secret",
            "The old secret stopped working. Give this one to the app now.",
        ),
        (false, true) => (
            "App created",
            "Copy the secret now: it is shown only this once.",
        ),
        (false, false) => (
            "App created",
            "A public app has no secret: it identifies itself by its client ID and uses PKCE.",
        ),
    };
    let id = client.id.to_string();
    let page = SecretPage {
        frame: console.frame("apps"),
        heading,
        lead,
        name: &client.friendly_name,
        client_id: &id,
        secret: secret.map(Secret::expose),
        issuer: state.engine.issuer(),
    };
    console.page(StatusCode::OK, page.render())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    console: Console,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let typed = AppForm::read(&form);
    let spec = match typed.patch(typed.public) {
        Ok(patch) => patch.into_spec(Some(console.account.clone())),
        Err(errors) => return Ok(new_page(console, StatusCode::BAD_REQUEST, typed, errors)),
    };
    match state.engine.node_admin().create_client(spec).await {
        Ok((client, secret)) => Ok(secret_page(
            &state,
            console,
            &client,
            secret.as_ref(),
            false,
        )),
        Err(AdminError::Invalid(m)) => {
            let errors = Errors::one("form", m);
            Ok(new_page(console, StatusCode::BAD_REQUEST, typed, errors))
        }
        Err(e) => Err(e.into()),
    }
}

async fn own_app(state: &AppState, console: &Console, sid: &str) -> Result<Client, ConsoleError> {
    let id = ClientId::parse(sid).map_err(|_| ConsoleError::NotFound)?;
    let admin = state.engine.node_admin();
    Ok(admin.client_for(&console.caller(), &id).await?)
}

fn app_page(
    console: Console,
    status: StatusCode,
    client: &Client,
    form: AppForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Response {
    let page = AppPage {
        frame: console.frame_noting("apps", notice),
        sid: client.id.to_string(),
        kind: kind(client),
        public: client.is_public(),
        created: when(client.created_at),
        updated: when(client.updated_at),
        grants: form.choices(),
        form,
        errors,
    };
    console.page(status, page.render())
}

/// The app page again, with what is wrong with the form.
fn refused(console: Console, client: &Client, form: AppForm, errors: Errors) -> Response {
    app_page(console, StatusCode::BAD_REQUEST, client, form, errors, None)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    RawQuery(query): RawQuery,
) -> ConsoleResult {
    let client = own_app(&state, &console, &sid).await?;
    let form = AppForm::of(&client);
    let n = notice(query.as_deref());
    Ok(app_page(
        console,
        StatusCode::OK,
        &client,
        form,
        Errors::default(),
        n,
    ))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let client = own_app(&state, &console, &sid).await?;
    let typed = AppForm {
        public: client.is_public(),
        ..AppForm::read(&form)
    };
    let patch = match typed.patch(client.is_public()) {
        Ok(patch) => patch,
        Err(errors) => {
            return Ok(refused(console, &client, typed, errors));
        }
    };
    // The form edits what it shows; the client's security settings (set by the CLI or the
    // admin API) are kept as they are.
    let admin = state.engine.node_admin();
    match admin
        .update_client(&console.caller(), &client.id, patch)
        .await
    {
        Ok(updated) => Ok(see_other(
            console.jar,
            &format!("/console/apps/{}?notice=saved", updated.id),
        )),
        Err(AdminError::Invalid(m)) => Ok(refused(console, &client, typed, Errors::one("form", m))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn rotate(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    _form: CheckedForm,
) -> ConsoleResult {
    let client = own_app(&state, &console, &sid).await?;
    let admin = state.engine.node_admin();
    let (client, secret) = admin
        .rotate_client_secret(&console.caller(), &client.id)
        .await?;
    Ok(secret_page(&state, console, &client, Some(&secret), true))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    console: Console,
    PathId(sid): PathId,
    CheckedForm { form, .. }: CheckedForm,
) -> ConsoleResult {
    let client = own_app(&state, &console, &sid).await?;
    if field(&form, "confirm") != "yes" {
        let errors = Errors::one("confirm", "tick the box to confirm that the app should go");
        return Ok(refused(console, &client, AppForm::of(&client), errors));
    }
    let admin = state.engine.node_admin();
    admin.delete_client(&console.caller(), &client.id).await?;
    Ok(see_other(console.jar, "/console/apps?notice=app-deleted"))
}
