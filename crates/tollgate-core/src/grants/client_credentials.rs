//! RFC 6749 section 4.4: a confidential client acting for itself (or, Twilio-style, for
//! another account of its organization).

use super::Grant;
use super::mint::Mint;
use crate::client_auth::AuthenticatedClient;
use crate::engine::{Engine, TokenRequest};
use crate::error::{ErrorKind, OAuthError};
use crate::ids::AccountSid;
use crate::model::GrantType;
use crate::token::Issued;

pub struct ClientCredentialsGrant;

pub struct ClientCredentialsParams {
    scope: Option<String>,
    /// `audience` and RFC 8707 `resource` together.
    asked: Vec<String>,
    account_sid: Option<String>,
}

impl Grant for ClientCredentialsGrant {
    const TYPE: GrantType = GrantType::ClientCredentials;
    type Params = ClientCredentialsParams;

    fn params(req: TokenRequest) -> Result<ClientCredentialsParams, OAuthError> {
        let mut asked = req.audience.clone();
        asked.extend(req.resource.iter().cloned());
        Ok(ClientCredentialsParams {
            scope: req.scope,
            asked,
            account_sid: req.account_sid,
        })
    }

    async fn issue(
        engine: &Engine,
        client: &AuthenticatedClient,
        p: Self::Params,
    ) -> Result<Issued, OAuthError> {
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                "public clients cannot use the client_credentials grant",
            ));
        }
        let decision = engine.client_policy(client, p.scope.as_deref(), &p.asked, None)?;
        let account = acting_account(engine, client, p.account_sid.as_deref()).await?;
        let jti = engine.random_id::<16>()?;
        let mint = Mint {
            subject: client.id.as_str(),
            scope: &decision.scope(),
            audience: &decision.audience,
            account_sid: Some(account.as_str()),
            jti: &jti,
            jkt: client.dpop_jkt(),
        };
        engine.mint(client, mint).await
    }
}

/// The client's own account by default; another account only within the same organization.
async fn acting_account(
    engine: &Engine,
    client: &AuthenticatedClient,
    requested: Option<&str>,
) -> Result<AccountSid, OAuthError> {
    let Some(raw) = requested.filter(|s| !s.is_empty()) else {
        return Ok(client.account().clone());
    };
    let sid = AccountSid::parse(raw)
        .map_err(|e| OAuthError::invalid_request(format!("account_sid: {e}")))?;
    if &sid == client.account() {
        return Ok(sid);
    }
    let own = engine.find_account(client.account()).await?;
    let target = engine.find_account(&sid).await?;
    match (own, target) {
        (Some(own), Some(target)) if own.organization_sid == target.organization_sid => Ok(sid),
        _ => Err(OAuthError::new(
            ErrorKind::InvalidTarget,
            format!("account_sid {sid} is not an account of this OAuth app's organization"),
        )),
    }
}
