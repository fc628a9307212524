//! API resources (audiences): registration, grants to other accounts, and the check every
//! client's `audiences` passes (DESIGN section 14).

use super::validate::{check_text, dedup};
use super::{Admin, AdminError, AdminResult, Caller, Owned};
use crate::ids::{AccountSid, ResourceSid};
use crate::model::Resource;
use crate::scope;
use crate::store::StoreError;

impl Owned for Resource {
    fn owner(&self) -> &AccountSid {
        &self.account_sid
    }
}

/// A new resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceSpec {
    /// The audience URI tokens will carry.
    pub identifier: String,
    /// The owner; an account caller always registers for itself. `None` (operator): the only
    /// account.
    pub account_sid: Option<AccountSid>,
    /// Defaults to the identifier.
    pub friendly_name: Option<String>,
    pub scopes: Vec<String>,
}

/// The one answer for an identifier another account registered: it names no account, so a
/// caller learns only that the identifier is taken.
fn taken(what: &str, identifier: &str) -> AdminError {
    AdminError::Invalid(format!(
        "{what} {:?} is already registered by another account",
        shorten(identifier)
    ))
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}

impl Admin {
    /// The identifier is a token's `aud`: printable, no spaces, never the issuer (the default
    /// audience every client may have).
    fn check_identifier(&self, what: &str, identifier: &str) -> AdminResult<()> {
        check_text(what, identifier)?;
        if identifier.contains(' ') {
            return Err(AdminError::Invalid(format!(
                "{what} {:?} must not contain spaces",
                shorten(identifier)
            )));
        }
        if self.issuer.as_deref() == Some(identifier) {
            return Err(AdminError::Invalid(format!(
                "{what} {:?} is the issuer, the default audience; it is not a resource",
                shorten(identifier)
            )));
        }
        Ok(())
    }

    /// Registers a resource to the caller's account (the operator names one). The first
    /// account to register an identifier owns it.
    pub async fn create_resource(
        &self,
        caller: &Caller,
        spec: ResourceSpec,
    ) -> AdminResult<Resource> {
        let account = match caller {
            Caller::Account(a) => a.clone(),
            Caller::Operator => self.owning_account(spec.account_sid.clone()).await?,
        };
        self.check_identifier("resource", &spec.identifier)?;
        if let Some(s) = spec.scopes.iter().find(|s| !scope::is_scope_token(s)) {
            return Err(AdminError::Invalid(format!(
                "scope {:?} is not a valid scope token",
                shorten(s)
            )));
        }
        let name = spec
            .friendly_name
            .unwrap_or_else(|| spec.identifier.clone());
        check_text("friendly_name", &name)?;
        if let Some(existing) = self.store.resource_by_identifier(&spec.identifier).await? {
            return Err(self.already(&existing, &account));
        }
        let resource = self.new_resource(&account, spec.identifier, name, dedup(spec.scopes))?;
        match self.store.insert_resource(&resource).await {
            Ok(()) => {}
            // Another registration of the same identifier got there first.
            Err(StoreError::Conflict(_)) => return Err(taken("resource", &resource.identifier)),
            Err(e) => return Err(e.into()),
        }
        self.written().await?;
        Ok(resource)
    }

    /// Brings a resource's name and scopes to `friendly_name` and `scopes` (`tollgate
    /// import`); false when they were so already (nothing written).
    pub(super) async fn converge_resource(
        &self,
        mut resource: Resource,
        friendly_name: String,
        scopes: Vec<String>,
    ) -> AdminResult<bool> {
        if let Some(s) = scopes.iter().find(|s| !scope::is_scope_token(s)) {
            return Err(AdminError::Invalid(format!(
                "scope {:?} is not a valid scope token",
                shorten(s)
            )));
        }
        check_text("friendly_name", &friendly_name)?;
        let scopes = dedup(scopes);
        if resource.friendly_name == friendly_name && resource.scopes == scopes {
            return Ok(false);
        }
        resource.friendly_name = friendly_name;
        resource.scopes = scopes;
        resource.updated_at = self.clock.now();
        if !self.store.update_resource(&resource).await? {
            return Err(AdminError::NotFound(format!("resource {}", resource.sid)));
        }
        self.written().await?;
        Ok(true)
    }

    fn already(&self, existing: &Resource, account: &AccountSid) -> AdminError {
        if existing.account_sid == *account {
            AdminError::Invalid(format!(
                "resource {:?} is already registered by this account ({})",
                shorten(&existing.identifier),
                existing.sid
            ))
        } else {
            taken("resource", &existing.identifier)
        }
    }

