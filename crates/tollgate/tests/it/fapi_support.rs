//! Client keys, RFC 7523 assertions and RFC 9449 proofs for the tests of `fapi.rs`.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tollgate_core::Clock;
use tollgate_core::model::{ClientProfile, GrantType, TokenEndpointAuthMethod};

use crate::browser::REDIRECT;
use crate::helpers::{TestApp, TestClient};

pub const VERIFIER: &str = "fapi-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

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

/// `ath` of an access token.
pub fn ath(token: &str) -> String {
    tollgate_core::jose::access_token_hash(token)
}

impl TestApp {
    /// A confidential client_credentials app authenticating with private_key_jwt.
    pub async fn key_client(&self, key: &ClientKey) -> TestClient {
        let jwks = key.jwks();
        self.client_with(|s| {
            s.auth_method = Some(TokenEndpointAuthMethod::PrivateKeyJwt);
            s.jwks = Some(jwks);
            s.audiences = vec!["https://api.example".into(), "https://other.example".into()];
        })
        .await
    }

    /// An authorization-code app on the FAPI 2.0 profile.
    pub async fn fapi_client(&self, key: &ClientKey) -> TestClient {
        let jwks = key.jwks();
        self.client_with(|s| {
            s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            s.redirect_uris = vec![REDIRECT.into()];
            s.scopes = vec!["read".into()];
            s.audiences = vec!["https://api.example".into(), "https://other.example".into()];
            s.profile = ClientProfile::Fapi2;
            s.jwks = Some(jwks);
        })
        .await
    }

    /// POSTs a form, optionally with a DPoP proof.
    pub async fn post_dpop(
        &self,
        path: &str,
        proof: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).form(form);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send().await.expect("request")
    }

    /// client_credentials with a private_key_jwt assertion and an optional DPoP proof.
    pub async fn assertion_token(&self, assertion: &str, proof: Option<&str>) -> reqwest::Response {
        self.post_dpop(
            "/oauth/token",
            proof,
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    tollgate_core::client_assertion::JWT_BEARER,
                ),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    /// Claims of a JWT, unverified (the server's signature is checked elsewhere).
    pub fn claims(&self, jwt: &str) -> Value {
        jsonwebtoken::dangerous::insecure_decode_claims::<Value>(jwt).expect("claims")
    }
}

/// An RFC 6749 error body's `error`, with the status.
pub async fn error_of(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}
