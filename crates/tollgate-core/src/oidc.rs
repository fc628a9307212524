//! OpenID Connect: id tokens, verifying our own access tokens, and userinfo claims.

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::ids::{ClientId, UserSid};
use crate::model::{Client, User};
use crate::token::Audience;

/// Every claim an id_token or the userinfo answer may carry (OIDC Discovery
/// `claims_supported`): kept beside the structs that serialize them.
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "email",
    "email_verified",
];

#[serde_with::skip_serializing_none]
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    azp: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    nonce: Option<&'a str>,
    /// OIDC Core section 2: how the sign-in was made, when the code's sign-in is known.
    acr: Option<&'a str>,
    amr: Option<&'a [String]>,
    /// OIDC Front/Back-Channel Logout: the browser session the token came from.
    sid: Option<&'a str>,
    #[serde(flatten)]
    profile: ProfileClaims,
}

/// Claims released by scope (OIDC Core 5.4).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProfileClaims {
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

impl ProfileClaims {
    pub fn for_scopes(user: &User, scopes: &[String]) -> Self {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let mut c = Self::default();
        if has("profile") {
            c.name = user.display_name();
            c.given_name = user.first_name.clone();
            c.family_name = user.last_name.clone();
            c.nickname = user.friendly_name.clone();
        }
        if has("email") {
            c.email = Some(user.email.clone());
            c.email_verified = Some(user.email_verified);
        }
        c
    }
}

/// The claims of one of our access tokens that userinfo needs.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedAccessToken {
    pub sub: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub exp: i64,
    pub jti: String,
}

impl VerifiedAccessToken {
    pub fn scopes(&self) -> Vec<String> {
        crate::scope::tokens(&self.scope)
    }
}

/// What the userinfo endpoint answers with.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub user: User,
    pub scopes: Vec<String>,
}

fn invalid_token(msg: &'static str) -> OAuthError {
    OAuthError::new(ErrorKind::InvalidToken, msg)
}

impl Engine {
    pub(crate) fn id_token(
        &self,
        client: &Client,
        g: &crate::grants::UserGrant<'_>,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let aud = [client.id.as_str().to_owned()];
        let (user, authn) = (g.user, g.authn.as_ref());
        let claims = IdTokenClaims {
            iss: &self.config.issuer,
            sub: user.sid.as_str(),
            aud: Audience::of(&aud),
            azp: client.id.as_str(),
            exp: now + i64::from(self.config.access_token_ttl),
            iat: now,
            auth_time: g.auth_time,
            nonce: g.nonce,
            acr: authn.map(|a| a.acr()),
            amr: authn.map(|a| a.amr.as_slice()),
            sid: g.session_sid,
            profile: ProfileClaims::for_scopes(user, &g.decision.scopes),
        };
        // OIDC Registration: the client's id_token_signed_response_alg, else the server's.
        let alg = client
            .oidc
            .id_token_signed_response_alg
            .unwrap_or(self.config.signing_algorithm);
        self.sign_as(&claims, false, alg)
    }

    /// The bearer check: one of our access tokens, JWT or opaque, still valid.
    /// `dpop_scheme` says whether the token came as `Authorization: DPoP`; a bound token
    /// must, with a proof of its key (RFC 9449 section 7).
    pub async fn verify_access_token(
        &self,
        token: &str,
        dpop_scheme: bool,
        proof: Option<&crate::dpop::DpopProof>,
    ) -> Result<VerifiedAccessToken, OAuthError> {
        let info = self
            .inspect_access_token(token)
            .await?
            .ok_or_else(|| invalid_token("the access token is invalid, expired or revoked"))?;
        match (info.jkt(), dpop_scheme) {
            (Some(_), false) => {
                return Err(invalid_token(
                    "this access token is DPoP-bound: send it as Authorization: DPoP with a proof",
                ));
            }
            (None, true) => {
                return Err(invalid_token(
                    "this access token is not DPoP-bound: send it as Authorization: Bearer",
                ));
            }
            (Some(bound), true) => {
                let proof = proof.ok_or_else(|| {
                    crate::dpop::invalid_proof("a DPoP proof is required with a DPoP-bound token")
                })?;
                let fapi = ClientId::parse(&info.client_id)
                    .ok()
                    .and_then(|id| self.client(&id))
                    .is_some_and(|c| c.is_fapi());
                let jkt = self.verify_dpop_proof(proof, Some(token), fapi).await?;
                if jkt != bound {
                    return Err(crate::dpop::invalid_proof(
                        "the DPoP proof is signed by another key than the token is bound to",
                    ));
                }
            }
            (None, false) => {}
        }
        Ok(VerifiedAccessToken {
            sub: info.sub,
            client_id: info.client_id,
            scope: info.scope,
            exp: info.exp,
            jti: info.jti,
        })
    }

    /// OIDC Core 5.3: the user behind an access token that carries `openid`.
    pub async fn userinfo(
        &self,
        token: &str,
        dpop_scheme: bool,
        proof: Option<&crate::dpop::DpopProof>,
    ) -> Result<UserInfo, OAuthError> {
        let at = self.verify_access_token(token, dpop_scheme, proof).await?;
        let scopes = at.scopes();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(OAuthError::new(
                ErrorKind::InsufficientScope,
                "the access token lacks the openid scope",
            ));
        }
        let sid = UserSid::parse(&at.sub)
            .map_err(|_| invalid_token("the access token is not for a user"))?;
        let user = self
            .store
            .user(&sid)
            .await?
            .ok_or_else(|| invalid_token("the user no longer exists"))?;
        Ok(UserInfo { user, scopes })
    }
}
