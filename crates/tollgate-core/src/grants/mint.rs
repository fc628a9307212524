//! Minting an access token: a signed JWT (RFC 9068), or an opaque one recorded for
//! introspection.

use crate::engine::Engine;
use crate::error::OAuthError;
use crate::model::{Client, OpaqueAccessToken, TokenFormat};
use crate::token::{AccessTokenClaims, Audience, Confirmation, Issued};

/// What one access token says.
pub(crate) struct Mint<'a> {
    pub subject: &'a str,
    pub scope: &'a str,
    pub audience: &'a [String],
    pub account_sid: Option<&'a str>,
    /// Chosen by the caller, so it can be recorded first.
    pub jti: &'a str,
    /// The DPoP key the token is bound to (RFC 9449 `cnf.jkt`).
    pub jkt: Option<&'a str>,
}

impl Engine {
    pub(crate) async fn mint(&self, client: &Client, m: Mint<'_>) -> Result<Issued, OAuthError> {
        let now = self.clock.now();
        let ttl = i64::from(
            client
                .access_token_ttl
                .unwrap_or(self.config.access_token_ttl),
        );
        let access_token = if client.token_format == TokenFormat::Opaque {
            self.mint_opaque(client, &m, now, ttl).await?
        } else {
            let claims = AccessTokenClaims {
                iss: &self.config.issuer,
                sub: m.subject,
                aud: Audience::of(m.audience),
                client_id: client.id.as_str(),
                scope: m.scope,
                iat: now,
                nbf: now,
                exp: now + ttl,
                jti: m.jti,
                account_sid: m.account_sid,
                cnf: m.jkt.map(|jkt| Confirmation { jkt }),
            };
            self.sign(&claims, true)?
        };
        Ok(Issued {
            access_token,
            expires_in: ttl,
            issued_at: now,
            scope: m.scope.to_owned(),
            refresh_token: None,
            refresh_token_expires_at: None,
            id_token: None,
            dpop_bound: m.jkt.is_some(),
        })
    }

    /// Doorkeeper-style: a random string, recorded by digest for introspection.
    async fn mint_opaque(
        &self,
        client: &Client,
        m: &Mint<'_>,
        now: i64,
        ttl: i64,
    ) -> Result<String, OAuthError> {
        let token = crate::secret::Secret::generate(self.rng.as_ref())?;
        self.store
            .insert_opaque_token(&OpaqueAccessToken {
                digest: token.digest(),
                jti: m.jti.to_owned(),
                client_id: client.id.clone(),
                sub: m.subject.to_owned(),
                scope: m.scope.to_owned(),
                audiences: m.audience.to_vec(),
                account_sid: m.account_sid.map(str::to_owned),
                issued_at: now,
                expires_at: now + ttl,
                revoked_at: None,
                dpop_jkt: m.jkt.map(str::to_owned),
            })
            .await?;
        Ok(token.expose().to_owned())
    }
}
