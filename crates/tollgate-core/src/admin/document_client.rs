//! Clients described by a Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-
//! document): stored like dynamically registered ones, under an id derived from the document's
//! URL, so codes, refresh tokens, consent and the console work for them as for any client.
//! The engine fetches and checks the document ([`crate::metadata_document`]); this stores what
//! it said.

use super::clients::ClientSpec;
use super::registration::{DEFAULT_CLIENT_NAME, RegistrationError, RegistrationResult};
use super::registration_metadata::ClientMetadata;
use super::{Admin, AdminError};
use crate::authorize::OIDC_SCOPES;
use crate::ids::{AccountSid, ClientId};
use crate::model::{
    Client, ClientRegistration, ExtraMetadata, RegisteredVia, TokenEndpointAuthMethod,
};
use crate::secret::{Secret, SecretDigest};
use crate::store::StoreResult;

/// The stored id of the client whose metadata document is at `url`: the same on every node.
pub fn document_client_id(url: &str) -> Option<ClientId> {
    let digest = SecretDigest::of(&format!("client-id-metadata-document {url}")).to_hex();
    ClientId::parse(&format!("{}{}", ClientId::PREFIX, digest.get(..32)?)).ok()
}

impl Admin {
    /// The scopes an open registration into `account` is given: OpenID Connect's and every
    /// scope of the resources the account may use.
    pub(crate) async fn open_scopes(&self, account: &AccountSid) -> StoreResult<Vec<String>> {
        let resources = self.store.resources(None).await?;
        let mut usable: Vec<String> = OIDC_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        for r in resources.iter().filter(|r| r.usable_by(account)) {
            for s in &r.scopes {
                if !usable.contains(s) {
                    usable.push(s.clone());
                }
            }
        }
        Ok(usable)
    }

    /// Stores the client the document at `url` describes, or brings the stored one up to date
    /// with it. The document's `scope` is not a grant: the client gets the scopes open
    /// registration into `account` would (each token still carries only what its user
    /// consents to).
    pub async fn store_document_client(
        &self,
        account: Option<AccountSid>,
        url: &str,
        meta: ClientMetadata,
    ) -> RegistrationResult<Client> {
        let id = document_client_id(url)
            .ok_or_else(|| RegistrationError::Unauthorized("no client id".into()))?;
        let account = self.owning_account(account).await?;
        let spec = self.document_client_spec(&account, &meta).await?;
        let (mut client, _) = self.new_client(spec, id.clone()).await?;
        let stored = self.store.client(&id).await?;
        let registration = self.store.client_registration(&id).await?;
        match (stored, registration) {
            (Some(old), Some(mut reg)) => {
                client.created_at = old.created_at;
                client.updated_at = old.updated_at;
                if old == client && reg.metadata == meta.extra {
                    return Ok(old);
                }
                client.updated_at = self.clock.now();
                reg.metadata = meta.extra;
                reg.updated_at = client.updated_at;
                self.store.update_registered_client(&client, &reg).await?;
            }
            (Some(_), None) => {
                // An id derived from a URL never names a client created any other way.
                return Err(RegistrationError::Admin(AdminError::Invalid(
                    "the client id of this document is taken".into(),
                )));
            }
            (None, _) => {
                self.insert_document_client(&client, url, meta.extra)
                    .await?;
                tracing::info!(
                    client_id = %client.id,
                    account_sid = %account,
                    document = url,
                    "client metadata document client stored"
                );
            }
        }
        self.written().await?;
        Ok(client)
    }

    /// The client a document describes, as open registration into `account` would create it.
    async fn document_client_spec(
        &self,
        account: &AccountSid,
        meta: &ClientMetadata,
    ) -> StoreResult<ClientSpec> {
        let method = meta.auth_method.unwrap_or(TokenEndpointAuthMethod::None);
        Ok(ClientSpec {
            friendly_name: meta
                .client_name
                .clone()
                .unwrap_or_else(|| DEFAULT_CLIENT_NAME.to_owned()),
            account_sid: Some(account.clone()),
            grant_types: meta.grant_types.clone(),
            redirect_uris: meta.redirect_uris.clone(),
            scopes: self.open_scopes(account).await?,
            public: method == TokenEndpointAuthMethod::None,
            auth_method: Some(method),
            jwks: meta.jwks.clone(),
            jwks_uri: meta.jwks_uri.clone(),
            ..ClientSpec::default()
        })
    }

    /// Stores a document's client for the first time, unless another node just did.
    async fn insert_document_client(
        &self,
        client: &Client,
        url: &str,
        metadata: ExtraMetadata,
    ) -> RegistrationResult<()> {
        // Nobody is given the registration access token: the document manages it.
        let unused = Secret::generate(self.rng.as_ref()).map_err(AdminError::from)?;
        let registration = ClientRegistration {
            client_id: client.id.clone(),
            token_digest: unused.digest(),
            via: RegisteredVia::MetadataDocument,
            registered_from: Some(url.to_owned()),
            metadata,
            created_at: client.created_at,
            updated_at: client.updated_at,
        };
        if let Err(e) = self
            .store
            .insert_registered_client(client, &registration)
            .await
        {
            // Another node stored it first: theirs is as good as ours.
            if self.store.client(&client.id).await?.is_none() {
                return Err(e.into());
            }
        }
        Ok(())
    }
}
