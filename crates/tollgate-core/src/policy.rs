//! The client's policy, decided in one place: which grant types, scopes and audiences
//! (RFC 8707 resources) a request may get, from the client as it is now. It runs at the first
//! grant and again whenever a grant is continued (code redemption, refresh, device poll), so a
//! scope or audience an administrator removed is not minted again.

use crate::authorize::OIDC_SCOPES;
use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::model::{Client, GrantType};
use crate::scope;

/// What an earlier decision granted, when a grant continues from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prior<'a> {
    pub scopes: &'a [String],
    pub resources: &'a [String],
}

/// What the request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
}

impl Decision {
    pub fn scope(&self) -> String {
        scope::join(&self.scopes)
    }
}

fn invalid_scope(msg: String) -> OAuthError {
    OAuthError::new(ErrorKind::InvalidScope, msg)
}

/// The client may use this grant type.
pub(crate) fn check_grant_type(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    if client.allows(grant) {
        return Ok(());
    }
    Err(OAuthError::new(
        ErrorKind::UnauthorizedClient,
        format!("this client may not use the {grant} grant"),
    ))
}

/// A scope the client may be granted now: one registered for it, or an OpenID Connect scope a
/// user consents to.
fn allowed_now(client: &Client, s: &str) -> bool {
    client.scopes.iter().any(|c| c == s) || OIDC_SCOPES.contains(&s)
}

impl Engine {
    /// The scopes and audience a request may get. `asked_scope` and `asked` are what the
    /// request names; `prior` is what an earlier decision granted, when there was one.
    pub(crate) fn client_policy(
        &self,
        client: &Client,
        asked_scope: Option<&str>,
        asked: &[String],
        prior: Option<Prior<'_>>,
    ) -> Result<Decision, OAuthError> {
        let asked_scopes = match asked_scope.filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(raw) => scope::parse(raw).map_err(|e| invalid_scope(e.to_string()))?,
        };
        let Some(prior) = prior else {
            return Ok(Decision {
                scopes: first_scopes(client, asked_scopes)?,
                audience: self.audience(client, asked)?,
            });
        };
        let scopes = continued_scopes(client, prior.scopes, asked_scopes)?;
        // The default audience (the issuer) is never a registered resource; it is what an
        // empty grant means.
        let granted: Vec<String> = prior
            .resources
            .iter()
            .filter(|r| **r != self.config.issuer)
            .cloned()
            .collect();
        Ok(Decision {
            scopes,
            audience: self.narrowed_audience(client, &granted, asked)?,
        })
    }

    /// Requested audiences must all be registered for the client; none requested means all
    /// of them, or the issuer when it has none. Each must also be usable by the client's
    /// account now ([`Self::resource_usable`]).
    pub(crate) fn audience(
        &self,
        client: &Client,
        requested: &[String],
    ) -> Result<Vec<String>, OAuthError> {
        let requested: Vec<&String> = requested.iter().filter(|a| !a.is_empty()).collect();
        if requested.is_empty() {
            if client.audiences.is_empty() {
                return Ok(vec![self.config.issuer.clone()]);
            }
            for aud in &client.audiences {
                self.resource_usable(client, aud)?;
            }
            return Ok(client.audiences.clone());
        }
        let mut out: Vec<String> = Vec::with_capacity(requested.len());
        for aud in requested {
            if !self.may_name_resource(client, aud) {
                return Err(OAuthError::new(
                    ErrorKind::InvalidTarget,
                    format!(
                        "audience {:?} is not registered for this client",
                        truncate(aud)
                    ),
                ));
            }
            self.resource_usable(client, aud)?;
            if !out.contains(aud) {
                out.push(aud.clone());
            }
        }
        Ok(out)
    }

    /// RFC 8707 for every client: a resource the client lists, or one registered to (or granted
    /// to) its account, so a client that registered itself can ask for the account's APIs.
    pub(crate) fn may_name_resource(&self, client: &Client, aud: &str) -> bool {
        client.audiences.iter().any(|a| a == aud)
            || self
                .resource(aud)
                .is_some_and(|r| r.usable_by(&client.account_sid))
    }

    /// DESIGN section 14: a registered resource is for its own account's clients and the
    /// accounts it is granted to, as the directory has it now (a revoked grant stops the next
    /// token). An identifier nobody registered cannot have been squatted, so it stays usable;
    /// the issuer is never a resource.
    fn resource_usable(&self, client: &Client, aud: &str) -> Result<(), OAuthError> {
        if aud == self.config.issuer {
            return Ok(());
        }
        match self.resource(aud) {
            Some(r) if !r.usable_by(&client.account_sid) => Err(OAuthError::new(
                ErrorKind::InvalidTarget,
                format!(
                    "resource {:?} is not available to this client's account",
                    truncate(aud)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// RFC 8707 section 2.2: a token request's `resource`s must be among those granted (or,
    /// when none were named, registered for the client); none asked means all granted.
    fn narrowed_audience(
        &self,
        client: &Client,
        granted: &[String],
        asked: &[String],
    ) -> Result<Vec<String>, OAuthError> {
        let asked: Vec<String> = asked.iter().filter(|a| !a.is_empty()).cloned().collect();
        if asked.is_empty() {
            return self.audience(client, granted);
        }
        if !granted.is_empty()
            && let Some(bad) = asked.iter().find(|a| !granted.contains(a))
        {
            return Err(OAuthError::new(
                ErrorKind::InvalidTarget,
                format!("resource {:?} was not part of the grant", truncate(bad)),
            ));
        }
        self.audience(client, &asked)
    }
}

/// A first grant: requested scopes must all be registered; none requested means all of them.
fn first_scopes(client: &Client, asked: Vec<String>) -> Result<Vec<String>, OAuthError> {
    if asked.is_empty() {
        return Ok(client.scopes.clone());
    }
    if let Some(bad) = asked.iter().find(|s| !client.scopes.contains(s)) {
        return Err(invalid_scope(format!(
            "scope {bad:?} is not allowed for this client"
        )));
    }
    Ok(asked)
}

/// A continued grant (RFC 6749 section 6): what was granted, narrowed to what the client may
/// have now; a narrower set may be asked for, never a wider one.
fn continued_scopes(
    client: &Client,
    granted: &[String],
    asked: Vec<String>,
) -> Result<Vec<String>, OAuthError> {
    if asked.is_empty() {
        return Ok(granted
            .iter()
            .filter(|s| allowed_now(client, s))
            .cloned()
            .collect());
    }
    if let Some(bad) = asked.iter().find(|s| !granted.contains(s)) {
        return Err(invalid_scope(format!("scope {bad:?} was not granted")));
    }
    if let Some(bad) = asked.iter().find(|s| !allowed_now(client, s)) {
        return Err(invalid_scope(format!(
            "scope {bad:?} is not allowed for this client"
        )));
    }
    Ok(asked)
}

fn truncate(s: &str) -> String {
    s.chars().take(100).collect()
}
