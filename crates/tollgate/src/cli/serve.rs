//! `tollgate serve`: start, bootstrap an empty database, and with `--demo` make a demo app and
//! user a newcomer can try at once.

use clap::Args;
use serde_json::{Value, json};
use tollgate_core::admin::{Admin, AdminError, Caller, ClientPatch, UserSpec};
use tollgate_core::ids::ClientId;
use tollgate_core::model::GrantType;

use super::CliError;
use crate::config::{Config, ServeOverrides};
use crate::server::{self, RunningServer};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub overrides: ServeOverrides,
    /// Also create a demo OAuth app and print a curl command that gets a token.
    #[arg(long)]
    pub demo: bool,
}

/// `tollgate serve`: start, bootstrap an empty database, print what a newcomer needs.
pub async fn serve(config: Config, demo: bool, json_out: bool) -> Result<(), CliError> {
    let running = server::start(config).await?;
    let admin = running.admin();
    let scheme = if running.context.config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{}", running.addr);
    let mut out = json!({ "listening": base, "issuer": running.engine.issuer() });
    let mut text = format!(
        "Tollgate listening on {base} (issuer {})\n",
        running.engine.issuer()
    );

    if let Some((account, token)) = admin.bootstrap().await? {
        out["account_sid"] = json!(account.sid);
        out["auth_token"] = json!(token.expose());
        text.push_str(&format!(
            "\nCreated the default account (shown once; store the auth token now):\n  AccountSid: {}\n  AuthToken:  {}\n",
            account.sid,
            token.expose()
        ));
    }
    if demo {
        set_up_demo(&running, &admin, &base, &mut out, &mut text).await?;
    }
    if json_out {
        println!("{out}");
    } else {
        println!("{text}");
    }

    let stop = running.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    running.wait().await.map_err(|e| CliError::Server(e.into()))
}

/// `--demo`: the demo app (its callback served by this server) and the demo user, and what to
/// print about them.
async fn set_up_demo(
    running: &RunningServer,
    admin: &Admin,
    base: &str,
    out: &mut Value,
    text: &mut String,
) -> Result<(), CliError> {
    let callback = format!(
        "{}{}",
        running.engine.issuer(),
        tollgate_http::pages::demo::CALLBACK_PATH
    );
    let (client_id, secret) = demo_client(admin, &callback).await?;
    running
        .state
        .set_demo_app(tollgate_http::pages::demo::DemoApp {
            client_id: client_id.to_string(),
            client_secret: secret.clone(),
        });
    let redirect: String = form_urlencoded::byte_serialize(callback.as_bytes()).collect();
    let curl = format!(
        "curl -s -u '{client_id}:{secret}' -d grant_type=client_credentials {base}/oauth/token"
    );
    let authorize = format!(
        "{base}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=openid%20profile%20email&state=demo"
    );
    out["demo"] = json!({ "client_id": client_id, "client_secret": secret, "curl": curl, "authorize_url": authorize });
    text.push_str(&format!(
        "\nDemo OAuth app {client_id} (its secret is new on every --demo start).\nGet a token:\n\n  {curl}\n\nOr sign in as the demo user in a browser:\n\n  {authorize}\n"
    ));
    if let Some((email, password)) = demo_user(admin).await? {
        out["demo"]["user"] = json!({ "email": email, "password": password });
        text.push_str(&format!("\nDemo user (shown once): {email} / {password}\n"));
    }
    Ok(())
}

/// The demo app is created once and gets a fresh secret on every `--demo` start, so the
/// printed curl always works.
async fn demo_client(admin: &Admin, callback: &str) -> Result<(ClientId, String), CliError> {
    const NAME: &str = "Demo app";
    let account = admin.default_account().await?;
    let existing = admin
        .clients(Some(&account))
        .await?
        .into_iter()
        .find(|c| c.friendly_name == NAME);
    let (client, secret) = match existing {
        Some(c) => {
            // Older demo apps were registered with a callback nobody served.
            if c.redirect_uris != [callback] {
                let patch = ClientPatch {
                    redirect_uris: Some(vec![callback.to_owned()]),
                    ..ClientPatch::default()
                };
                admin.update_client(&Caller::Operator, &c.id, patch).await?;
            }
            admin.rotate_client_secret(&Caller::Operator, &c.id).await?
        }
        None => {
            let spec = ClientPatch {
                friendly_name: Some(NAME.into()),
                grant_types: Some(vec![
                    GrantType::ClientCredentials,
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                ]),
                redirect_uris: Some(vec![callback.to_owned()]),
                scopes: Some(vec!["read".into(), "write".into()]),
                ..ClientPatch::default()
            }
            .into_spec(Some(account));
            let (c, s) = admin.create_client(spec).await?;
            match s {
                Some(s) => (c, s),
                None => return Err(AdminError::Invalid("demo client has no secret".into()).into()),
            }
        }
    };
    Ok((client.id, secret.expose().to_owned()))
}

/// Creates the demo user on the first `--demo` start; returns its credentials then.
async fn demo_user(admin: &Admin) -> Result<Option<(String, String)>, CliError> {
    const EMAIL: &str = "demo@example.com";
    if admin.user_by_email(EMAIL).await?.is_some() {
        return Ok(None);
    }
    let password = admin.generate_secret()?.expose()[..16].to_owned();
    admin
        .create_user(UserSpec {
            email: EMAIL.into(),
            password: password.clone(),
            first_name: Some("Demo".into()),
            last_name: Some("User".into()),
            friendly_name: None,
            account_sid: None,
            admin: false,
            email_verified: false,
        })
        .await?;
    Ok(Some((EMAIL.into(), password)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
