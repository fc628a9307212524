//! `tollgate export` / `tollgate import` (DESIGN section 13): an account's clients, users and
//! resources as JSON an operator can keep in version control and apply to any environment.
//! Client secrets never leave; password hashes only when asked. An import converges: records
//! that exist are brought to the document's state (a client's settings, a user's address,
//! names, administrator flag and verification, a resource's name and scopes), so importing the
//! same document twice changes nothing the second time (no write, no change-log entry).

use serde::{Deserialize, Serialize};

use super::clients::ClientPatch;
use super::{Admin, AdminError, AdminResult, Caller, ResourceSpec};
use crate::ids::{AccountSid, ClientId, UserSid};
use crate::model::{Client, ClientProfile, GrantType, TokenEndpointAuthMethod, TokenFormat, User};

pub const EXPORT_FORMAT: &str = "tollgate-export/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountExport {
    pub format: String,
    pub account: AccountRecord,
    #[serde(default)]
    pub resources: Vec<ResourceRecord>,
    #[serde(default)]
    pub clients: Vec<ClientRecord>,
    #[serde(default)]
    pub users: Vec<UserRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub sid: AccountSid,
    pub friendly_name: String,
    /// Who may register clients (`tollgate registration policy`); a document without it
    /// leaves the target's policy as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_policy: Option<crate::model::RegistrationPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub identifier: String,
    pub friendly_name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A client's settings, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: ClientId,
    pub friendly_name: String,
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub token_format: TokenFormat,
    #[serde(default)]
    pub access_token_ttl: Option<u32>,
    #[serde(default)]
    pub require_pkce: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(default)]
    pub jwks: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub require_par: bool,
    #[serde(default)]
    pub require_dpop: bool,
    #[serde(default)]
    pub profile: ClientProfile,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<crate::keys::SigningAlgorithm>,
    #[serde(default)]
    pub require_signed_request_object: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub user_sid: UserSid,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub email_verified: bool,
    /// Argon2id PHC string; only with `--with-passwords`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user_sid", &self.user_sid)
            .finish_non_exhaustive()
    }
}

/// What an import did: records created, changed and left as they were, and the secrets of
/// confidential clients it created (shown once, as `client create` does).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub client_secrets: std::collections::BTreeMap<String, String>,
}

impl ClientRecord {
    fn of(c: &Client) -> Self {
        Self {
            client_id: c.id.clone(),
            friendly_name: c.friendly_name.clone(),
            grant_types: c.grant_types.clone(),
            redirect_uris: c.redirect_uris.clone(),
            scopes: c.scopes.clone(),
            audiences: c.audiences.clone(),
            public: c.is_public(),
            token_format: c.token_format,
            access_token_ttl: c.access_token_ttl,
            require_pkce: c.require_pkce,
            token_endpoint_auth_method: c.auth_method,
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            require_par: c.require_par,
            require_dpop: c.require_dpop,
            profile: c.profile,
            id_token_signed_response_alg: c.oidc.id_token_signed_response_alg,
            require_signed_request_object: c.oidc.require_signed_request_object,
            post_logout_redirect_uris: c.logout.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.logout.backchannel_logout_uri.clone(),
        }
    }

    fn patch(&self) -> ClientPatch {
        ClientPatch {
            friendly_name: Some(self.friendly_name.clone()),
            grant_types: Some(self.grant_types.clone()),
            redirect_uris: Some(self.redirect_uris.clone()),
            scopes: Some(self.scopes.clone()),
            audiences: Some(self.audiences.clone()),
            public: Some(self.public),
            token_format: Some(self.token_format),
            access_token_ttl: Some(self.access_token_ttl),
            require_pkce: Some(self.require_pkce),
            auth_method: Some(self.token_endpoint_auth_method),
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            require_par: Some(self.require_par),
            require_dpop: Some(self.require_dpop),
            profile: Some(self.profile),
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            require_signed_request_object: Some(self.require_signed_request_object),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris.clone()),
            backchannel_logout_uri: Some(self.backchannel_logout_uri.clone()),
        }
    }
}

