//! `tollgate migrate --from sqlite://… --to postgres://…` (DESIGN section 13).

use clap::Args;
use serde_json::json;

use super::{CliError, Output};
use crate::server::ServerError;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy (sqlite://PATH); stop its server first, or what is written
    /// after the copy's snapshot stays behind.
    #[arg(long)]
    pub from: String,
    /// An empty PostgreSQL database (postgres://…).
    #[arg(long)]
    pub to: String,
}

pub(super) async fn migrate(args: MigrateArgs) -> Result<Output, CliError> {
    let done = tollgate_store::migrate::sqlite_to_postgres(&args.from, &args.to)
        .await
        .map_err(|e| {
            // Never echo a password the URL may carry.
            let mut message = e.to_string();
            if let Some(p) = url::Url::parse(&args.to)
                .ok()
                .and_then(|u| u.password().map(str::to_owned))
                .filter(|p| !p.is_empty())
            {
                message = message.replace(&p, "***");
            }
            CliError::Server(ServerError::Config(message))
        })?;
    let rows: u64 = done.tables.iter().map(|t| t.rows).sum();
    let note = "signing keys and client_secret_jwt secrets are still sealed under the same \
                key-encryption key: give the PostgreSQL nodes that key (key_encryption_key)";
    let mut text = format!(
        "copied {rows} rows in {} tables, verified (change log at {})\n",
        done.tables.len(),
        done.change_log_position
    );
    for t in &done.tables {
        text.push_str(&format!(
            "  {:<32} {:>8}  {}\n",
            t.table, t.rows, t.checksum
        ));
    }
    text.push_str(note);
    text.push('\n');
    Ok(Output {
        json: json!({
            "migrated": true,
            "tables": done.tables,
            "change_log_position": done.change_log_position,
            "note": note,
        }),
        text,
    })
}
