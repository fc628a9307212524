//! RFC 8628 device authorization grant: the device asks for codes, the user approves on the
//! `/device` page, the device polls the token endpoint.

use std::sync::Arc;

use crate::authorize::OIDC_SCOPES;
use crate::client_auth::{AuthenticatedClient, ClientAuth};
use crate::clock::random_bytes;
use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::model::{Client, DeviceGrant, DeviceStatus, GrantType};
use crate::scope;
use crate::secret::Secret;
use crate::session::SignedIn;
use crate::store::StoreError;

/// Consonants only: no vowels means no words, and no 0/O or 1/I confusion.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A device authorization request as a dialect found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceRequest {
    pub client: Option<ClientAuth>,
    /// Twilio v1: `AccountSid:AuthToken` may stand in for the client secret.
    pub account_auth: Option<(String, String)>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// As shown to people: `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Accepts any case, dashes and spaces; `None` unless eight letters of the alphabet remain.
pub fn normalize_user_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    (code.len() == 8 && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

pub fn display_user_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => code.to_owned(),
    }
}

impl Engine {
    fn new_user_code(&self) -> Result<String, OAuthError> {
        Ok(random_bytes::<8>(self.rng.as_ref())?
            .iter()
            .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
            .collect())
    }

    /// The client behind a device request: its secret, or for confidential clients on Twilio v1
    /// the owning account's credentials, or nothing for public clients.
    pub async fn authenticate_device_client(
        &self,
        req: &DeviceRequest,
    ) -> Result<AuthenticatedClient, OAuthError> {
        self.authenticate_client(req.client.as_ref(), req.account_auth.as_ref())
            .await
    }

    /// RFC 8628 section 3.1: authenticates the client and issues the codes.
    pub async fn device_authorization(
        &self,
        req: DeviceRequest,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let client = self.authenticate_device_client(&req).await?;
        self.authorize_device(&client, req).await
    }

    /// RFC 8628 section 3.1, for a client authenticated by
    /// [`Engine::authenticate_device_client`].
    pub async fn authorize_device(
        &self,
        client: &AuthenticatedClient,
        req: DeviceRequest,
    ) -> Result<DeviceAuthorization, OAuthError> {
        crate::policy::check_grant_type(client, GrantType::DeviceCode)?;
        let scopes = device_scopes(client, &req.scopes)?;
        let audiences = self.audience(client, &req.audiences)?;
        let now = self.clock.now();
        let device_code = Secret::generate(self.rng.as_ref())?;
        let ttl = i64::from(self.config.device_code_ttl);
        let interval = i64::from(self.config.device_poll_interval);
        for _ in 0..5 {
            let grant = DeviceGrant {
                digest: device_code.digest(),
                user_code: self.new_user_code()?,
                client_id: client.id.clone(),
                scopes: scopes.clone(),
                audiences: audiences.clone(),
                created_at: now,
                expires_at: now + ttl,
                interval,
                last_polled_at: None,
                status: DeviceStatus::Pending,
                user_sid: None,
                auth_time: None,
                device_id: None,
            };
            match self.store.insert_device_grant(&grant).await {
                Ok(()) => {
                    let shown = display_user_code(&grant.user_code);
                    let uri = format!("{}/device", self.issuer());
                    return Ok(DeviceAuthorization {
                        device_code: device_code.expose().to_owned(),
                        verification_uri_complete: format!("{uri}?user_code={shown}"),
                        verification_uri: uri,
                        user_code: shown,
                        expires_in: ttl,
                        interval,
                    });
                }
                // A live grant already has this user code: draw another.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OAuthError::server_error())
    }

    /// A grant waiting for the user, by the code they typed.
    pub async fn pending_device_grant(
        &self,
        typed: &str,
    ) -> Result<Option<(DeviceGrant, Arc<Client>)>, OAuthError> {
        let Some(code) = normalize_user_code(typed) else {
            return Ok(None);
        };
        let Some(grant) = self.store.device_grant_by_user_code(&code).await? else {
            return Ok(None);
        };
        if grant.status != DeviceStatus::Pending || grant.expires_at <= self.clock.now() {
            return Ok(None);
        }
        Ok(self.client(&grant.client_id).map(|c| (grant, c)))
    }

    /// Records the user's answer; false when the grant is no longer waiting.
    pub async fn decide_device(
        &self,
        typed: &str,
        approve: bool,
        who: &SignedIn,
    ) -> Result<bool, OAuthError> {
        let Some((grant, _)) = self.pending_device_grant(typed).await? else {
            return Ok(false);
        };
        let status = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let decided = self
            .store
            .decide_device_grant(
                &grant.user_code,
                status,
                &who.user.sid,
                who.session.auth_time,
            )
            .await?;
        if decided && approve {
            // The id token the device gets says how the person signed in here.
            self.store
                .insert_code_authn(&grant.digest, &who.session.amr, grant.expires_at)
                .await?;
        }
        Ok(decided)
    }
}

/// The scopes asked for (each list item a space-separated `scope`), each once, every one the
/// client registered or an OpenID Connect scope.
fn device_scopes(
    client: &AuthenticatedClient,
    asked: &[String],
) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for raw in asked {
        for s in scope::parse(raw)
            .map_err(|e| OAuthError::new(ErrorKind::InvalidScope, e.to_string()))?
        {
            if !client.scopes.contains(&s) && !OIDC_SCOPES.contains(&s.as_str()) {
                return Err(OAuthError::new(
                    ErrorKind::InvalidScope,
                    format!("scope {s:?} is not allowed for this client"),
                ));
            }
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_compare_case_and_dash_insensitively() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDFGHJ"), None);
        assert_eq!(
            normalize_user_code("ABCDEFGH"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
