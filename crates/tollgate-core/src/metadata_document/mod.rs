//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id`
//! that is an `https` URL names the client described by the JSON document at that URL. The
//! document is fetched through the one outbound fetcher (DESIGN section 14), reused for its
//! `Cache-Control: max-age` clamped to the configured floor and ceiling (on the engine's
//! clock), and stored as a client of the configured account
//! ([`crate::admin::Admin::store_document_client`]).

mod document;

use std::sync::Arc;

pub use document::{check_url, host_allowed, is_document_client_id, parse_document};

use crate::admin::document_client_id;
use crate::authorize::AuthorizeParams;
use crate::engine::Engine;
use crate::fetch::{FetchError, OutboundRequest};
use crate::model::Client;

/// A failed resolution is remembered this long (seconds), so requests naming a broken or
/// hostile URL cannot make the server fetch it over and over.
const FAILURE_TTL: i64 = 10;
const ACCEPT: &str = "application/json";
/// Past this many cached documents, the expired ones are dropped before another is added.
const MAX_ENTRIES: usize = 10_000;

/// What a client learns when its metadata document cannot be used (details are only logged).
pub const DOCUMENT_FAILED: &str =
    "the client metadata document at the client_id URL could not be fetched or is not valid";

/// What the pages show about such a client: where its document lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentClient {
    /// The `client_id`: the document's URL.
    pub url: String,
    /// The URL's host (and port, when not the default), shown prominently on the consent
    /// page.
    pub host: String,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    /// Exactly as the document lists them (compared exactly).
    pub redirect_uris: Vec<String>,
}

/// A resolved client id URL.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub client: Arc<Client>,
    pub document: Arc<DocumentClient>,
}

/// Why a client id URL names no client. Logged only: the client sees one uniform error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("client metadata documents are not enabled")]
    Disabled,
    #[error("the client_id URL has {0}")]
    BadUrl(&'static str),
    #[error("the client_id URL's host is not allowed to act as a client")]
    HostNotAllowed,
    #[error("the document could not be fetched: {0}")]
    Fetch(FetchError),
    #[error("the document is not acceptable: {0}")]
    Invalid(String),
    #[error("the client could not be stored")]
    Store,
}

struct Entry {
    until: i64,
    resolved: Result<Resolved, DocumentError>,
}

/// Resolved documents by URL.
#[derive(Default)]
pub(crate) struct DocumentCache {
    entries: dashmap::DashMap<String, Entry>,
}

impl Engine {
    /// Whether `client_id` is to be resolved as a metadata document's URL here.
    pub fn is_document_client(&self, client_id: &str) -> bool {
        self.config.client_metadata_documents && is_document_client_id(client_id)
    }

    /// The client the document at `url` describes: cached, or fetched and stored.
    pub async fn document_client(&self, url: &str) -> Result<Resolved, DocumentError> {
        if !self.config.client_metadata_documents {
            return Err(DocumentError::Disabled);
        }
        let parsed = check_url(url)?;
        if !host_allowed(
            &self.config.client_metadata_hosts,
            parsed.host_str().unwrap_or_default(),
        ) {
            return Err(DocumentError::HostNotAllowed);
        }
        let now = self.clock.now();
        let cached = self
            .documents
            .entries
            .get(url)
            .filter(|e| now < e.until)
            .map(|e| e.resolved.clone());
        match cached {
            Some(Err(e)) => return Err(e),
            Some(Ok(r)) => {
                // Deleted by an administrator meanwhile: fetch and store it again.
                if let Ok(Some(client)) = self.find_client(&r.client.id).await {
                    return Ok(Resolved {
                        client,
                        document: r.document,
                    });
                }
            }
            None => {}
        }
        let (resolved, max_age) = match self.fetch_document(url, display_host(&parsed)).await {
            Ok((r, max_age)) => (Ok(r), max_age),
            Err(e) => {
                tracing::info!(document = url, error = %e, "client metadata document refused");
                (Err(e), None)
            }
        };
        let ttl = match &resolved {
            Ok(_) => self.document_ttl(max_age),
            Err(_) => FAILURE_TTL,
        };
        if self.documents.entries.len() >= MAX_ENTRIES {
            // Requests naming ever new URLs must not grow the cache without bound.
            self.documents.entries.retain(|_, e| now < e.until);
        }
        self.documents.entries.insert(
            url.to_owned(),
            Entry {
                until: now + ttl,
                resolved: resolved.clone(),
            },
        );
        resolved
    }

    /// `max-age` within the configured floor and ceiling (the floor when none was given).
    fn document_ttl(&self, max_age: Option<u64>) -> i64 {
        let floor = u64::from(self.config.client_metadata_cache_min_secs);
        let ceiling = u64::from(self.config.client_metadata_cache_max_secs).max(floor);
        let secs = max_age.unwrap_or(floor).clamp(floor, ceiling);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    async fn fetch_document(
        &self,
        url: &str,
        host: String,
    ) -> Result<(Resolved, Option<u64>), DocumentError> {
        let fetcher = self
            .outbound
            .get()
            .ok_or_else(|| DocumentError::Fetch(FetchError::Refused("no fetcher".into())))?;
        let fetched = fetcher
            .fetch_document(OutboundRequest::get(url, ACCEPT))
            .await
            .map_err(DocumentError::Fetch)?;
        let meta = parse_document(url, &fetched.body)?;
        let document = DocumentClient {
            url: url.to_owned(),
            host,
            client_uri: meta.extra.client_uri.clone(),
            logo_uri: meta.extra.logo_uri.clone(),
            redirect_uris: meta.redirect_uris.clone(),
        };
        let account = self.config.client_metadata_account.clone();
        let stored = self
            .admin()
            .store_document_client(account, url, meta)
            .await
            .map_err(|e| {
                tracing::warn!(document = url, error = %e, "document client not stored");
                DocumentError::Store
            })?;
        self.sync().await.map_err(|_| DocumentError::Store)?;
        let client = match self.find_client(&stored.id).await {
            Ok(Some(c)) => c,
            _ => Arc::new(stored),
        };
        let resolved = Resolved {
            client,
            document: Arc::new(document),
        };
        Ok((resolved, fetched.max_age))
    }

    /// Authorization parameters of a document client as the rest of the engine reads them:
    /// `client_id` is its stored id. Refuses a `redirect_uri` the document does not list
    /// exactly (and a missing one unless the document lists exactly one).
    pub(crate) fn document_params(
        resolved: &Resolved,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeParams, &'static str> {
        let listed = &resolved.document.redirect_uris;
        match params.redirect_uri.as_deref().filter(|s| !s.is_empty()) {
            Some(uri) if !listed.iter().any(|r| r == uri) => {
                return Err(
                    "The redirect URI is not listed in the application's metadata document.",
                );
            }
            // A pushed request's redirect URI was checked when it was pushed.
            None if listed.len() != 1 && params.request_uri.is_none() => {
                return Err("The request has no redirect_uri.");
            }
            _ => {}
        }
        let mut params = params.clone();
        params.client_id = Some(resolved.client.id.to_string());
        Ok(params)
    }
}

/// A URL's host, with its port when that is not the scheme's default.
pub fn display_host(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The stored id of a client id URL (for lookups that need no fetch).
pub fn stored_id(url: &str) -> Option<crate::ids::ClientId> {
    document_client_id(url)
}
