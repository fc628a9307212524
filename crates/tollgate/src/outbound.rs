//! The one outbound HTTP client (DESIGN section 14): every request the server makes on a
//! client's say-so goes through [`HttpFetcher`], which applies the [`FetchPolicy`]. The policy
//! is checked on the URL before anything is sent and again on every address a name resolves
//! to, inside the resolver the connection uses, so a name cannot resolve to a forbidden address
//! between check and connect.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tollgate_core::fetch::{
    FetchError, FetchPolicy, Fetched, OutboundFetcher, OutboundRequest, cache_max_age,
};

/// Resolves names and keeps only the addresses the policy permits.
struct PolicyResolver {
    policy: Arc<FetchPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> =
                resolved.filter(|a| policy.permits(&host, a.ip())).collect();
            if permitted.is_empty() {
                return Err(format!("{host} resolves to no permitted address").into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

pub struct HttpFetcher {
    policy: Arc<FetchPolicy>,
    http: reqwest::Client,
}

impl HttpFetcher {
    pub fn new(policy: FetchPolicy) -> Result<Self, reqwest::Error> {
        Self::with_roots(policy, Vec::new())
    }

    /// With root certificates trusted beside the system's (a development or private CA).
    pub fn with_roots(
        policy: FetchPolicy,
        roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder();
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        let http = builder
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, out of the policy's reach.
            .no_proxy()
            .referer(false)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Self { policy, http })
    }

    async fn send(&self, request: OutboundRequest) -> Result<Fetched, FetchError> {
        let url = self.policy.check_url(&request.url)?;
        let builder = match &request.form {
            Some(form) => self.http.post(url).form(form),
            None => self.http.get(url),
        };
        let failed = |e: reqwest::Error| FetchError::Failed(with_causes(&e.without_url()));
        let mut resp = builder
            .header(reqwest::header::ACCEPT, request.accept)
            .send()
            .await
            .map_err(failed)?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let max_age = resp
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(cache_max_age)
            .min();
        let max = self.policy.max_bytes;
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            body.extend_from_slice(&chunk);
            if body.len() > max {
                return Err(FetchError::TooLarge(max));
            }
        }
        Ok(Fetched { body, max_age })
    }
}

#[async_trait::async_trait]
impl OutboundFetcher for HttpFetcher {
    async fn fetch(&self, request: OutboundRequest) -> Result<Vec<u8>, FetchError> {
        Ok(self.send(request).await?.body)
    }

    async fn fetch_document(&self, request: OutboundRequest) -> Result<Fetched, FetchError> {
        self.send(request).await
    }

    fn policy(&self) -> &FetchPolicy {
        &self.policy
    }
}

/// An error and what caused it (the cause is what says "certificate not trusted").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests;
