//! A loopback HTTPS server publishing Client ID Metadata Documents, with a certificate the
//! test server's outbound fetcher is configured to trust (`outbound_ca_file`). Counts the
//! requests for each path, so tests can tell a cached document from a fetched one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Docs = Arc<Mutex<HashMap<String, (String, Option<String>)>>>;

pub struct DocumentServer {
    pub port: u16,
    /// The PEM file of the certificate the server presents (its own root).
    pub ca_file: PathBuf,
    docs: Docs,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    _dir: tempfile::TempDir,
}

impl DocumentServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let (certified, cert, _) = self_signed(dir.path());
        let acceptor = http1_acceptor(&certified);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let docs: Docs = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (served, seen) = (docs.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, served, seen) = (acceptor.clone(), served.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 8192];
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    *seen.lock().expect("hits").entry(path.clone()).or_default() += 1;
                    let found = served.lock().expect("docs").get(&path).cloned();
                    let resp = match found {
                        Some((body, cache)) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n{}connection: close\r\n\r\n{body}",
                            body.len(),
                            cache
                                .map(|c| format!("cache-control: {c}\r\n"))
                                .unwrap_or_default()
                        ),
                        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\
                                 connection: close\r\n\r\n"
                            .to_owned(),
                    };
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            port,
            ca_file: cert,
            docs,
            hits,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// Publishes `doc` at `path`, with a `Cache-Control` header when given.
    pub fn publish(&self, path: &str, doc: &Value, cache_control: Option<&str>) {
        self.docs.lock().expect("docs").insert(
            path.to_owned(),
            (doc.to_string(), cache_control.map(str::to_owned)),
        );
    }

    /// How many times `path` was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// A self-signed certificate for `127.0.0.1` and `localhost`, written to `cert.pem` and
/// `key.pem` in `dir`: the certificate and the two files.
pub fn self_signed(dir: &std::path::Path) -> (rcgen::CertifiedKey, PathBuf, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("key");
    (certified, cert, key)
}

/// TLS speaking HTTP/1.1 only (the fetcher would otherwise agree on h2).
fn http1_acceptor(certified: &rcgen::CertifiedKey) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
