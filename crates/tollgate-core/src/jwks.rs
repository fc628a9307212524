//! Clients' `jwks_uri` key sets: fetched through the outbound fetcher, cached, refetched for an
//! unknown `kid` at most every [`REFETCH_INTERVAL`]. A failed fetch is remembered as long, so
//! token requests cannot make the server fetch a URL over and over.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::fetch::{OutboundFetcher, OutboundRequest};
use crate::jose::{parse_jwks, pick_key};

/// A `jwks_uri` is refetched (after an unknown `kid` or a failure) at most this often (seconds).
const REFETCH_INTERVAL: i64 = 10;
/// A fetched JWKS is trusted this long before it is fetched again.
const JWKS_TTL: i64 = 300;

const ACCEPT: &str = "application/jwk-set+json, application/json";

/// Key sets by URI, with when they were fetched; `None` when that fetch failed.
#[derive(Default)]
pub(crate) struct JwksCache {
    entries: dashmap::DashMap<String, (i64, Option<Arc<JwkSet>>)>,
}

impl JwksCache {
    /// The key of the set at `uri` that verifies `alg` with `kid`, cached or (re)fetched at
    /// `now`. `None` whatever went wrong: the caller answers one uniform error.
    pub(crate) async fn key(
        &self,
        fetcher: Option<&dyn OutboundFetcher>,
        uri: &str,
        kid: Option<&str>,
        alg: Algorithm,
        now: i64,
    ) -> Option<DecodingKey> {
        let cached = self.entries.get(uri).map(|e| e.value().clone());
        if let Some((at, set)) = &cached
            && now - at < JWKS_TTL
        {
            if let Some(k) = set.as_deref().and_then(|s| pick_key(s, kid, alg)) {
                return DecodingKey::from_jwk(k).ok();
            }
            if now - at < REFETCH_INTERVAL {
                return None;
            }
        }
        let set = fetch(fetcher, uri).await;
        self.entries.insert(uri.to_owned(), (now, set.clone()));
        let key = set.as_deref().and_then(|s| pick_key(s, kid, alg));
        key.and_then(|k| DecodingKey::from_jwk(k).ok())
    }
}

async fn fetch(fetcher: Option<&dyn OutboundFetcher>, uri: &str) -> Option<Arc<JwkSet>> {
    let Some(fetcher) = fetcher else {
        tracing::error!("no outbound fetcher configured: jwks_uri clients cannot authenticate");
        return None;
    };
    // Details go to the debug log only: the client must not learn what lies behind a URL.
    let doc = match fetcher.fetch(OutboundRequest::get(uri, ACCEPT)).await {
        Ok(doc) => doc,
        Err(e) => {
            tracing::debug!(jwks_uri = %redacted(uri), error = %e, "jwks_uri fetch failed");
            return None;
        }
    };
    let parsed = std::str::from_utf8(&doc)
        .map_err(|_| "not UTF-8".to_owned())
        .and_then(parse_jwks);
    match parsed {
        Ok(set) => Some(Arc::new(set)),
        Err(e) => {
            tracing::debug!(jwks_uri = %redacted(uri), error = %e, "jwks_uri holds no JWKS");
            None
        }
    }
}

/// A URL for logs: without user info, should one have slipped into storage.
fn redacted(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}
