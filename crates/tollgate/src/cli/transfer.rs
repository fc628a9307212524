//! `tollgate export --account AC…` and `tollgate import FILE` (DESIGN section 13).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use tollgate_core::admin::{AccountExport, AdminError};
use tollgate_core::ids::AccountSid;

use super::{CliError, Output};
use crate::server::Context;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The account to export.
    #[arg(long)]
    pub account: String,
    /// Also export users' password hashes (Argon2id); otherwise imported users get a
    /// password nobody knows until an administrator sets one.
    #[arg(long)]
    pub with_passwords: bool,
    /// Write the document to FILE instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A document `tollgate export` wrote.
    pub file: PathBuf,
    /// Import into this account (default: the exported account, which must exist here).
    #[arg(long)]
    pub account: Option<String>,
}

fn account(sid: &str) -> Result<AccountSid, CliError> {
    AccountSid::parse(sid)
        .map_err(|_| CliError::Admin(AdminError::Invalid(format!("{sid:?} is not an AccountSid"))))
}

pub(super) async fn export(ctx: &Context, args: ExportArgs) -> Result<Output, CliError> {
    let sid = account(&args.account)?;
    let doc = ctx
        .admin()
        .export_account(&sid, args.with_passwords)
        .await?;
    let value = serde_json::to_value(&doc).unwrap_or_default();
    let Some(file) = args.output else {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        return Ok(Output { json: value, text });
    };
    let pretty = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    std::fs::write(&file, pretty).map_err(crate::server::ServerError::Io)?;
    let (c, u) = (doc.clients.len(), doc.users.len());
    Ok(Output {
        json: json!({ "exported": file, "clients": c, "users": u }),
        text: format!("exported {c} clients and {u} users to {}\n", file.display()),
    })
}

pub(super) async fn import(ctx: &Context, args: ImportArgs) -> Result<Output, CliError> {
    let text = std::fs::read_to_string(&args.file).map_err(crate::server::ServerError::Io)?;
    let doc: AccountExport = serde_json::from_str(&text).map_err(|e| {
        CliError::Admin(AdminError::Invalid(format!(
            "{} is not a Tollgate export: {e}",
            args.file.display()
        )))
    })?;
    let into = args.account.as_deref().map(account).transpose()?;
    let admin = ctx.admin().with_sealer(std::sync::Arc::new(ctx.sealer()?));
    let report = admin.import_account(doc, into).await?;
    let text = format!(
        "created {}, updated {}, unchanged {}\n{}",
        report.created.len(),
        report.updated.len(),
        report.unchanged.len(),
        report
            .client_secrets
            .iter()
            .map(|(id, s)| format!("client {id} secret (shown once): {s}\n"))
            .collect::<String>()
    );
    Ok(Output {
        json: serde_json::to_value(&report).unwrap_or_default(),
        text,
    })
}
