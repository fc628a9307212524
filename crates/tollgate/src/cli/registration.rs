//! `tollgate registration …`: an account's RFC 7591 registration policy and the initial
//! access tokens its administrators hand to developers.

use clap::Subcommand;
use serde_json::json;
use tollgate_core::admin::{Admin, Caller, issued_token_view};
use tollgate_core::ids::AccountSid;
use tollgate_core::model::RegistrationPolicy;

use super::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Show the account's registration policy, or set it: off, token (initial access tokens
    /// only) or open (anyone may register public clients).
    Policy {
        #[arg(long)]
        account: Option<AccountSid>,
        policy: Option<RegistrationPolicy>,
    },
    /// Issue an initial access token (shown once).
    Token {
        #[arg(long)]
        account: Option<AccountSid>,
        /// Lifetime in seconds (default a day).
        #[arg(long)]
        ttl: Option<u32>,
        /// How many registrations it allows (default 1).
        #[arg(long)]
        uses: Option<u32>,
    },
}

pub(super) async fn run(admin: &Admin, cmd: RegistrationCommand) -> Result<Output, CliError> {
    let op = Caller::Operator;
    match cmd {
        RegistrationCommand::Policy {
            account,
            policy: None,
        } => {
            let (account, policy) = admin.registration_policy(&op, account).await?;
            Ok(policy_output(&account, policy))
        }
        RegistrationCommand::Policy {
            account,
            policy: Some(policy),
        } => {
            let account = admin.set_registration_policy(&op, account, policy).await?;
            Ok(policy_output(&account, policy))
        }
        RegistrationCommand::Token { account, ttl, uses } => {
            let (t, secret) = admin
                .issue_initial_access_token(&op, account, ttl, uses)
                .await?;
            let view = issued_token_view(&t, &secret);
            let text = format!(
                "account_sid:          {}\ninitial_access_token: {}\nexpires_at:           {}\n\
                 uses:                 {}\n(the token is shown once; send it as \
                 `Authorization: Bearer …` to POST /oauth/register)\n",
                t.account_sid,
                secret.expose(),
                t.expires_at,
                t.remaining
            );
            Ok(Output::one(&view, text))
        }
    }
}

fn policy_output(account: &AccountSid, policy: RegistrationPolicy) -> Output {
    let view = json!({"account_sid": account.as_str(), "policy": policy.as_str()});
    Output::one(
        &view,
        format!("account_sid: {account}\npolicy:      {policy}\n"),
    )
}
