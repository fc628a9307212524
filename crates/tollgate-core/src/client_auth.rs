//! RFC 6749 section 2.3 client authentication. It runs once per request and yields an
//! [`AuthenticatedClient`]; every policy after it (rate limits, metrics, audit, DPoP and FAPI
//! checks, the grant itself) keys on that, never on a `client_id` the request carried.

use std::ops::Deref;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::ids::{AccountSid, ClientId};
use crate::model::{Account, Client, TokenEndpointAuthMethod};

/// Client credentials as the dialect found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// Empty when only an assertion names the client.
    pub client_id: String,
    pub secret: Option<String>,
    /// RFC 7523 `client_assertion` (its type already checked by the dialect).
    pub assertion: Option<String>,
    /// The URL of the endpoint authenticated at: an assertion's `aud` may name it.
    pub endpoint: Option<String>,
}

impl ClientAuth {
    pub fn with_secret(client_id: impl Into<String>, secret: Option<String>) -> Self {
        Self {
            client_id: client_id.into(),
            secret,
            assertion: None,
            endpoint: None,
        }
    }
}

/// How a client proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethodUsed {
    /// A public client, identified by its id alone.
    None,
    ClientSecret,
    /// Twilio v1: the owning account's `AccountSid:AuthToken` stood in for the secret.
    AccountCredentials,
    ClientSecretJwt,
    PrivateKeyJwt,
}

wire_names!(AuthMethodUsed {
    None => "none",
    ClientSecret => "client_secret",
    AccountCredentials => "account_credentials",
    ClientSecretJwt => "client_secret_jwt",
    PrivateKeyJwt => "private_key_jwt",
});

/// A client that has authenticated on this request, with how, and (on a token request) the
/// DPoP key it proved possession of.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Arc<Client>,
    method: AuthMethodUsed,
    dpop_jkt: Option<String>,
}

impl AuthenticatedClient {
    /// For callers that established the client another way (a signed-in page's own app).
    pub(crate) fn new(client: Arc<Client>, method: AuthMethodUsed) -> Self {
        Self {
            client,
            method,
            dpop_jkt: None,
        }
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    pub fn id(&self) -> &ClientId {
        &self.client.id
    }

    /// The account that owns the client: the tenant every downstream check is scoped to.
    pub fn account(&self) -> &AccountSid {
        &self.client.account_sid
    }

    pub fn method(&self) -> AuthMethodUsed {
        self.method
    }

    /// The JWK thumbprint of the DPoP key proved on this request, if any.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }
}

impl Deref for AuthenticatedClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

fn unknown() -> OAuthError {
    OAuthError::invalid_client("client authentication failed: unknown client or wrong secret")
}

impl Engine {
    /// Authenticates the client of a request. On Twilio v1 the owning account's
    /// `AccountSid:AuthToken` may stand in for the client secret.
    pub async fn authenticate_client(
        &self,
        auth: Option<&ClientAuth>,
        account_auth: Option<&(String, String)>,
    ) -> Result<AuthenticatedClient, OAuthError> {
        let account = match account_auth {
            Some((sid, token)) => Some(self.authenticate_account(sid, token).await?),
            None => None,
        };
        let Some(auth) = auth else {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        };
        if let Some(assertion) = &auth.assertion {
            if account.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method: an assertion or account credentials",
                ));
            }
            let client = self.authenticate_by_assertion(auth, assertion).await?;
            let method = match client.auth_method {
                TokenEndpointAuthMethod::ClientSecretJwt => AuthMethodUsed::ClientSecretJwt,
                _ => AuthMethodUsed::PrivateKeyJwt,
            };
            return Ok(AuthenticatedClient::new(client, method));
        }
        let client = self.client_named(&auth.client_id).await?;
        let method = check_secret(&client, auth.secret.as_deref(), account.as_deref())?;
        Ok(AuthenticatedClient::new(client, method))
    }

    /// Client authentication for introspection, revocation and PAR: the token endpoint's
    /// rules, and every refusal is `invalid_client`.
    pub async fn authenticate_for_token_management(
        &self,
        auth: Option<&ClientAuth>,
    ) -> Result<AuthenticatedClient, OAuthError> {
        self.authenticate_client(auth, None)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::InvalidClient => e,
                _ => OAuthError::invalid_client(e.description),
            })
    }

    /// The client a `client_id` names: a stored client's id, or (when enabled) the URL of its
    /// metadata document. Unknown and unusable ones alike are `invalid_client`.
    pub(crate) async fn client_named(&self, client_id: &str) -> Result<Arc<Client>, OAuthError> {
        if self.is_document_client(client_id) {
            return match self.document_client(client_id).await {
                Ok(r) => Ok(r.client),
                Err(crate::metadata_document::DocumentError::Store) => {
                    Err(OAuthError::server_error())
                }
                Err(_) => Err(OAuthError::invalid_client(
                    crate::metadata_document::DOCUMENT_FAILED,
                )),
            };
        }
        let id = ClientId::parse(client_id).map_err(|_| unknown())?;
        self.find_client(&id).await?.ok_or_else(unknown)
    }

    /// Verifies Twilio `AccountSid:AuthToken` credentials.
    pub async fn authenticate_account(
        &self,
        sid: &str,
        token: &str,
    ) -> Result<Arc<Account>, OAuthError> {
        let fail = || OAuthError::invalid_client("account authentication failed");
        let sid = AccountSid::parse(sid).map_err(|_| fail())?;
        let account = self.find_account(&sid).await?.ok_or_else(fail)?;
        if account.auth_token_digest.verify(token) {
            Ok(account)
        } else {
            Err(fail())
        }
    }
}

/// A client secret (or the owning account's credentials) against the registered client.
fn check_secret(
    client: &Client,
    secret: Option<&str>,
    account: Option<&Account>,
) -> Result<AuthMethodUsed, OAuthError> {
    if let Some(account) = account
        && account.sid != client.account_sid
    {
        // Another account's app answers as an unknown one: nothing about it is disclosed.
        return Err(unknown());
    }
    if client.auth_method.uses_assertion() {
        // FAPI 2.0 and private_key_jwt clients never authenticate with a plain secret.
        return Err(OAuthError::invalid_client(format!(
            "this client must authenticate with a client_assertion ({})",
            client.auth_method.as_str()
        )));
    }
    match (&client.secret_digest, secret) {
        // The digest comparison is constant-time (`SecretDigest::verify`).
        (Some(digest), Some(secret)) if digest.verify(secret) => Ok(AuthMethodUsed::ClientSecret),
        (Some(_), None) if account.is_some() => Ok(AuthMethodUsed::AccountCredentials),
        (Some(_), _) => Err(unknown()),
        (None, None) => Ok(AuthMethodUsed::None),
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "client authentication failed: this client is public and has no secret",
        )),
    }
}

impl AuthenticatedClient {
    /// Records the DPoP key a token request proved (see `Engine::authenticate_token_request`).
    pub(crate) fn with_dpop_jkt(mut self, jkt: Option<String>) -> Self {
        self.dpop_jkt = jkt;
        self
    }
}
