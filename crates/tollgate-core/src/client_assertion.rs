//! RFC 7523 client authentication: `private_key_jwt` (the client's registered keys, inline or
//! by `jwks_uri`) and `client_secret_jwt` (HS256 over the client secret). The assertion's
//! audience, expiry and single-use `jti` are enforced; the `jti` is spent in the store, so two
//! nodes refuse the same assertion.

use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::engine::{ClientAuth, Engine};
use crate::error::OAuthError;
use crate::ids::ClientId;
use crate::model::{Client, TokenEndpointAuthMethod};

/// `client_assertion_type` of RFC 7523 section 2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: its `jti` is remembered until `exp`.
const MAX_ASSERTION_LIFETIME: i64 = 600;
/// A `jwks_uri` is refetched for an unknown `kid` at most this often (seconds).
const REFETCH_INTERVAL: i64 = 10;
/// A fetched JWKS is trusted this long before it is fetched again.
const JWKS_TTL: i64 = 300;

/// Signature algorithms accepted for `private_key_jwt`.
pub const ASYMMETRIC_ALGS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
];
/// What the FAPI 2.0 Security Profile allows (section 5.4.1).
pub const FAPI_ALGS: [Algorithm; 3] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256];

/// Fetches a client's `jwks_uri`. The engine makes no HTTP calls itself; the server supplies
/// an implementation.
#[async_trait]
pub trait JwksFetcher: Send + Sync + 'static {
    async fn fetch(&self, uri: &str) -> Result<String, String>;
}

/// Fetched key sets by URI, with when they were fetched.
#[derive(Default)]
pub(crate) struct JwksCache {
    entries: dashmap::DashMap<String, (i64, Arc<JwkSet>)>,
}

/// A client's JWKS document: public keys only, no symmetric keys.
pub fn parse_jwks(doc: &str) -> Result<JwkSet, String> {
    let raw: serde_json::Value =
        serde_json::from_str(doc).map_err(|e| format!("jwks is not JSON: {e}"))?;
    let keys = raw
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("jwks must be an object with a keys array")?;
    if keys.is_empty() {
        return Err("jwks has no keys".into());
    }
    for k in keys {
        if crate::dpop::has_private_members(k) {
            return Err("jwks must hold public keys only".into());
        }
        if k.get("kty").and_then(|t| t.as_str()) == Some("oct") {
            return Err("jwks must not hold symmetric keys".into());
        }
    }
    serde_json::from_value(raw).map_err(|e| format!("jwks: {e}"))
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    exp: i64,
    jti: String,
    #[serde(default)]
    nbf: Option<i64>,
}

fn fail(why: &'static str) -> OAuthError {
    OAuthError::invalid_client(why)
}

/// The client an assertion names (`sub`), read before anything is verified so the right keys
/// can be found.
pub fn assertion_subject(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Sub {
        sub: String,
    }
    jsonwebtoken::dangerous::insecure_decode_claims::<Sub>(assertion)
        .ok()
        .map(|s| s.sub)
}

fn aud_contains(aud: &serde_json::Value, wanted: &[&str]) -> bool {
    match aud {
        serde_json::Value::String(s) => wanted.contains(&s.as_str()),
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str())
            .any(|s| wanted.contains(&s)),
        _ => false,
    }
}

/// Whether a JWK can verify `alg` (key type and curve agree).
pub(crate) fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters as P, EllipticCurve};
    match (&jwk.algorithm, alg) {
        (P::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (P::OctetKeyPair(p), Algorithm::EdDSA) => p.curve == EllipticCurve::Ed25519,
        (P::RSA(_), Algorithm::PS256 | Algorithm::RS256) => true,
        _ => false,
    }
}

fn pick<'a>(set: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid).filter(|k| key_fits(k, alg)),
        None => {
            let mut fitting = set.keys.iter().filter(|k| key_fits(k, alg));
            match (fitting.next(), fitting.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    }
}