    fn new_resource(
        &self,
        account: &AccountSid,
        identifier: String,
        friendly_name: String,
        scopes: Vec<String>,
    ) -> AdminResult<Resource> {
        let now = self.clock.now();
        Ok(Resource {
            sid: ResourceSid::generate(self.rng.as_ref())?,
            identifier,
            account_sid: account.clone(),
            friendly_name,
            scopes,
            granted_to: Vec::new(),
            created_at: now,
            updated_at: now,
        })
    }

    /// The caller's resources (the operator: every account's, or one account's).
    pub async fn resources(
        &self,
        caller: &Caller,
        account: Option<&AccountSid>,
    ) -> AdminResult<Vec<Resource>> {
        Ok(self.store.resources(caller.scope().or(account)).await?)
    }

    /// The resource, when it belongs to the caller ([`Caller::owns`]).
    pub async fn resource_for(&self, caller: &Caller, sid: &ResourceSid) -> AdminResult<Resource> {
        caller.owned(self.store.resource(sid).await?, format!("resource {sid}"))
    }

    /// The resource registered under `identifier`, when it belongs to the caller.
    pub async fn resource_named(&self, caller: &Caller, identifier: &str) -> AdminResult<Resource> {
        let found = self.store.resource_by_identifier(identifier).await?;
        caller.owned(found, format!("resource {:?}", shorten(identifier)))
    }

    /// Lets clients of `account` name the resource (or, `granted` false, stops them: their
    /// next token request for it fails with `invalid_target`).
    pub async fn set_resource_grant(
        &self,
        caller: &Caller,
        sid: &ResourceSid,
        account: &AccountSid,
        granted: bool,
    ) -> AdminResult<Resource> {
        let resource = self.resource_for(caller, sid).await?;
        if resource.account_sid == *account {
            return Err(AdminError::Invalid(
                "a resource is always available to its own account".into(),
            ));
        }
        if granted {
            self.account(account).await?;
        }
        let changed = self
            .store
            .set_resource_grant(sid, account, granted, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AdminError::NotFound(format!("account {account}")),
                other => other.into(),
            })?;
        if !changed && !granted {
            return Err(AdminError::NotFound(format!(
                "grant of resource {sid} to account {account}"
            )));
        }
        self.written().await?;
        self.resource_for(caller, sid).await
    }

    /// Deletes a resource no client names any more: once gone, its identifier would be
    /// anyone's to claim, and a client still naming it would get tokens for it again.
    pub async fn delete_resource(&self, caller: &Caller, sid: &ResourceSid) -> AdminResult<()> {
        let resource = self.resource_for(caller, sid).await?;
        let naming = self
            .store
            .clients(None)
            .await?
            .into_iter()
            .filter(|c| c.audiences.contains(&resource.identifier))
            .count();
        if naming > 0 {
            return Err(AdminError::Invalid(format!(
                "resource {:?} is still named by {naming} app(s); remove it from their audiences first",
                shorten(&resource.identifier)
            )));
        }
        if !self.store.delete_resource(sid).await? {
            return Err(AdminError::NotFound(format!("resource {sid}")));
        }
        self.written().await
    }

    /// A client of `account` may name an audience its account owns or was granted; one nobody
    /// registered is claimed for `account` (first use registers it). `kept` are audiences
    /// the client already had, checked again only at token time.
    pub(super) async fn claim_audiences(
        &self,
        account: &AccountSid,
        audiences: &[String],
        kept: &[String],
    ) -> AdminResult<()> {
        let mut unclaimed = Vec::new();
        for aud in audiences.iter().filter(|a| !kept.contains(a)) {
            if self.issuer.as_deref() == Some(aud.as_str()) {
                continue;
            }
            match self.store.resource_by_identifier(aud).await? {
                Some(r) if r.usable_by(account) => {}
                Some(_) => return Err(taken("audience", aud)),
                None => unclaimed.push(aud),
            }
        }
        for aud in unclaimed {
            let resource = self.new_resource(account, aud.clone(), aud.clone(), Vec::new())?;
            match self.store.insert_resource(&resource).await {
                Ok(()) => {}
                // Claimed meanwhile: fine when by this account.
                Err(StoreError::Conflict(_)) => match self.store.resource_by_identifier(aud).await?
                {
                    Some(r) if r.usable_by(account) => {}
                    _ => return Err(taken("audience", aud)),
                },
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
