//! The `tollgate` command line: `serve`, `config check`, and the admin commands, one function
//! per subcommand.

mod accounts;
mod backup;
mod clients;
mod keys;
mod migrate;
mod registration;
mod resources;
mod serve;
mod transfer;
mod users;

use std::fmt::Display;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};
use tollgate_core::admin::AdminError;

use crate::config::{Config, Overrides};
use crate::server::{Context, Deps, ServerError};

pub use accounts::AccountCommand;
pub use clients::{ClientCommand, ClientCreateArgs};
pub use keys::KeyCommand;
pub use registration::RegistrationCommand;
pub use resources::ResourceCommand;
pub use serve::{ServeArgs, serve};
pub use users::{UserCommand, UserCreateArgs};

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
    #[command(flatten)]
    Admin(AdminCommand),
    #[command(flatten)]
    Data(DataCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// The commands that work on the database directly, while servers run or not.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
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
    /// Manage API resources (audiences) and which accounts they are granted to.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Dynamic client registration (RFC 7591): policies and initial access tokens.
    #[command(subcommand)]
    Registration(RegistrationCommand),
}

/// Moving data: backups, restores, migration between stores, export and import.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write an online, consistent copy of the SQLite database to FILE (servers may run).
    Backup(backup::BackupArgs),
    /// Restore a backup into a fresh data directory.
    Restore(backup::RestoreArgs),
    /// Copy everything from an SQLite database into an empty PostgreSQL database, verified.
    Migrate(migrate::MigrateArgs),
    /// Print an account's clients, users and resources as JSON (no client secrets).
    Export(transfer::ExportArgs),
    /// Apply an export: create what is missing, update what differs; twice changes nothing.
    Import(transfer::ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted) and every problem; exits non-zero
    /// when there is one.
    Check,
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
            flags.serve = s.overrides.clone();
        }
        Ok(Config::load(self.config.as_deref(), &flags)?)
    }
}

/// What a command prints: a JSON object, and the same for people.
pub struct Output {
    pub json: Value,
    pub text: String,
}

impl Output {
    /// One record: its view as JSON, and `text` for people.
    fn one<T: Serialize>(view: &T, text: String) -> Self {
        Self {
            json: serde_json::to_value(view).unwrap_or(Value::Null),
            text,
        }
    }

    /// A listing: `{ key: [views] }`, and one line per view for people.
    fn list<T: Serialize>(key: &str, views: &[T], line: impl Fn(&T) -> String) -> Self {
        Self {
            json: json!({ key: views }),
            text: views.iter().map(line).collect(),
        }
    }

    fn deleted<T: Serialize + Display>(id: &T) -> Self {
        Self {
            json: json!({ "deleted": id }),
            text: format!("deleted {id}\n"),
        }
    }
}

/// Runs one admin command against the configured database.
pub async fn run_admin(config: Config, command: AdminCommand) -> Result<Output, CliError> {
    let ctx = Context::open(config, Deps::system()).await?;
    match command {
        AdminCommand::Account(cmd) => accounts::run(&ctx.admin(), cmd).await,
        AdminCommand::Client(cmd) => clients::run(&ctx, cmd).await,
        AdminCommand::User(cmd) => users::run(&ctx.mailing_admin()?, cmd).await,
        AdminCommand::Key(cmd) => keys::run(&ctx, cmd).await,
        AdminCommand::Resource(cmd) => resources::run(&ctx.admin(), cmd).await,
        AdminCommand::Registration(cmd) => registration::run(&ctx.admin(), cmd).await,
    }
}

/// Runs one data command; only those that work on a store open it.
pub async fn run_data(config: Config, command: DataCommand) -> Result<Output, CliError> {
    match command {
        DataCommand::Backup(args) => backup::backup(&config, args).await,
        DataCommand::Restore(args) => backup::restore(config, args).await,
        DataCommand::Migrate(args) => migrate::migrate(args).await,
        DataCommand::Export(args) => {
            transfer::export(&Context::open(config, Deps::system()).await?, args).await
        }
        DataCommand::Import(args) => {
            transfer::import(&Context::open(config, Deps::system()).await?, args).await
        }
    }
}
