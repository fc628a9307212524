//! Fetches clients' `jwks_uri` documents for `private_key_jwt` (the engine makes no HTTP
//! calls itself): short timeouts, a size cap, no redirects, so a slow or hostile URI cannot
//! hold a token request.

use std::time::Duration;

use tollgate_core::client_assertion::JwksFetcher;

/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 64 * 1024;

pub struct HttpJwksFetcher {
    http: Option<reqwest::Client>,
}

impl HttpJwksFetcher {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| tracing::error!(error = %e, "no HTTP client for jwks_uri fetches"))
            .ok();
        Self { http }
    }
}

impl Default for HttpJwksFetcher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch(&self, uri: &str) -> Result<String, String> {
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        let mut resp = http
            .get(uri)
            .header("accept", "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err("document too large".into());
            }
        }
        String::from_utf8(body).map_err(|_| "not UTF-8".into())
    }
}
