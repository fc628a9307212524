//! Client keys, RFC 7523 assertions and RFC 9449 proofs.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tollgate_core::Clock;

use tollgate::config::Config;

use super::{Backend, TestApp, TestClient, spawn_app_with};

/// An ES256 key a client holds.
pub struct ClientKey {
    enc: EncodingKey,
    /// The private key as PKCS#8 DER, for clients outside this process.
    pub pkcs8: Vec<u8>,
    pub jwk: Jwk,
    pub kid: String,
}

fn random_id() -> String {
    let rng = tollgate_core::SystemRng::default();
    let b: [u8; 12] = tollgate_core::clock::random_bytes(&rng).expect("rng");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ClientKey {
    pub fn es256() -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let pkcs8 = pair.serialize_der();
        let enc = EncodingKey::from_ec_der(&pkcs8);
        let jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).expect("jwk");
        Self {
            enc,
            pkcs8,
            jwk,
            kid: random_id(),
        }
    }

    /// The public key as a JWK object (with `kid`).
    pub fn public_jwk(&self) -> Value {
        let mut v = serde_json::to_value(&self.jwk).expect("jwk json");
        v["kid"] = json!(self.kid);
        v
    }

    pub fn jwks(&self) -> String {
        json!({"keys": [self.public_jwk()]}).to_string()
    }

    /// RFC 7638 thumbprint, as the server computes it.
    pub fn jkt(&self) -> String {
        tollgate_core::jose::thumbprint(&self.public_jwk()).expect("thumbprint")
    }

    pub fn sign(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.enc).expect("sign")
    }

    /// A private_key_jwt assertion for `client` with audience `aud`, living `ttl` seconds.
    pub fn assertion(&self, app: &TestApp, client: &str, aud: &str, ttl: i64) -> String {
        let now = app.clock.now();
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        self.sign(
            h,
            &json!({"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + ttl,
                    "jti": random_id()}),
        )
    }

    /// A DPoP proof for `method` on `url`.
    pub fn proof(&self, app: &TestApp, method: &str, url: &str, extra: Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.typ = Some("dpop+jwt".into());
        h.jwk = Some(self.jwk.clone());
        let mut claims =
            json!({"htm": method, "htu": url, "iat": app.clock.now(), "jti": random_id()});
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        self.sign(h, &claims)
    }
}

/// A server with a private_key_jwt client_credentials app (`TestApp::key_client`) and its key.
pub async fn key_app(backend: Backend) -> Option<(TestApp, ClientKey, TestClient)> {
    key_app_with(backend, |_| {}).await
}

/// `key_app` on a server configured by `tweak`.
pub async fn key_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Config),
) -> Option<(TestApp, ClientKey, TestClient)> {
    let app = spawn_app_with(backend, tweak).await?;
    let key = ClientKey::es256();
    let c = app.key_client(&key).await;
    Some((app, key, c))
}

impl TestApp {
    /// `assertion_token` with a fresh 60 s assertion by `key` for `client`, aimed at the issuer.
    pub async fn key_token(
        &self,
        key: &ClientKey,
        client: &str,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let assertion = key.assertion(self, client, &self.base, 60);
        self.assertion_token(&assertion, proof).await
    }
}

/// `ath` of an access token.
pub fn ath(token: &str) -> String {
    tollgate_core::jose::access_token_hash(token)
}
