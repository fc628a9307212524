//! The client's address behind a reverse proxy. Limits key on the address a request came from;
//! behind a proxy that is the proxy's own, so every client would share one budget. When the
//! peer is a configured trusted proxy, the client is read from ONE configured header (the one
//! the proxy writes: `X-Forwarded-For` by default, or RFC 7239 `Forwarded`), right to left
//! through trusted hops only (RFC 7239 section 8.1). The other header is never read, so a
//! client cannot pick its own address by sending the one the proxy does not overwrite.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// Which header the trusted proxies write the client's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

/// Trusted reverse proxies and the header they name the client in.
#[derive(Debug, Clone, Default)]
pub struct ProxyPolicy {
    pub trusted: Arc<[IpNet]>,
    pub header: ClientIpHeader,
}

impl ProxyPolicy {
    pub fn is_empty(&self) -> bool {
        self.trusted.is_empty()
    }

    /// The nearest address in the forwarding chain that is not a trusted proxy; `None` when
    /// the peer is not a trusted proxy (its own address stands) or the header names no one.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let is_trusted = |ip: &IpAddr| self.trusted.iter().any(|n| n.contains(ip));
        if !is_trusted(&peer) {
            return None;
        }
        let chain = match self.header {
            ClientIpHeader::XForwardedFor => x_forwarded_for(headers),
            ClientIpHeader::Forwarded => forwarded(headers),
        };
        // Walk from the proxy nearest to us outwards; the first untrusted hop is the client.
        chain.into_iter().rev().find(|ip| !is_trusted(ip))
    }
}

/// Rewrites the request's `ConnectInfo` to the client's address.
pub async fn resolve(policy: ProxyPolicy, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
        && let Some(client) = policy.client_address(peer.ip(), req.headers())
    {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(req).await
}

fn header_values<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    header_values(headers, "x-forwarded-for")
        .flat_map(|v| v.split(','))
        .map(parse_node)
        .collect::<Option<Vec<_>>>()
        // A hop that is not an address breaks the chain: nothing in it is believed.
        .unwrap_or_default()
}

fn forwarded(headers: &HeaderMap) -> Vec<IpAddr> {
    let mut chain = Vec::new();
    for element in header_values(headers, "forwarded").flat_map(|v| v.split(',')) {
        let node = element.split(';').find_map(|pair| {
            let (k, val) = pair.trim().split_once('=')?;
            k.eq_ignore_ascii_case("for").then_some(val)
        });
        match node.and_then(parse_node) {
            Some(ip) => chain.push(ip),
            // `for=unknown`, an obfuscated node or no `for`: the chain stops being usable here.
            None => return Vec::new(),
        }
    }
    chain
}

/// `203.0.113.7`, `"[2001:db8::1]:4711"`, `198.51.100.2:80`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|ip| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().filter_map(|n| n.parse().ok()).collect()
    }

    fn policy(header: ClientIpHeader) -> ProxyPolicy {
        ProxyPolicy {
            trusted: Arc::from(nets(&["10.0.0.0/8"])),
            header,
        }
    }

    /// Headers carrying `name: value`.
    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    /// The client the proxy at 10.0.0.1 names in `name: value`, reading `header`.
    fn named(header: ClientIpHeader, name: &'static str, value: &'static str) -> Option<IpAddr> {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        policy(header).client_address(proxy, &headers(name, value))
    }

    #[test]
    fn only_a_trusted_peer_may_name_the_client() {
        let xff = policy(ClientIpHeader::XForwardedFor);
        let h = headers("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2");
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let stranger: IpAddr = [198, 51, 100, 1].into();
        assert_eq!(
            xff.client_address(proxy, &h),
            Some([203, 0, 113, 9].into()),
            "the spoofable left part is not believed"
        );
        assert_eq!(xff.client_address(stranger, &h), None);
        let forwarded = "for=\"[2001:db8::1]:4711\";proto=https";
        assert_eq!(
            named(ClientIpHeader::Forwarded, "forwarded", forwarded),
            "2001:db8::1".parse().ok()
        );
    }

    /// The penetration test's bypass: the proxy appends to `X-Forwarded-For`, the client adds
    /// a `Forwarded` of its choosing. Only the configured header is read.
    #[test]
    fn the_header_the_proxy_does_not_write_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        h.insert("forwarded", HeaderValue::from_static("for=198.51.100.7"));
        let proxy: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(
            policy(ClientIpHeader::XForwardedFor).client_address(proxy, &h),
            Some([203, 0, 113, 9].into())
        );
        // And the other way round, for a proxy that writes `Forwarded`.
        assert_eq!(
            policy(ClientIpHeader::Forwarded).client_address(proxy, &h),
            Some([198, 51, 100, 7].into())
        );
    }

    #[test]
    fn a_broken_chain_names_no_one() {
        let xff = named(
            ClientIpHeader::XForwardedFor,
            "x-forwarded-for",
            "203.0.113.9, junk",
        );
        assert_eq!(xff, None);
        let forwarded = named(
            ClientIpHeader::Forwarded,
            "forwarded",
            "for=unknown, for=10.0.0.2",
        );
        assert_eq!(forwarded, None);
    }
}
