//! RFC 9126 pushed authorization requests: the client posts its authorization parameters
//! (authenticated), gets a short-lived `request_uri`, and sends the browser with only that.
//! The request is bound to the client and spent when a code is issued from it, so a reload
//! during sign-in still works but a second code never comes from one push.

use crate::authorize::{self, AuthorizeError, AuthorizeParams, ValidAuthorization};
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::metadata_document::DOCUMENT_FAILED;
use crate::model::PushedAuthorizationRequest;
use crate::secret::SecretDigest;

/// RFC 9126 section 2.2: the `request_uri` URN prefix.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// What the PAR endpoint answers (RFC 9126 section 2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushedAuthorization {
    pub request_uri: String,
    pub expires_in: i64,
}

impl Engine {
    /// Validates and stores an authenticated client's authorization request.
    pub async fn push_authorization_request(
        &self,
        client: &crate::client_auth::AuthenticatedClient,
        params: AuthorizeParams,
        proof: Option<&crate::dpop::DpopProof>,
    ) -> Result<PushedAuthorization, OAuthError> {
        let mut params = self.pushed_params(client, params).await?;
        // RFC 9449 section 10.1: a proof on the push binds the code to its key.
        if let Some(proof) = proof {
            let jkt = self
                .verify_dpop_proof(proof, None, client.is_fapi())
                .await?;
            if params.dpop_jkt.as_deref().is_some_and(|j| j != jkt) {
                return Err(crate::dpop::invalid_proof(
                    "dpop_jkt does not match the key of the DPoP proof",
                ));
            }
            params.dpop_jkt = Some(jkt);
        }
        let found = client.client().clone();
        authorize::check(
            &params,
            |id| (id == &found.id).then(|| found.clone()),
            |c, r| self.may_name_resource(c, r),
            self.issuer(),
        )
        .map_err(authorize::Refusal::into_error)?;
        let json = serde_json::to_string(&params).map_err(|_| OAuthError::server_error())?;
        let handle = self.random_id::<32>()?;
        let now = self.clock.now();
        let ttl = i64::from(self.config.par_ttl);
        self.store
            .insert_pushed_request(&PushedAuthorizationRequest {
                digest: SecretDigest::of(&handle),
                client_id: client.id.clone(),
                params: json,
                created_at: now,
                expires_at: now + ttl,
                used_at: None,
            })
            .await?;
        Ok(PushedAuthorization {
            request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
            expires_in: ttl,
        })
    }

    /// The pushed parameters as the client means them: its own `client_id` (a metadata
    /// document's parameters resolved) and any request object opened.
    async fn pushed_params(
        &self,
        client: &crate::client_auth::AuthenticatedClient,
        mut params: AuthorizeParams,
    ) -> Result<AuthorizeParams, OAuthError> {
        if params.request_uri.is_some() {
            return Err(OAuthError::invalid_request(
                "request_uri cannot be pushed (RFC 9126 section 2.1)",
            ));
        }
        if let Some(url) = params
            .client_id
            .clone()
            .filter(|u| self.is_document_client(u))
        {
            let resolved = self
                .document_client(&url)
                .await
                .map_err(|_| OAuthError::invalid_client(DOCUMENT_FAILED))?;
            if resolved.client.id != client.id {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            params =
                Self::document_params(&resolved, &params).map_err(OAuthError::invalid_request)?;
        }
        match params.client_id.as_deref() {
            Some(id) if id != client.id.as_str() => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            _ => params.client_id = Some(client.id.to_string()),
        }
        // RFC 9101 section 5: the pushed parameters may come as a request object.
        if let Some(jwt) = params.request.take() {
            params = self
                .open_request_object(client.client(), &params, &jwt)
                .await?;
        } else if client.requires_signed_request_object() {
            return Err(crate::request_object::unsigned_refused());
        }
        Ok(params)
    }

    /// An authorization request that names a `request_uri`: the pushed parameters, if the
    /// request is this client's, unexpired and unspent.
    pub(crate) async fn pushed_authorization(
        &self,
        params: &AuthorizeParams,
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let page = |m: &str| AuthorizeError::Page(m.to_owned());
        let handle = params
            .request_uri
            .as_deref()
            .and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX))
            .filter(|h| !h.is_empty() && h.len() <= 128)
            .ok_or_else(|| page("The request_uri is not one this server issued."))?;
        let client_id = params
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| page("The request has no client_id."))?;
        let digest = SecretDigest::of(handle);
        let stored = self
            .store
            .pushed_request(&digest)
            .await
            .map_err(|_| page("The authorization request could not be read; try again."))?
            .ok_or_else(|| page("The request_uri is unknown."))?;
        if stored.client_id.as_str() != client_id {
            return Err(page("The request_uri was issued to another application."));
        }
        if stored.used_at.is_some() {
            return Err(page("The request_uri was already used."));
        }
        if stored.expires_at <= self.clock.now() {
            return Err(page("The request_uri has expired; start again."));
        }
        let pushed: AuthorizeParams = serde_json::from_str(&stored.params)
            .map_err(|_| page("The authorization request could not be read."))?;
        let client = self
            .find_client(&stored.client_id)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| page("The application that sent you here is not registered."))?;
        let mut valid = authorize::check(
            &pushed,
            |id| (id == &client.id).then(|| client.clone()),
            |c, r| self.may_name_resource(c, r),
            self.issuer(),
        )?;
        if valid.client.requires_signed_request_object() && !pushed.from_request_object {
            let err = crate::request_object::unsigned_refused();
            return Err(AuthorizeError::Redirect(
                valid.error_redirect(self.issuer(), &err),
            ));
        }
        valid.pushed = Some(digest);
        Ok(valid)
    }
}
