//! The tail every user grant shares (code, device, refresh): mint the access token, start a
//! refresh family with its DPoP binding when the client may refresh, and add an id_token when
//! `openid` was granted.

use super::mint::Mint;
use crate::client_auth::AuthenticatedClient;
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::model::{RefreshFamily, RefreshToken, SessionClient, User};
use crate::policy::Decision;
use crate::secret::Secret;
use crate::token::Issued;

/// A refresh family to start beside the access token.
pub(crate) struct NewFamily {
    pub id: String,
    /// The RFC 8707 resources granted, which later refreshes may narrow.
    pub resources: Vec<String>,
}

/// What a user grant issues.
pub(crate) struct UserGrant<'a> {
    pub user: &'a User,
    pub decision: &'a Decision,
    /// The access token's `jti`, chosen beforehand where the store records it first.
    pub jti: String,
    pub family: Option<NewFamily>,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// How the user signed in, where known (the code flow): `acr` and `amr` in the id_token.
    pub authn: Option<crate::model::Authn>,
    /// The browser session's `sid`, when the grant came from one.
    pub session_sid: Option<&'a str>,
    /// The record that the browser session signed in to this client (the code flow), written
    /// with the family so a logout reaches it.
    pub session_link: Option<SessionClient>,
}

impl Engine {
    pub(crate) async fn issue_for_user(
        &self,
        client: &AuthenticatedClient,
        mut g: UserGrant<'_>,
    ) -> Result<Issued, OAuthError> {
        let scope = g.decision.scope();
        let mint = Mint {
            subject: g.user.sid.as_str(),
            scope: &scope,
            audience: &g.decision.audience,
            account_sid: Some(g.user.account_sid.as_str()),
            jti: &g.jti,
            jkt: client.dpop_jkt(),
        };
        let mut issued = self.mint(client, mint).await?;
        let link = g.session_link.take();
        if let Some(family) = g.family.take() {
            self.start_refresh_family(client, &g, family, link.as_ref(), &mut issued)
                .await?;
        } else if let Some(link) = link {
            self.store.insert_session_client(&link).await?;
        }
        if g.decision.scopes.iter().any(|s| s == "openid") {
            issued.id_token = Some(self.id_token(client, &g)?);
        }
        Ok(issued)
    }

    /// Starts a refresh family and records its first token on `issued`.
    async fn start_refresh_family(
        &self,
        client: &AuthenticatedClient,
        g: &UserGrant<'_>,
        start: NewFamily,
        link: Option<&SessionClient>,
        issued: &mut Issued,
    ) -> Result<(), OAuthError> {
        let now = self.clock.now();
        let family = RefreshFamily {
            id: start.id,
            client_id: client.id.clone(),
            user_sid: g.user.sid.clone(),
            scopes: g.decision.scopes.clone(),
            auth_time: g.auth_time,
            created_at: now,
            revoked_at: None,
            resources: start.resources,
            // RFC 9449 section 5: a public client's refresh tokens work only with its key.
            dpop_jkt: client
                .is_public()
                .then(|| client.dpop_jkt().map(str::to_owned))
                .flatten(),
        };
        let (secret, token) = self.new_refresh_token(&family.id, now)?;
        let amr = g.authn.as_ref().map(|a| a.amr.as_slice());
        self.store
            .start_refresh_family(&family, &token, amr, link)
            .await?;
        issued.refresh_token = Some(secret.expose().to_owned());
        issued.refresh_token_expires_at = Some(token.expires_at);
        Ok(())
    }

    pub(crate) fn new_refresh_token(
        &self,
        family_id: &str,
        now: i64,
    ) -> Result<(Secret, RefreshToken), OAuthError> {
        let secret = Secret::generate(self.rng.as_ref())?;
        let token = RefreshToken {
            digest: secret.digest(),
            family_id: family_id.to_owned(),
            created_at: now,
            expires_at: now + i64::from(self.config.refresh_token_ttl),
            used_at: None,
        };
        Ok((secret, token))
    }
}
