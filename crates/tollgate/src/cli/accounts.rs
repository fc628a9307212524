//! `tollgate account …`.

use clap::Subcommand;
use serde_json::json;
use tollgate_core::admin::{Admin, Caller};
use tollgate_core::ids::{AccountSid, OrganizationSid};
use tollgate_core::model::SignInPolicy;

use super::{CliError, Output};
use crate::views::AccountView;

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
    /// Show the account's sign-in policy, or set it: password (no second factor), optional
    /// (asked for once a person sets one up) or required (set up at the next sign-in).
    SignInPolicy {
        #[arg(long)]
        account: Option<AccountSid>,
        policy: Option<SignInPolicy>,
    },
}

pub(super) async fn run(admin: &Admin, cmd: AccountCommand) -> Result<Output, CliError> {
    match cmd {
        AccountCommand::Create {
            friendly_name,
            organization,
        } => create(admin, friendly_name, organization).await,
        AccountCommand::List => list(admin).await,
        AccountCommand::Show { sid } => show(admin, &sid).await,
        AccountCommand::RotateToken { sid } => rotate_token(admin, &sid).await,
        AccountCommand::SignInPolicy { account, policy } => {
            let op = Caller::Operator;
            let (account, policy) = match policy {
                None => admin.sign_in_policy(&op, account).await?,
                Some(p) => (admin.set_account_sign_in_policy(&op, account, p).await?, p),
            };
            let view = json!({"account_sid": account.as_str(), "sign_in_policy": policy.as_str()});
            let text = format!("account_sid:    {account}\nsign_in_policy: {policy}\n");
            Ok(Output::one(&view, text))
        }
    }
}

async fn create(
    admin: &Admin,
    friendly_name: Option<String>,
    organization: Option<OrganizationSid>,
) -> Result<Output, CliError> {
    let (a, token) = admin.create_account(friendly_name, organization).await?;
    Ok(one(&AccountView::new(&a, Some(&token))))
}

async fn list(admin: &Admin) -> Result<Output, CliError> {
    let views: Vec<AccountView> = admin
        .accounts()
        .await?
        .iter()
        .map(|a| AccountView::new(a, None))
        .collect();
    Ok(Output::list("accounts", &views, |v| {
        format!(
            "{}  {}  {}\n",
            v.account_sid, v.organization_sid, v.friendly_name
        )
    }))
}

async fn show(admin: &Admin, sid: &AccountSid) -> Result<Output, CliError> {
    Ok(one(&AccountView::new(&admin.account(sid).await?, None)))
}

async fn rotate_token(admin: &Admin, sid: &AccountSid) -> Result<Output, CliError> {
    let (a, token) = admin.rotate_auth_token(sid).await?;
    Ok(one(&AccountView::new(&a, Some(&token))))
}

fn one(v: &AccountView) -> Output {
    let mut s = format!(
        "account_sid:      {}\norganization_sid: {}\nname:             {}\n",
        v.account_sid, v.organization_sid, v.friendly_name
    );
    if let Some(token) = &v.auth_token {
        s.push_str(&format!(
            "auth_token:       {token}\n(the auth token is shown once; store it now)\n"
        ));
    }
    Output::one(v, s)
}