impl UserRecord {
    fn of(u: &User, with_password: bool) -> Self {
        Self {
            user_sid: u.sid.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            friendly_name: u.friendly_name.clone(),
            admin: u.admin,
            email_verified: u.email_verified,
            password_hash: with_password.then(|| u.password_hash.clone()),
        }
    }
}

impl Admin {
    /// The account's resources, clients and users, in a stable order.
    pub async fn export_account(
        &self,
        sid: &AccountSid,
        with_passwords: bool,
    ) -> AdminResult<AccountExport> {
        let account = self.account(sid).await?;
        let registration_policy = self.store.registration_policy(sid).await?;
        let mut resources: Vec<ResourceRecord> = self
            .resources(&Caller::Operator, Some(sid))
            .await?
            .into_iter()
            .filter(|r| &r.account_sid == sid)
            .map(|r| ResourceRecord {
                identifier: r.identifier,
                friendly_name: r.friendly_name,
                scopes: r.scopes,
            })
            .collect();
        resources.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        let mut clients: Vec<ClientRecord> = self
            .clients(Some(sid))
            .await?
            .iter()
            .map(ClientRecord::of)
            .collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let mut users: Vec<UserRecord> = self
            .users(Some(sid))
            .await?
            .iter()
            .map(|u| UserRecord::of(u, with_passwords))
            .collect();
        users.sort_by(|a, b| a.user_sid.cmp(&b.user_sid));
        Ok(AccountExport {
            format: EXPORT_FORMAT.into(),
            account: AccountRecord {
                sid: account.sid,
                friendly_name: account.friendly_name,
                registration_policy: Some(registration_policy),
            },
            resources,
            clients,
            users,
        })
    }

    /// Applies an export to the account `into` (default: the exported account, which must
    /// exist here). Records are matched by identifier: missing ones are created under the
    /// same identifier, differing ones updated, equal ones left alone.
    pub async fn import_account(
        &self,
        doc: AccountExport,
        into: Option<AccountSid>,
    ) -> AdminResult<ImportReport> {
        if doc.format != EXPORT_FORMAT {
            return Err(AdminError::Invalid(format!(
                "not a Tollgate export (format {:?}; expected {EXPORT_FORMAT:?})",
                doc.format
            )));
        }
        let account = into.unwrap_or(doc.account.sid);
        self.account(&account).await?;
        let mut report = ImportReport::default();
        if let Some(policy) = doc.account.registration_policy
            && self.store.registration_policy(&account).await? != policy
        {
            self.set_registration_policy(&Caller::Operator, Some(account.clone()), policy)
                .await?;
            report.updated.push(account.to_string());
        }
        for r in doc.resources {
            self.import_resource(&account, r, &mut report).await?;
        }
        for c in doc.clients {
            self.import_client(&account, c, &mut report).await?;
        }
        for u in doc.users {
            self.import_user(&account, u, &mut report).await?;
        }
        Ok(report)
    }

    async fn import_resource(
        &self,
        account: &AccountSid,
        r: ResourceRecord,
        report: &mut ImportReport,
    ) -> AdminResult<()> {
        match self.store.resource_by_identifier(&r.identifier).await? {
            Some(have) if &have.account_sid == account => {
                let sid = have.sid.to_string();
                if self
                    .converge_resource(have, r.friendly_name, r.scopes)
                    .await?
                {
                    report.updated.push(sid);
                } else {
                    report.unchanged.push(sid);
                }
            }
            Some(_) => {
                return Err(AdminError::Invalid(format!(
                    "resource {:?} is already registered by another account",
                    r.identifier
                )));
            }
            None => {
                let spec = ResourceSpec {
                    identifier: r.identifier,
                    account_sid: Some(account.clone()),
                    friendly_name: Some(r.friendly_name),
                    scopes: r.scopes,
                };
                let made = self.create_resource(&Caller::Operator, spec).await?;
                report.created.push(made.sid.to_string());
            }
        }
        Ok(())
    }

