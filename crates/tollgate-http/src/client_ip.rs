//! The client's address behind a reverse proxy. Limits key on the address a request came from;
//! behind a proxy that is the proxy's own, so every client would share one budget. When the
//! peer is a configured trusted proxy, the client is the nearest untrusted address in
//! `X-Forwarded-For` (or `Forwarded: for=`); otherwise those headers are ignored, so a client
//! cannot pick its own address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// Rewrites the request's `ConnectInfo` to the client's address.
pub async fn resolve(trusted: Arc<[IpNet]>, mut req: Request, next: Next) -> Response {
    if !trusted.is_empty()
        && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
        && let Some(client) = client_address(&trusted, peer.ip(), req.headers())
    {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(req).await
}

/// The nearest address in the forwarding chain that is not a trusted proxy.
pub fn client_address(trusted: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return None;
    }
    let mut chain: Vec<IpAddr> = Vec::new();
    for v in headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for element in v.split(',') {
            for pair in element.split(';') {
                if let Some((k, val)) = pair.trim().split_once('=')
                    && k.eq_ignore_ascii_case("for")
                {
                    chain.extend(parse_node(val));
                }
            }
        }
    }
    if chain.is_empty() {
        for v in headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            chain.extend(v.split(',').filter_map(parse_node));
        }
    }
    // Walk from the proxy nearest to us outwards; the first untrusted hop is the client.
    chain.into_iter().rev().find(|ip| !is_trusted(ip))
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

    #[test]
    fn only_a_trusted_peer_may_name_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 203.0.113.9, 10.0.0.2"),
        );
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let stranger: IpAddr = [198, 51, 100, 1].into();
        assert_eq!(
            client_address(&trusted, proxy, &h),
            Some([203, 0, 113, 9].into()),
            "the spoofable left part is not believed"
        );
        assert_eq!(client_address(&trusted, stranger, &h), None);
        let mut f = HeaderMap::new();
        f.insert(
            "forwarded",
            HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https"),
        );
        assert_eq!(
            client_address(&trusted, proxy, &f),
            "2001:db8::1".parse().ok()
        );
    }
}
