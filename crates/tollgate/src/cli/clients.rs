//! `tollgate client …`.

use std::sync::Arc;

use clap::{Args, Subcommand};
use tollgate_core::admin::{AdminError, Caller, ClientPatch, ClientSpec};
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::keys::SigningAlgorithm;
use tollgate_core::model::{ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat};

use super::{CliError, Output};
use crate::server::Context;
use crate::views::ClientView;

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
    /// Set where OpenID Connect logout may send the browser and where back-channel logout
    /// tokens go (RP-Initiated and Back-Channel Logout 1.0).
    SetLogout(ClientLogoutArgs),
}

#[derive(Debug, Args)]
pub struct ClientLogoutArgs {
    pub client_id: ClientId,
    /// Replaces the post-logout redirect URIs (repeatable; exact match at /oauth/logout).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Removes every post-logout redirect URI.
    #[arg(long, conflicts_with = "post_logout_redirect_uris")]
    pub clear_post_logout_redirect_uris: bool,
    /// Where logout tokens are POSTed (https, or http on a loopback host in development).
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Removes the back-channel logout URI.
    #[arg(long, conflicts_with = "backchannel_logout_uri")]
    pub clear_backchannel_logout_uri: bool,
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
    /// Sign this client's id tokens with ES256 or RS256 (default: the server's algorithm).
    #[arg(long)]
    pub id_token_signed_response_alg: Option<SigningAlgorithm>,
    /// Accept authorization requests only as signed request objects (RFC 9101).
    #[arg(long)]
    pub require_signed_request_object: bool,
    /// Where /oauth/logout may send the browser afterwards (repeatable; exact match).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0).
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
}

impl ClientCreateArgs {
    fn into_spec(self) -> Result<ClientSpec, CliError> {
        let patch = ClientPatch {
            friendly_name: Some(self.name),
            grant_types: Some(self.grants),
            redirect_uris: Some(self.redirect_uris),
            scopes: Some(self.scopes),
            audiences: Some(self.audiences),
            public: Some(self.public),
            token_format: Some(self.token_format),
            access_token_ttl: Some(self.access_token_ttl),
            require_pkce: Some(self.require_pkce),
            auth_method: self.token_endpoint_auth_method,
            jwks: read_jwks(self.jwks)?,
            jwks_uri: self.jwks_uri,
            require_par: Some(self.require_par),
            require_dpop: Some(self.require_dpop),
            profile: Some(self.profile),
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            require_signed_request_object: Some(self.require_signed_request_object),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris),
            backchannel_logout_uri: Some(self.backchannel_logout_uri),
        };
        Ok(patch.into_spec(self.account))
    }
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

pub(super) async fn run(ctx: &Context, cmd: ClientCommand) -> Result<Output, CliError> {
    match cmd {
        ClientCommand::Create(args) => create(ctx, args).await,
        ClientCommand::List { account } => list(ctx, account.as_ref()).await,
        ClientCommand::Show { client_id } => show(ctx, &client_id).await,
        ClientCommand::RotateSecret { client_id } => rotate_secret(ctx, &client_id).await,
        ClientCommand::Delete { client_id } => delete(ctx, &client_id).await,
        ClientCommand::SetLogout(args) => set_logout(ctx, args).await,
    }
}

async fn set_logout(ctx: &Context, a: ClientLogoutArgs) -> Result<Output, CliError> {
    let post_logout = if a.clear_post_logout_redirect_uris {
        Some(Vec::new())
    } else {
        Some(a.post_logout_redirect_uris).filter(|v| !v.is_empty())
    };
    let backchannel = if a.clear_backchannel_logout_uri {
        Some(None)
    } else {
        a.backchannel_logout_uri.map(Some)
    };
    let patch = ClientPatch {
        post_logout_redirect_uris: post_logout,
        backchannel_logout_uri: backchannel,
        ..ClientPatch::default()
    };
    let c = ctx
        .admin()
        .update_client(&Caller::Operator, &a.client_id, patch)
        .await?;
    Ok(one(&ClientView::new(&c, None)))
}

async fn create(ctx: &Context, args: ClientCreateArgs) -> Result<Output, CliError> {
    let spec = args.into_spec()?;
    // client_secret_jwt keeps its secret sealed under the key-encryption key (read, or made,
    // only for such a client).
    let admin = if spec.auth_method == Some(TokenEndpointAuthMethod::ClientSecretJwt) {
        ctx.admin().with_sealer(Arc::new(ctx.sealer()?))
    } else {
        ctx.admin()
    };
    let (c, secret) = admin.create_client(spec).await?;
    Ok(one(&ClientView::new(&c, secret.as_ref())))
}

async fn list(ctx: &Context, account: Option<&AccountSid>) -> Result<Output, CliError> {
    let views: Vec<ClientView> = ctx
        .admin()
        .clients(account)
        .await?
        .iter()
        .map(|c| ClientView::new(c, None))
        .collect();
    Ok(Output::list("clients", &views, |v| {
        format!("{}  {}  {}\n", v.client_id, v.account_sid, v.friendly_name)
    }))
}

async fn show(ctx: &Context, id: &ClientId) -> Result<Output, CliError> {
    let client = ctx.admin().client_for(&Caller::Operator, id).await?;
    Ok(one(&ClientView::new(&client, None)))
}

async fn rotate_secret(ctx: &Context, id: &ClientId) -> Result<Output, CliError> {
    let admin = ctx.admin();
    let (c, secret) = admin.rotate_client_secret(&Caller::Operator, id).await?;
    Ok(one(&ClientView::new(&c, Some(&secret))))
}

async fn delete(ctx: &Context, id: &ClientId) -> Result<Output, CliError> {
    ctx.admin().delete_client(&Caller::Operator, id).await?;
    Ok(Output::deleted(id))
}

fn one(v: &ClientView) -> Output {
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
    if !v.post_logout_redirect_uris.is_empty() {
        s.push_str(&format!(
            "post-logout:   {}\n",
            v.post_logout_redirect_uris.join(" ")
        ));
    }
    if let Some(uri) = &v.backchannel_logout_uri {
        s.push_str(&format!("back-channel:  {uri}\n"));
    }
    if let Some(secret) = &v.client_secret {
        s.push_str(&format!(
            "client_secret: {secret}\n(the secret is shown once; store it now)\n"
        ));
    }
    Output::one(v, s)
}
