//! The floor: what any token endpoint on hyper + aws-lc-rs must spend per request.
//!
//! `POST /token`: a Basic credential compared in constant time, a fresh random `jti`, one
//! ES256 JWT signed, a JSON answer. `POST /introspect`: the bare HTTP exchange (body read,
//! fixed JSON answer). Anything Tollgate spends beyond these is its own overhead.
//!
//! Usage: `tollgate-bench-floor ADDR CLIENT_ID SECRET`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

struct Floor {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// `Basic base64(client_id:secret)`, the whole header value a client sends.
    expected: Vec<u8>,
    header_b64: String,
    client_id: String,
}

impl Floor {
    fn token(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let given = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
        if verify_slices_are_equal(given, &self.expected).is_err() {
            return json(StatusCode::UNAUTHORIZED, Bytes::from_static(b"{\"error\":\"invalid_client\"}"));
        }
        let mut jti = [0u8; 16];
        if self.rng.fill(&mut jti).is_err() {
            return json(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new());
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = format!(
            r#"{{"iss":"http://127.0.0.1","sub":"{id}","aud":"http://127.0.0.1","client_id":"{id}","scope":"read write","iat":{now},"exp":{exp},"jti":"{jti}"}}"#,
            id = self.client_id,
            exp = now + 3600,
            jti = URL_SAFE_NO_PAD.encode(jti),
        );
        let mut jwt = format!("{}.{}", self.header_b64, URL_SAFE_NO_PAD.encode(claims));
        let Ok(sig) = self.key.sign(&self.rng, jwt.as_bytes()) else {
            return json(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new());
        };
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        let body = format!(
            r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600,"scope":"read write"}}"#
        );
        json(StatusCode::OK, Bytes::from(body))
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn handle(floor: Arc<Floor>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = match (method, path.as_str()) {
        (Method::POST, "/token") => {
            let resp = floor.token(&req);
            // Read the form body as a token endpoint must, even though nothing in it matters here.
            let _ = req.into_body().collect().await;
            resp
        }
        (Method::POST, "/introspect") => {
            let _ = req.into_body().collect().await;
            json(StatusCode::OK, Bytes::from_static(br#"{"active":true,"client_id":"floor","scope":"read write","token_type":"Bearer","exp":4102444800}"#))
        }
        _ => json(StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
    };
    Ok(resp)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, client_id, secret] = args.as_slice() else {
        eprintln!("usage: tollgate-bench-floor ADDR CLIENT_ID SECRET");
        std::process::exit(2);
    };
    let rng = SystemRandom::new();
    let bad_key = |_| std::io::Error::other("could not make an ES256 key");
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(bad_key)?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| std::io::Error::other("could not load the ES256 key"))?;
    let floor = Arc::new(Floor {
        key,
        rng,
        expected: format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}"))).into_bytes(),
        header_b64: URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"floor"}"#),
        client_id: client_id.clone(),
    });
    let listener = TcpListener::bind(addr.as_str()).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let floor = floor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(floor.clone(), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