    async fn import_client(
        &self,
        account: &AccountSid,
        c: ClientRecord,
        report: &mut ImportReport,
    ) -> AdminResult<()> {
        let id = c.client_id.clone();
        match self.store.client(&id).await? {
            Some(have) if &have.account_sid != account => Err(AdminError::Invalid(format!(
                "client {id} belongs to another account here"
            ))),
            Some(have) => {
                let next = self.converged_client(have.clone(), &c).await?;
                if ClientRecord::of(&next) == ClientRecord::of(&have) {
                    report.unchanged.push(id.to_string());
                } else {
                    self.store_update(next).await?;
                    report.updated.push(id.to_string());
                }
                Ok(())
            }
            None => {
                let spec = c.patch().into_spec(Some(account.clone()));
                let (_, secret) = self.create_client_as(spec, id.clone()).await?;
                if let Some(s) = secret {
                    report
                        .client_secrets
                        .insert(id.to_string(), s.expose().to_owned());
                }
                report.created.push(id.to_string());
                Ok(())
            }
        }
    }

    /// The client with the record's settings, checked; not stored. A patch keeps what it does
    /// not name; the record names everything, so what it leaves out is cleared.
    async fn converged_client(&self, have: Client, c: &ClientRecord) -> AdminResult<Client> {
        let mut next = self.patched(have, c.patch()).await?;
        next.oidc.id_token_signed_response_alg = c.id_token_signed_response_alg;
        if c.jwks.is_none() && c.jwks_uri.is_none() {
            next.jwks = None;
            next.jwks_uri = None;
        }
        super::validate::check_client_security(&next)?;
        Ok(next)
    }

    async fn import_user(
        &self,
        account: &AccountSid,
        u: UserRecord,
        report: &mut ImportReport,
    ) -> AdminResult<()> {
        let Some(have) = self.store.user(&u.user_sid).await? else {
            return self.import_new_user(account, u, report).await;
        };
        if &have.account_sid != account {
            return Err(AdminError::Invalid(format!(
                "user {} belongs to another account here",
                u.user_sid
            )));
        }
        let now = self.clock.now();
        let profile = User {
            email: u.email.trim().to_lowercase(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            friendly_name: u.friendly_name.clone(),
            admin: u.admin,
            ..have.clone()
        };
        let mut changed = profile != have;
        if changed {
            match self.store.update_user_profile(&profile, now).await {
                Err(crate::store::StoreError::Conflict(_)) => {
                    return Err(AdminError::Invalid(format!(
                        "user {}: {}",
                        have.sid,
                        super::EMAIL_TAKEN
                    )));
                }
                other => other?,
            };
        }
        if let Some(hash) = u
            .password_hash
            .as_deref()
            .filter(|h| *h != have.password_hash)
        {
            self.store.set_user_password(&have.sid, hash, now).await?;
            changed = true;
        }
        if u.email_verified != have.email_verified {
            self.store
                .set_user_email_verified(&have.sid, u.email_verified, now)
                .await?;
            changed = true;
        }
        if changed {
            self.written().await?;
            report.updated.push(have.sid.to_string());
        } else {
            report.unchanged.push(have.sid.to_string());
        }
        Ok(())
    }

    async fn import_new_user(
        &self,
        account: &AccountSid,
        u: UserRecord,
        report: &mut ImportReport,
    ) -> AdminResult<()> {
        let password_hash = match u.password_hash {
            Some(h) if h.starts_with("$argon2") => h,
            Some(_) => {
                return Err(AdminError::Invalid(format!(
                    "user {}: the password hash is not an Argon2 PHC string",
                    u.user_sid
                )));
            }
            // No password came along: one nobody knows, until an administrator sets one.
            None => {
                let unknown = self.generate_secret()?;
                self.hash_password(unknown.expose().to_owned()).await?
            }
        };
        let now = self.clock.now();
        let user = User {
            sid: u.user_sid,
            account_sid: account.clone(),
            email: u.email.trim().to_lowercase(),
            password_hash,
            first_name: u.first_name,
            last_name: u.last_name,
            friendly_name: u.friendly_name,
            admin: u.admin,
            email_verified: u.email_verified,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_user(&user).await {
            Err(crate::store::StoreError::Conflict(_)) => {
                return Err(AdminError::Invalid(format!(
                    "user {}: {}",
                    user.sid,
                    super::EMAIL_TAKEN
                )));
            }
            other => other?,
        }
        self.written().await?;
        report.created.push(user.sid.to_string());
        Ok(())
    }
}
