//! The `tollgate` command line: `serve` and the admin commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use tollgate_core::admin::{AdminError, ClientSpec, UserSpec};
use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use tollgate_core::model::{ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat};

use crate::config::{Config, Overrides};
use crate::server::{self, Context, Deps, ServerError};
use crate::views::{AccountView, ClientView, KeyView, UserView};

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "An OAuth 2.0 and OpenID Connect authorization server"
)]
pub struct Cli {
    /// Configuration file (default: ./tollgate.toml when present).
    #[arg(long, global = true, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// sqlite://PATH or postgres://… (default: an SQLite file in the data directory).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Directory for the SQLite file and the key-encryption key.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Print exactly one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authorization server.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage OAuth apps (clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users who sign in on the login page.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and every problem; exits non-zero
    /// when there is one.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (the password is stored as an Argon2id hash).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        #[arg(long)]
        friendly_name: Option<String>,
        /// Owning account (default: the only account).
        #[arg(long)]
        account: Option<AccountSid>,
        /// Make the user an administrator of the account (may sign in to /console).
        #[arg(long)]
        admin: bool,
    },
    List {
        #[arg(long)]
        account: Option<AccountSid>,
    },
    Show {
        sid: UserSid,
    },
    /// Delete a user, end their sessions and revoke their refresh tokens.
    Delete {
        sid: UserSid,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// address:port to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Public base URL (default http://<listen>).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Default access-token lifetime in seconds.
    #[arg(long)]
    pub access_token_ttl: Option<u32>,
    /// ES256, EdDSA or RS256.
    #[arg(long)]
    pub signing_algorithm: Option<String>,
    /// PEM certificate chain: serve HTTPS directly (with --tls-key).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Also create a demo OAuth app and print a curl command that gets a token.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account (in a new organization unless --organization is given).
    Create {
        #[arg(long)]
        friendly_name: Option<String>,
        #[arg(long)]
        organization: Option<OrganizationSid>,
    },
    List,
    Show {
        sid: AccountSid,
    },
    /// Replace the account's auth token; the new one is shown once.
    RotateToken {
        sid: AccountSid,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an OAuth app; its secret is shown once.
    Create(ClientCreateArgs),
    List {
        #[arg(long)]
        account: Option<AccountSid>,
    },
    Show {
        client_id: ClientId,
    },
    /// Replace the client secret; the new one is shown once.
    RotateSecret {
        client_id: ClientId,
    },
    Delete {
        client_id: ClientId,
    },
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    #[arg(long)]
    pub name: String,
    /// Owning account (default: the only account).
    #[arg(long)]
    pub account: Option<AccountSid>,
    /// Allowed grant (repeatable): client_credentials, authorization_code, refresh_token,
    /// urn:ietf:params:oauth:grant-type:device_code.
    #[arg(long = "grant", value_parser = parse_grant)]
    pub grants: Vec<GrantType>,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// A public client has no secret.
    #[arg(long)]
    pub public: bool,
    #[arg(long, default_value = "jwt")]
    pub token_format: TokenFormat,
    #[arg(long)]
    pub access_token_ttl: Option<u32>,
    /// Require PKCE on the authorization endpoint even though the client has a secret.
    #[arg(long)]
    pub require_pkce: bool,
    /// client_secret_basic (default), client_secret_post, client_secret_jwt, private_key_jwt
    /// or none (public clients).
    #[arg(long)]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// The client's public keys for private_key_jwt: a JWKS document, or @FILE to read one.
    #[arg(long)]
    pub jwks: Option<String>,
    /// Where to fetch the client's JWKS instead (https, or http on a loopback host).
    #[arg(long)]
    pub jwks_uri: Option<String>,
    /// Refuse authorization requests that were not pushed first (RFC 9126).
    #[arg(long)]
    pub require_par: bool,
    /// Issue only DPoP-bound tokens: every token request must carry a DPoP proof (RFC 9449).
    #[arg(long)]
    pub require_dpop: bool,
    /// `fapi2`: the FAPI 2.0 Security Profile (PAR, PKCE, DPoP, private_key_jwt).
    #[arg(long, default_value = "default")]
    pub profile: ClientProfile,
}

/// `--jwks`: inline JSON, or `@path` to a file holding it.
fn read_jwks(arg: Option<String>) -> Result<Option<String>, CliError> {
    match arg {
        Some(path) if path.starts_with('@') => std::fs::read_to_string(&path[1..])
            .map(Some)
            .map_err(|e| CliError::Admin(AdminError::Invalid(format!("--jwks {path}: {e}")))),
        other => Ok(other),
    }
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    s.parse::<GrantType>().map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    List,
    /// Publish a new signing key; it signs after --publish-ahead seconds, and the current keys
    /// stay published until their tokens have expired.
    Rotate {
        /// Seconds between publishing the key and signing with it (default: the configured
        /// key_publish_ahead_secs).
        #[arg(long)]
        publish_ahead: Option<u32>,
        /// ES256, EdDSA or RS256 (default: the configured signing algorithm).
        #[arg(long)]
        algorithm: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Server(#[from] ServerError),
    #[error("{0}")]
    Admin(#[from] AdminError),
    #[error("configuration: {0}")]
    Config(#[from] Box<figment::Error>),
}

impl Cli {
    pub fn load_config(&self) -> Result<Config, CliError> {
        let mut flags = Overrides {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            ..Overrides::default()
        };
        if let Command::Serve(s) = &self.command {
            flags.listen = s.listen.clone();
            flags.issuer = s.issuer.clone();
            flags.access_token_ttl = s.access_token_ttl;
            flags.signing_algorithm = s.signing_algorithm.clone();
            flags.tls_cert = s.tls_cert.clone();
            flags.tls_key = s.tls_key.clone();
        }
        Ok(Config::load(self.config.as_deref(), &flags)?)
    }
}

/// What a command prints: a JSON object, and the same for people.
pub struct Output {
    pub json: Value,
    pub text: String,
}

fn client_text(v: &ClientView) -> String {
    let mut s = format!(
        "client_id:     {}\nname:          {}\naccount:       {}\ngrants:        {}\nscopes:        {}\naudiences:     {}\nredirect URIs: {}\npublic:        {}\ntoken format:  {}\n",
        v.client_id,
        v.friendly_name,
        v.account_sid,
        v.grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        v.scopes.join(" "),
        v.audiences.join(" "),
        v.redirect_uris.join(" "),
        v.public,
        v.token_format.as_str(),
    );
    if let Some(secret) = &v.client_secret {
        s.push_str(&format!(
            "client_secret: {secret}\n(the secret is shown once; store it now)\n"
        ));
    }
    s
}

fn account_text(v: &AccountView) -> String {
    let mut s = format!(
        "account_sid:      {}\norganization_sid: {}\nname:             {}\n",
        v.account_sid, v.organization_sid, v.friendly_name
    );
    if let Some(token) = &v.auth_token {
        s.push_str(&format!(
            "auth_token:       {token}\n(the auth token is shown once; store it now)\n"
        ));
    }
    s
}

fn user_text(v: &UserView) -> String {
    format!(
        "user_sid:    {}\naccount_sid: {}\nemail:       {}\nname:        {}\nadmin:       {}\n",
        v.user_sid,
        v.account_sid,
        v.email,
        [&v.first_name, &v.last_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        if v.admin { "yes" } else { "no" }
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub async fn run_admin(config: Config, command: Command) -> Result<Output, CliError> {
    let ctx = Context::open(config, Deps::system()).await?;
    let admin = ctx.admin();
    Ok(match command {
        Command::Serve(_) | Command::Config(_) => unreachable_serve(),
        Command::Account(cmd) => match cmd {
            AccountCommand::Create {
                friendly_name,
                organization,
            } => {
                let (a, token) = admin.create_account(friendly_name, organization).await?;
                let v = AccountView::new(&a, Some(&token));
                Output {
                    json: to_json(&v),
                    text: account_text(&v),
                }
            }
            AccountCommand::List => {
                let views: Vec<AccountView> = admin
                    .accounts()
                    .await?
                    .iter()
                    .map(|a| AccountView::new(a, None))
                    .collect();
                let text = views
                    .iter()
                    .map(|v| {
                        format!(
                            "{}  {}  {}\n",
                            v.account_sid, v.organization_sid, v.friendly_name
                        )
                    })
                    .collect();
                Output {
                    json: json!({ "accounts": views }),
                    text,
                }
            }
            AccountCommand::Show { sid } => {
                let v = AccountView::new(&admin.account(&sid).await?, None);
                Output {
                    json: to_json(&v),
                    text: account_text(&v),
                }
            }
            AccountCommand::RotateToken { sid } => {
                let (a, token) = admin.rotate_auth_token(&sid).await?;
                let v = AccountView::new(&a, Some(&token));
                Output {
                    json: to_json(&v),
                    text: account_text(&v),
                }
            }
        },
        Command::Client(cmd) => match cmd {
            ClientCommand::Create(args) => {
                let spec = ClientSpec {
                    friendly_name: args.name,
                    account_sid: args.account,
                    grant_types: args.grants,
                    redirect_uris: args.redirect_uris,
                    scopes: args.scopes,
                    audiences: args.audiences,
                    public: args.public,
                    token_format: args.token_format,
                    access_token_ttl: args.access_token_ttl,
                    require_pkce: args.require_pkce,
                    auth_method: args.token_endpoint_auth_method,
                    jwks: read_jwks(args.jwks)?,
                    jwks_uri: args.jwks_uri,
                    require_par: args.require_par,
                    require_dpop: args.require_dpop,
                    profile: args.profile,
                };
                // client_secret_jwt keeps its secret sealed under the key-encryption key.
                let admin = if spec.auth_method == Some(TokenEndpointAuthMethod::ClientSecretJwt) {
                    ctx.admin().with_sealer(std::sync::Arc::new(ctx.sealer()?))
                } else {
                    admin
                };
                let (c, secret) = admin.create_client(spec).await?;
                let v = ClientView::new(&c, secret.as_ref());
                Output {
                    json: to_json(&v),
                    text: client_text(&v),
                }
            }
            ClientCommand::List { account } => {
                let views: Vec<ClientView> = admin
                    .clients(account.as_ref())
                    .await?
                    .iter()
                    .map(|c| ClientView::new(c, None))
                    .collect();
                let text = views
                    .iter()
                    .map(|v| format!("{}  {}  {}\n", v.client_id, v.account_sid, v.friendly_name))
                    .collect();
                Output {
                    json: json!({ "clients": views }),
                    text,
                }
            }
            ClientCommand::Show { client_id } => {
                let v = ClientView::new(&admin.client(&client_id).await?, None);
                Output {
                    json: to_json(&v),
                    text: client_text(&v),
                }
            }
            ClientCommand::RotateSecret { client_id } => {
                let (c, secret) = admin.rotate_client_secret(&client_id).await?;
                let v = ClientView::new(&c, Some(&secret));
                Output {
                    json: to_json(&v),
                    text: client_text(&v),
                }
            }
            ClientCommand::Delete { client_id } => {
                admin.delete_client(&client_id).await?;
                Output {
                    json: json!({ "deleted": client_id }),
                    text: format!("deleted {client_id}\n"),
                }
            }
        },
        Command::User(cmd) => match cmd {
            UserCommand::Create {
                email,
                password,
                first_name,
                last_name,
                friendly_name,
                account,
                admin: is_admin,
            } => {
                let spec = UserSpec {
                    email,
                    password,
                    first_name,
                    last_name,
                    friendly_name,
                    account_sid: account,
                    admin: is_admin,
                };
                let v = UserView::from(&admin.create_user(spec).await?);
                Output {
                    text: user_text(&v),
                    json: to_json(&v),
                }
            }
            UserCommand::List { account } => {
                let views: Vec<UserView> = admin
                    .users(account.as_ref())
                    .await?
                    .iter()
                    .map(UserView::from)
                    .collect();
                let text = views
                    .iter()
                    .map(|v| format!("{}  {}  {}\n", v.user_sid, v.account_sid, v.email))
                    .collect();
                Output {
                    json: json!({ "users": views }),
                    text,
                }
            }
            UserCommand::Show { sid } => {
                let v = UserView::from(&admin.user(&sid).await?);
                Output {
                    text: user_text(&v),
                    json: to_json(&v),
                }
            }
            UserCommand::Delete { sid } => {
                admin.delete_user(&sid).await?;
                Output {
                    json: json!({ "deleted": sid }),
                    text: format!("deleted {sid}\n"),
                }
            }
        },
        Command::Key(KeyCommand::Rotate {
            publish_ahead,
            algorithm,
        }) => {
            let alg = match algorithm {
                Some(a) => a
                    .parse()
                    .map_err(|e: String| CliError::Server(ServerError::Config(e)))?,
                None => ctx.config.engine.signing_algorithm,
            };
            let ahead = i64::from(publish_ahead.unwrap_or(ctx.config.key_publish_ahead_secs));
            let key = admin
                .rotate_signing_key(
                    alg,
                    &ctx.sealer()?,
                    ahead,
                    ctx.config.engine.access_token_ttl,
                )
                .await?;
            let v = KeyView::from(&key);
            let text = format!(
                "new key {} ({}) signs from {}\n",
                v.kid, v.algorithm, v.activates_at
            );
            Output {
                json: to_json(&v),
                text,
            }
        }
        Command::Key(KeyCommand::List) => {
            let keys: Vec<KeyView> = admin.keys().await?.iter().map(KeyView::from).collect();
            let text = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}  {}  created {}  signs from {}\n",
                        k.kid, k.algorithm, k.created_at, k.activates_at
                    )
                })
                .collect();
            Output {
                json: json!({ "keys": keys }),
                text,
            }
        }
    })
}

// `serve` is dispatched before `run_admin`; reaching here would be a wiring mistake, answered
// as an empty result rather than a panic.
fn unreachable_serve() -> Output {
    Output {
        json: json!({}),
        text: String::new(),
    }
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
        let callback = format!(
            "{}{}",
            running.engine.issuer(),
            tollgate_http::pages::demo::CALLBACK_PATH
        );
        let (client_id, secret) = demo_client(&admin, &callback).await?;
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
        if let Some((email, password)) = demo_user(&admin).await? {
            out["demo"]["user"] = json!({ "email": email, "password": password });
            text.push_str(&format!("\nDemo user (shown once): {email} / {password}\n"));
        }
    }
    running.engine.sync().await.map_err(ServerError::from)?;
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

/// The demo app is created once and gets a fresh secret on every `--demo` start, so the
/// printed curl always works.
async fn demo_client(
    admin: &tollgate_core::admin::Admin,
    callback: &str,
) -> Result<(ClientId, String), CliError> {
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
                let spec = ClientSpec {
                    friendly_name: c.friendly_name.clone(),
                    account_sid: None,
                    grant_types: c.grant_types.clone(),
                    redirect_uris: vec![callback.to_owned()],
                    scopes: c.scopes.clone(),
                    audiences: c.audiences.clone(),
                    public: false,
                    token_format: c.token_format,
                    access_token_ttl: c.access_token_ttl,
                    require_pkce: c.require_pkce,
                    ..ClientSpec::default()
                };
                admin.update_client(&c.id, spec).await?;
            }
            admin.rotate_client_secret(&c.id).await?
        }
        None => {
            let spec = ClientSpec {
                friendly_name: NAME.into(),
                account_sid: Some(account),
                grant_types: vec![
                    GrantType::ClientCredentials,
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                ],
                redirect_uris: vec![callback.to_owned()],
                scopes: vec!["read".into(), "write".into()],
                ..ClientSpec::default()
            };
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
async fn demo_user(
    admin: &tollgate_core::admin::Admin,
) -> Result<Option<(String, String)>, CliError> {
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
