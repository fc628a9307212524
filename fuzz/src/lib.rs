//! Helpers shared by the fuzz targets: reading a rendered response back.

use std::sync::OnceLock;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A rendered response: status, headers and the whole body.
pub struct Rendered {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Rendered {
    pub fn of(resp: Response) -> Self {
        let (parts, body) = resp.into_parts();
        let bytes = runtime()
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .expect("a rendered body can be read");
        Self {
            status: parts.status,
            headers: parts.headers,
            body: bytes.to_vec(),
        }
    }

    /// The body as JSON; panics (a finding) if it is not valid JSON.
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            ),
        }
    }

    /// A header as a string, if present (and visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type_is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    }
}

/// A string field of a JSON object.
pub fn str_field<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(serde_json::Value::as_str)
}
