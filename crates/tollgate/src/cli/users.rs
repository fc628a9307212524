//! `tollgate user …`.

use clap::{Args, Subcommand};
use tollgate_core::admin::{Admin, Caller, UserSpec};
use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::{SignInPolicy, User};

use super::{CliError, Output};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (the password is stored as an Argon2id hash).
    Create(UserCreateArgs),
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
    /// Mark the user's email address verified (`email_verified` in id tokens and userinfo);
    /// `--unverified` takes it back.
    VerifyEmail {
        sid: UserSid,
        #[arg(long)]
        unverified: bool,
    },
    /// Mail the user a new link to verify their address (needs `smtp_url`).
    SendVerification {
        sid: UserSid,
    },
    /// Set how the user signs in: `password` (no second factor), `optional` (one-time codes
    /// once set up) or `required` (set up at the next sign-in).
    SignInPolicy {
        sid: UserSid,
        policy: SignInPolicy,
    },
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub password: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    #[arg(long)]
    pub friendly_name: Option<String>,
    /// Owning account (default: the only account).
    #[arg(long)]
    pub account: Option<AccountSid>,
    /// Make the user an administrator of the account (may sign in to /console).
    #[arg(long)]
    pub admin: bool,
    /// The address is known to be the user's (`email_verified: true`).
    #[arg(long)]
    pub email_verified: bool,
}

pub(super) async fn run(admin: &Admin, cmd: UserCommand) -> Result<Output, CliError> {
    match cmd {
        UserCommand::Create(args) => create(admin, args).await,
        UserCommand::List { account } => list(admin, account.as_ref()).await,
        UserCommand::Show { sid } => show(admin, &sid).await,
        UserCommand::Delete { sid } => delete(admin, &sid).await,
        UserCommand::VerifyEmail { sid, unverified } => {
            let user = admin
                .set_email_verified(&Caller::Operator, &sid, !unverified)
                .await?;
            Ok(one(&user))
        }
        UserCommand::SendVerification { sid } => {
            let sent = admin.resend_verification(&Caller::Operator, &sid).await?;
            let text = if sent {
                format!("verification mail sent to the address of {sid}\n")
            } else {
                format!(
                    "no mail sent: mail is not configured (smtp_url), the address of {sid} is \
                     verified already, or the mail server refused it\n"
                )
            };
            let view = serde_json::json!({ "user_sid": sid.as_str(), "sent": sent });
            Ok(Output::one(&view, text))
        }
        UserCommand::SignInPolicy { sid, policy } => {
            let settings = admin
                .set_sign_in_policy(&Caller::Operator, &sid, policy)
                .await?;
            let view = serde_json::json!({
                "user_sid": sid.as_str(),
                "sign_in_policy": settings.policy.as_str(),
                "totp": settings.has_totp(),
                "recovery_codes_left": settings.recovery_codes_left,
            });
            let text = format!(
                "user_sid:       {sid}\nsign_in_policy: {}\ntotp:           {}\n",
                settings.policy,
                if settings.has_totp() {
                    "set up"
                } else {
                    "none"
                }
            );
            Ok(Output::one(&view, text))
        }
    }
}

async fn create(admin: &Admin, args: UserCreateArgs) -> Result<Output, CliError> {
    let spec = UserSpec {
        email: args.email,
        password: args.password,
        first_name: args.first_name,
        last_name: args.last_name,
        friendly_name: args.friendly_name,
        account_sid: args.account,
        admin: args.admin,
        email_verified: args.email_verified,
    };
    Ok(one(&admin.create_user(spec).await?))
}

async fn list(admin: &Admin, account: Option<&AccountSid>) -> Result<Output, CliError> {
    let users = admin.users(account).await?;
    Ok(Output::list("users", &users, |u| {
        format!("{}  {}  {}\n", u.sid, u.account_sid, u.email)
    }))
}

async fn show(admin: &Admin, sid: &UserSid) -> Result<Output, CliError> {
    Ok(one(&admin.user_for(&Caller::Operator, sid).await?))
}

async fn delete(admin: &Admin, sid: &UserSid) -> Result<Output, CliError> {
    admin.delete_user(sid).await?;
    Ok(Output::deleted(sid))
}

fn one(v: &User) -> Output {
    let text = format!(
        "user_sid:    {}\naccount_sid: {}\nemail:       {}\nname:        {}\nadmin:       {}\n",
        v.sid,
        v.account_sid,
        v.email,
        [&v.first_name, &v.last_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        if v.admin { "yes" } else { "no" }
    );
    Output::one(v, text)
}
