//! RFC 8628 device authorization grant: the device asks for codes, the user approves on the
//! `/device` page, the device polls the token endpoint.

use std::sync::Arc;

use crate::authorize::OIDC_SCOPES;
use crate::clock::random_bytes;
use crate::engine::{ClientAuth, Engine, TokenRequest};
use crate::error::{ErrorKind, OAuthError};
use crate::grants::FamilyBinding;
use crate::model::{Client, DeviceGrant, DeviceStatus, GrantType};
use crate::scope;
use crate::secret::{Secret, SecretDigest};
use crate::session::SignedIn;
use crate::store::StoreError;
use crate::token::Issued;

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
    async fn device_client(&self, req: &DeviceRequest) -> Result<Arc<Client>, OAuthError> {
        self.authenticate_client(req.client.as_ref(), req.account_auth.as_ref())
            .await
    }

    pub async fn device_authorization(
        &self,
        req: DeviceRequest,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let client = self.device_client(&req).await?;
        if !client.allows(GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorKind::UnauthorizedClient,
                "this client may not use the device_code grant",
            ));
        }
        let mut scopes: Vec<String> = Vec::new();
        for raw in &req.scopes {
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
        let audiences = self.audience(&client, &req.audiences)?;
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

    /// The token endpoint's answer to a polling device.
    pub(crate) async fn device_code(
        &self,
        client: &Client,
        req: &TokenRequest,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        let code = req
            .device_code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let digest = SecretDigest::of(code);
        let now = self.clock.now();
        let grant = self.store.device_grant(&digest).await?.ok_or_else(|| {
            OAuthError::new(ErrorKind::InvalidGrant, "the device code is unknown")
        })?;
        if grant.client_id != client.id {
            return Err(OAuthError::new(
                ErrorKind::InvalidGrant,
                "the device code was issued to another client",
            ));
        }
        if grant.expires_at <= now {
            return Err(OAuthError::new(
                ErrorKind::ExpiredToken,
                "the device code has expired; start over",
            ));
        }
        match grant.status {
            DeviceStatus::Denied => Err(OAuthError::new(
                ErrorKind::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Consumed => Err(OAuthError::new(
                ErrorKind::InvalidGrant,
                "the device code was already used",
            )),
            DeviceStatus::Pending => {
                if grant
                    .last_polled_at
                    .is_some_and(|last| now - last < grant.interval)
                {
                    let slower = grant.interval + 5;
                    self.store.record_device_poll(&digest, now, slower).await?;
                    return Err(OAuthError::new(
                        ErrorKind::SlowDown,
                        format!("polling too fast; wait {slower} seconds between requests"),
                    ));
                }
                self.store
                    .record_device_poll(&digest, now, grant.interval)
                    .await?;
                Err(OAuthError::new(
                    ErrorKind::AuthorizationPending,
                    "the user has not finished yet",
                ))
            }
            DeviceStatus::Approved => {
                if !self
                    .store
                    .consume_device_grant(&digest, req.device_id.as_deref())
                    .await?
                {
                    return Err(OAuthError::new(
                        ErrorKind::InvalidGrant,
                        "the device code was already used",
                    ));
                }
                let user_sid = grant
                    .user_sid
                    .clone()
                    .ok_or_else(OAuthError::server_error)?;
                let user = self.store.user(&user_sid).await?.ok_or_else(|| {
                    OAuthError::new(ErrorKind::InvalidGrant, "the user no longer exists")
                })?;
                let scope_str = scope::join(&grant.scopes);
                let jti = self.random_id::<16>()?;
                let mut issued = self
                    .mint(
                        client,
                        user.sid.as_str(),
                        &scope_str,
                        &grant.audiences,
                        Some(user.account_sid.as_str()),
                        (&jti, jkt),
                    )
                    .await?;
                let auth_time = grant.auth_time.unwrap_or(now);
                if client.allows(GrantType::RefreshToken) {
                    self.start_refresh_family(
                        self.random_id::<16>()?,
                        client,
                        &user,
                        &grant.scopes,
                        FamilyBinding {
                            auth_time,
                            resources: grant.audiences.clone(),
                            dpop_jkt: client
                                .is_public()
                                .then_some(jkt)
                                .flatten()
                                .map(str::to_owned),
                        },
                        &mut issued,
                    )
                    .await?;
                }
                if grant.scopes.iter().any(|s| s == "openid") {
                    issued.id_token =
                        Some(self.id_token(client, &user, &grant.scopes, auth_time, None)?);
                }
                Ok(issued)
            }
        }
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
        Ok(self
            .store
            .decide_device_grant(
                &grant.user_code,
                status,
                &who.user.sid,
                who.session.auth_time,
            )
            .await?)
    }
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
