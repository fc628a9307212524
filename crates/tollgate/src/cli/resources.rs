//! `tollgate resource …`.

use clap::Subcommand;
use tollgate_core::admin::{Admin, Caller, ResourceSpec};
use tollgate_core::ids::{AccountSid, ResourceSid};
use tollgate_core::model::Resource;

use super::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register an API resource (an audience URI) to an account; the first account to
    /// register an identifier owns it.
    Create {
        #[arg(long)]
        identifier: String,
        /// Owning account (default: the only account).
        #[arg(long)]
        account: Option<AccountSid>,
        #[arg(long)]
        name: Option<String>,
        /// A scope the resource defines (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    List {
        #[arg(long)]
        account: Option<AccountSid>,
    },
    /// A resource, by SID (RS…) or identifier.
    Show { resource: String },
    /// Let another account's apps name the resource in their audiences.
    Grant {
        resource: String,
        #[arg(long)]
        to: AccountSid,
    },
    /// Stop another account's apps getting tokens for the resource.
    Revoke {
        resource: String,
        #[arg(long)]
        from: AccountSid,
    },
    /// Delete a resource no app names any more.
    Delete { resource: String },
}

pub(super) async fn run(admin: &Admin, cmd: ResourceCommand) -> Result<Output, CliError> {
    let op = Caller::Operator;
    match cmd {
        ResourceCommand::Create {
            identifier,
            account,
            name,
            scopes,
        } => {
            let spec = ResourceSpec {
                identifier,
                account_sid: account,
                friendly_name: name,
                scopes,
            };
            Ok(one(&admin.create_resource(&op, spec).await?))
        }
        ResourceCommand::List { account } => {
            let found = admin.resources(&op, account.as_ref()).await?;
            Ok(Output::list("resources", &found, |r| {
                format!("{}  {}  {}\n", r.sid, r.account_sid, r.identifier)
            }))
        }
        ResourceCommand::Show { resource } => Ok(one(&find(admin, &resource).await?)),
        ResourceCommand::Grant { resource, to } => {
            let sid = find(admin, &resource).await?.sid;
            Ok(one(&admin.set_resource_grant(&op, &sid, &to, true).await?))
        }
        ResourceCommand::Revoke { resource, from } => {
            let sid = find(admin, &resource).await?.sid;
            Ok(one(&admin
                .set_resource_grant(&op, &sid, &from, false)
                .await?))
        }
        ResourceCommand::Delete { resource } => {
            let sid = find(admin, &resource).await?.sid;
            admin.delete_resource(&op, &sid).await?;
            Ok(Output::deleted(&sid))
        }
    }
}

/// A resource by its SID, else by its identifier.
async fn find(admin: &Admin, key: &str) -> Result<Resource, CliError> {
    Ok(match ResourceSid::parse(key) {
        Ok(sid) => admin.resource_for(&Caller::Operator, &sid).await?,
        Err(_) => admin.resource_named(&Caller::Operator, key).await?,
    })
}

fn one(v: &Resource) -> Output {
    let granted: Vec<&str> = v.granted_to.iter().map(AccountSid::as_str).collect();
    let text = format!(
        "resource_sid: {}\nidentifier:   {}\naccount_sid:  {}\nname:         {}\nscopes:       {}\ngranted to:   {}\n",
        v.sid,
        v.identifier,
        v.account_sid,
        v.friendly_name,
        v.scopes.join(" "),
        granted.join(" ")
    );
    Output::one(v, text)
}
