use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

/// A loopback listener answering every connection with `response` (or holding it open when
/// `None`); counts connections and keeps the last request's head.
struct Canned {
    url: String,
    connections: Arc<AtomicUsize>,
    last_request: Arc<Mutex<String>>,
}

fn canned(response: Option<Vec<u8>>) -> Canned {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let last_request = Arc::new(Mutex::new(String::new()));
    let (count, last) = (connections.clone(), last_request.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            *last.lock().expect("lock") = String::from_utf8_lossy(&buf[..n]).into_owned();
            match &response {
                Some(r) => {
                    let _ = stream.write_all(r);
                }
                None => std::thread::sleep(Duration::from_secs(5)),
            }
        }
    });
    Canned {
        url,
        connections,
        last_request,
    }
}

fn ok(body: &str) -> Option<Vec<u8>> {
    Some(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn dev(timeout_ms: u64) -> HttpFetcher {
    let mut policy = FetchPolicy::new(&[], true).expect("policy");
    policy.timeout = Duration::from_millis(timeout_ms);
    HttpFetcher::new(policy).expect("client")
}

async fn get(f: &HttpFetcher, url: &str) -> Result<Vec<u8>, FetchError> {
    f.fetch(OutboundRequest::get(url, "application/json")).await
}

#[tokio::test]
async fn names_resolving_to_loopback_are_dropped_unless_allowed() {
    let strict = PolicyResolver {
        policy: Arc::new(FetchPolicy::default()),
    };
    let name = || "localhost".parse::<Name>().expect("name");
    assert!(strict.resolve(name()).await.is_err());
    let dev = PolicyResolver {
        policy: Arc::new(FetchPolicy::new(&[], true).expect("policy")),
    };
    let addrs: Vec<_> = dev.resolve(name()).await.expect("resolves").collect();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
}

#[tokio::test]
async fn a_document_is_fetched_without_credentials() {
    let server = canned(ok(r#"{"keys":[]}"#));
    let body = get(&dev(2000), &format!("{}/jwks", server.url)).await;
    assert_eq!(body.expect("fetched"), br#"{"keys":[]}"#);
    let head = server
        .last_request
        .lock()
        .expect("lock")
        .to_ascii_lowercase();
    assert!(head.starts_with("get /jwks "), "{head}");
    assert!(
        !head.contains("authorization") && !head.contains("cookie"),
        "{head}"
    );
}

#[tokio::test]
async fn user_info_is_refused_before_connecting() {
    let server = canned(ok("{}"));
    let url = server.url.replace("http://", "http://svc:s3cret@");
    let err = get(&dev(2000), &url).await.expect_err("refused");
    assert!(matches!(err, FetchError::Refused(_)), "{err}");
    assert!(!err.to_string().contains("s3cret"));
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = canned(ok("{}"));
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: {}/jwks\r\ncontent-length: 0\r\n\r\n",
        target.url
    );
    let server = canned(Some(redirect.into_bytes()));
    let err = get(&dev(2000), &server.url)
        .await
        .expect_err("not followed");
    assert_eq!(err, FetchError::Status(302));
    assert_eq!(target.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn large_documents_are_cut_off() {
    let big = "x".repeat(MAX + 1);
    let declared = canned(ok(&big));
    let err = get(&dev(2000), &declared.url).await.expect_err("too large");
    assert_eq!(err, FetchError::TooLarge(MAX));
    let undeclared = format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{big}");
    let server = canned(Some(undeclared.into_bytes()));
    let err = get(&dev(2000), &server.url).await.expect_err("too large");
    assert_eq!(err, FetchError::TooLarge(MAX));
}

const MAX: usize = tollgate_core::fetch::MAX_BYTES;

#[tokio::test]
async fn a_hanging_server_costs_at_most_the_timeout() {
    let server = canned(None);
    let start = Instant::now();
    let err = get(&dev(300), &server.url).await.expect_err("times out");
    assert!(matches!(err, FetchError::Failed(_)), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}