impl Engine {
    /// RFC 7523 section 3: verifies `client_assertion` and spends its `jti`.
    pub(crate) async fn authenticate_by_assertion(
        &self,
        auth: &ClientAuth,
        assertion: &str,
    ) -> Result<Arc<Client>, OAuthError> {
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| fail("client_assertion is not a well-formed JWT"))?;
        let sub = assertion_subject(assertion)
            .ok_or_else(|| fail("client_assertion has no sub claim"))?;
        if !auth.client_id.is_empty() && auth.client_id != sub {
            return Err(fail("client_id does not match the client_assertion's sub"));
        }
        let unknown = || fail("client authentication failed: unknown client or bad assertion");
        let id = ClientId::parse(&sub).map_err(|_| unknown())?;
        let client = self.find_client(&id).await?.ok_or_else(unknown)?;
        let alg = header.alg;
        let key = match client.auth_method {
            TokenEndpointAuthMethod::PrivateKeyJwt => {
                let allowed: &[Algorithm] = if client.is_fapi() {
                    &FAPI_ALGS
                } else {
                    &ASYMMETRIC_ALGS
                };
                if !allowed.contains(&alg) {
                    return Err(fail(
                        "client_assertion is signed with an algorithm this client may not use",
                    ));
                }
                self.client_key(&client, header.kid.as_deref(), alg).await?
            }
            TokenEndpointAuthMethod::ClientSecretJwt => {
                if alg != Algorithm::HS256 {
                    return Err(fail("client_secret_jwt assertions must use HS256"));
                }
                let secret = client
                    .sealed_secret
                    .as_deref()
                    .and_then(|s| self.sealer.open_client_secret(client.id.as_str(), s))
                    .ok_or_else(unknown)?;
                DecodingKey::from_secret(&secret)
            }
            _ => {
                return Err(fail(
                    "this client is not registered for private_key_jwt or client_secret_jwt",
                ));
            }
        };
        let mut v = Validation::new(alg);
        // Time is checked against the engine's clock below, not the system's.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.set_required_spec_claims::<&str>(&[]);
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v)
            .map_err(|_| fail("client_assertion signature or claims are invalid"))?
            .claims;
        if claims.iss != claims.sub {
            return Err(fail(
                "client_assertion iss and sub must both be the client_id",
            ));
        }
        let mut audiences = vec![self.issuer()];
        if let Some(e) = auth.endpoint.as_deref() {
            audiences.push(e);
        }
        if !aud_contains(&claims.aud, &audiences) {
            return Err(fail(
                "client_assertion aud must be the issuer or this endpoint's URL",
            ));
        }
        let now = self.clock.now();
        if claims.exp <= now {
            return Err(fail("client_assertion has expired"));
        }
        if claims.exp > now + MAX_ASSERTION_LIFETIME {
            return Err(fail("client_assertion lives too long (at most 10 minutes)"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + 5) {
            return Err(fail("client_assertion is not valid yet"));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(fail("client_assertion needs a jti"));
        }
        let key = format!("assertion:{}:{}", client.id, claims.jti);
        if !self.store.use_once(&key, claims.exp, now).await? {
            return Err(fail("client_assertion was already used (jti replayed)"));
        }
        Ok(client)
    }

    /// The client key that verifies `alg` with `kid`: inline, cached, or (re)fetched.
    async fn client_key(
        &self,
        client: &Client,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OAuthError> {
        let no_key = || fail("no registered key of this client verifies the client_assertion");
        let to_key = |jwk: &Jwk| DecodingKey::from_jwk(jwk).map_err(|_| no_key());
        if let Some(doc) = &client.jwks {
            let set = parse_jwks(doc).map_err(|_| no_key())?;
            return pick(&set, kid, alg).ok_or_else(no_key).and_then(to_key);
        }
        let uri = client.jwks_uri.as_deref().ok_or_else(no_key)?;
        let now = self.clock.now();
        let cached = self.jwks_cache.entries.get(uri).map(|e| e.value().clone());
        if let Some((at, set)) = &cached
            && now - at < JWKS_TTL
        {
            if let Some(k) = pick(set, kid, alg) {
                return to_key(k);
            }
            if now - at < REFETCH_INTERVAL {
                return Err(no_key());
            }
        }
        let set = self.fetch_jwks(uri).await?;
        self.jwks_cache
            .entries
            .insert(uri.to_owned(), (now, set.clone()));
        pick(&set, kid, alg).ok_or_else(no_key).and_then(to_key)
    }

    async fn fetch_jwks(&self, uri: &str) -> Result<Arc<JwkSet>, OAuthError> {
        let fetcher = self.jwks_fetcher.get().ok_or_else(|| {
            tracing::error!("no JWKS fetcher configured");
            OAuthError::server_error()
        })?;
        let doc = fetcher.fetch(uri).await.map_err(|e| {
            tracing::warn!(jwks_uri = uri, error = %e, "could not fetch a client's jwks_uri");
            fail("the client's jwks_uri could not be fetched")
        })?;
        parse_jwks(&doc).map(Arc::new).map_err(|e| {
            tracing::warn!(jwks_uri = uri, error = %e, "a client's jwks_uri is not a JWKS");
            fail("the client's jwks_uri does not hold a usable JWKS")
        })
    }

    /// Supplies the HTTP client that fetches `jwks_uri`s (once, at start).
    pub fn set_jwks_fetcher(&self, fetcher: Arc<dyn JwksFetcher>) {
        let _ = self.jwks_fetcher.set(fetcher);
    }
}
