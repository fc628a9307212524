//! The outbound fetch policy (DESIGN section 14). Every request the server makes on a client's
//! say-so (`jwks_uri`, client metadata documents, back-channel logout) goes through one
//! [`OutboundFetcher`] that applies one [`FetchPolicy`]: `https` only (loopback `http` only
//! when allowed for development), no special-use addresses after resolution unless an operator
//! allow-lists them, no user info, no redirects, size and time limits. The engine makes no
//! HTTP calls itself; the server supplies the fetcher.

mod ranges;

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use ipnet::IpNet;

pub use ranges::{Special, classify};

/// The largest document fetched.
pub const MAX_BYTES: usize = 64 * 1024;
/// The longest a fetch may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A host name or network an operator lets outbound fetches reach despite the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    /// Exact host name (lowercase, no trailing dot); any address it resolves to is allowed.
    Host(String),
    Net(IpNet),
}

impl AllowEntry {
    /// `10.1.2.0/24`, `10.1.2.3`, `fd00::/8` or `keys.internal`.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            return Ok(Self::Net(net));
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(Self::Net(IpNet::from(ip)));
        }
        match url::Host::parse(entry) {
            Ok(url::Host::Domain(d)) if !d.is_empty() && !d.contains(['/', ':', '@']) => {
                Ok(Self::Host(normal_host(&d)))
            }
            _ => Err(format!(
                "outbound allow-list entry {entry:?} is neither a host name nor an IP network"
            )),
        }
    }
}

fn normal_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// `localhost` and its subdomains always name loopback (RFC 6761 section 6.3).
fn is_localhost_name(host: &str) -> bool {
    let h = normal_host(host);
    h == "localhost" || h.ends_with(".localhost")
}

/// What outbound fetches may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Hosts and networks reachable whatever their addresses.
    pub allow: Vec<AllowEntry>,
    /// Development only: loopback addresses (and `localhost`) may be fetched, over `http` too.
    pub allow_loopback_http: bool,
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            allow_loopback_http: false,
            max_bytes: MAX_BYTES,
            timeout: TIMEOUT,
        }
    }
}

/// Why a fetch did not yield a document. Only ever logged: clients see one uniform error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("refused by the outbound policy: {0}")]
    Refused(String),
    #[error("request failed: {0}")]
    Failed(String),
    #[error("answered with status {0}")]
    Status(u16),
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
}

impl FetchPolicy {
    /// The policy with an operator's allow-list (`outbound_allow`) and development allowance.
    pub fn new(allow: &[String], allow_loopback_http: bool) -> Result<Self, String> {
        Ok(Self {
            allow: allow
                .iter()
                .map(|e| AllowEntry::parse(e))
                .collect::<Result<_, _>>()?,
            allow_loopback_http,
            ..Self::default()
        })
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = normal_host(host);
        self.allow
            .iter()
            .any(|e| matches!(e, AllowEntry::Host(h) if *h == host))
    }

    /// Whether `host` may be reached at `ip` (what it resolved to, or its IP literal).
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let listed = |e: &AllowEntry| matches!(e, AllowEntry::Net(n) if n.contains(&ip));
        if self.host_allowed(host) || self.allow.iter().any(listed) {
            return true;
        }
        match classify(ip) {
            None => true,
            Some(Special::Loopback) => self.allow_loopback_http,
            Some(_) => false,
        }
    }

    /// The static part of the policy, also applied at registration: scheme, user info, IP
    /// literals and loopback names. Names are checked again after resolution.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, FetchError> {
        let refuse = |why: &str| Err(FetchError::Refused(why.to_owned()));
        let Ok(url) = url::Url::parse(raw) else {
            return refuse("not an absolute URL");
        };
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("URLs with user info are not fetched");
        }
        let (name, ip) = match url.host() {
            Some(url::Host::Domain(d)) => (d.to_owned(), None),
            Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
            Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
            None => return refuse("no host"),
        };
        let loopback = match ip {
            Some(ip) => classify(ip.to_canonical()) == Some(Special::Loopback),
            None => is_localhost_name(&name),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback && self.allow_loopback_http => {}
            _ => return refuse("only https URLs are fetched"),
        }
        let allowed = match ip {
            Some(ip) => self.permits(&name, ip),
            None => !loopback || self.allow_loopback_http || self.host_allowed(&name),
        };
        if !allowed {
            return refuse("the host is a loopback, private or otherwise special-use address");
        }
        Ok(url)
    }
}

/// One outbound request: a GET, or a POST of a form (back-channel logout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub url: String,
    /// The `Accept` header.
    pub accept: &'static str,
    pub form: Option<Vec<(String, String)>>,
}

impl OutboundRequest {
    pub fn get(url: &str, accept: &'static str) -> Self {
        Self {
            url: url.to_owned(),
            accept,
            form: None,
        }
    }
}

/// A fetched document and how long its server lets it be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` in seconds; `Some(0)` for `no-store`/`no-cache`; `None` when
    /// the answer said nothing.
    pub max_age: Option<u64>,
}

/// The `max-age` of a `Cache-Control` header value (`Some(0)` for `no-store`, `no-cache`).
pub fn cache_max_age(cache_control: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Some(0);
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok().or(Some(0));
        }
    }
    max_age
}

/// Makes outbound requests under a [`FetchPolicy`]; returns the body of a 2xx answer.
#[async_trait]
pub trait OutboundFetcher: Send + Sync + 'static {
    async fn fetch(&self, request: OutboundRequest) -> Result<Vec<u8>, FetchError>;
    /// The same, with the answer's caching lifetime (client metadata documents).
    async fn fetch_document(&self, request: OutboundRequest) -> Result<Fetched, FetchError> {
        Ok(Fetched {
            body: self.fetch(request).await?,
            max_age: None,
        })
    }
    /// The policy it applies (registration checks URLs against its static part).
    fn policy(&self) -> &FetchPolicy;
}

#[cfg(test)]
mod tests;
