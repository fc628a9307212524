//! `tollgate key …`.

use clap::Subcommand;

use super::{CliError, Output};
use crate::server::{Context, ServerError};

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

pub(super) async fn run(ctx: &Context, cmd: KeyCommand) -> Result<Output, CliError> {
    match cmd {
        KeyCommand::List => list(ctx).await,
        KeyCommand::Rotate {
            publish_ahead,
            algorithm,
        } => rotate(ctx, publish_ahead, algorithm).await,
    }
}

async fn list(ctx: &Context) -> Result<Output, CliError> {
    let keys = ctx.admin().keys().await?;
    Ok(Output::list("keys", &keys, |k| {
        format!(
            "{}  {}  created {}  signs from {}\n",
            k.kid,
            k.algorithm.as_str(),
            k.created_at,
            k.activates_at
        )
    }))
}

async fn rotate(
    ctx: &Context,
    publish_ahead: Option<u32>,
    algorithm: Option<String>,
) -> Result<Output, CliError> {
    let mut engine = ctx.config.engine.clone();
    if let Some(a) = algorithm {
        engine.signing_algorithm = a
            .parse()
            .map_err(|e: String| CliError::Server(ServerError::Config(e)))?;
    }
    let ahead = i64::from(publish_ahead.unwrap_or(ctx.config.key_publish_ahead_secs));
    let key = ctx
        .admin()
        .rotate_signing_key(
            &engine.key_algorithms(),
            &ctx.sealer()?,
            ahead,
            ctx.config.engine.access_token_ttl,
        )
        .await?;
    let text = format!(
        "new key {} ({}) signs from {}\n",
        key.kid,
        key.algorithm.as_str(),
        key.activates_at
    );
    Ok(Output::one(&key, text))
}
