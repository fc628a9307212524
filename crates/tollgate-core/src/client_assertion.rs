//! RFC 7523 client authentication: `private_key_jwt` (the client's registered keys, inline or
//! by `jwks_uri`) and `client_secret_jwt` (HS256 over the client secret). The assertion's
//! audience, expiry and single-use `jti` are enforced; the `jti` is spent in the store, so two
//! nodes refuse the same assertion.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::engine::{ClientAuth, Engine};
use crate::error::OAuthError;
use crate::fetch::{FetchPolicy, OutboundFetcher};
use crate::jose::{client_algs, parse_jwks, pick_key, signature_only};
use crate::keys::Bound;
use crate::model::{Client, TokenEndpointAuthMethod};

// engine.rs names the cache and the fetcher here; they live in jwks.rs and fetch.rs.

/// `client_assertion_type` of RFC 7523 section 2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: its `jti` is remembered until `exp`.
const MAX_ASSERTION_LIFETIME: i64 = 600;

/// Whatever went wrong with a `jwks_uri` (refused, unreachable, not a JWKS, no fitting key),
/// the client hears this: the server must not become a probe of what lies behind URLs.
pub const JWKS_URI_FAILED: &str =
    "the client's jwks_uri did not provide a key that verifies the client_assertion";

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

fn unknown() -> OAuthError {
    fail("client authentication failed: unknown client or bad assertion")
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

/// The audience rule (draft-ietf-oauth-rfc7523bis, the 2025 audience-injection fix): a FAPI
/// 2.0 client's assertion names the issuer and nothing else (FAPI 2.0 Security Profile section
/// 5.3.2.1); another client's names the issuer or this endpoint's URL, as a string or as an
/// array holding nothing but those. An array that adds any other value could have been made
/// for another server, which could replay it here.
fn audience_ok(aud: &serde_json::Value, issuer: &str, endpoint: Option<&str>, fapi: bool) -> bool {
    let allowed = |s: &str| s == issuer || (!fapi && endpoint == Some(s));
    match aud {
        serde_json::Value::String(s) => allowed(s),
        serde_json::Value::Array(list) => {
            !list.is_empty()
                && (!fapi || list.len() == 1)
                && list.iter().all(|v| v.as_str().is_some_and(allowed))
        }
        _ => false,
    }
}

/// Where an assertion is presented: the issuer, the endpoint's URL, and whether the client is
/// on the FAPI 2.0 profile.
struct Audience<'a> {
    issuer: &'a str,
    endpoint: Option<&'a str>,
    fapi: bool,
}

/// The claims checks of RFC 7523 section 3 at `now`.
fn check_claims(claims: &AssertionClaims, at: &Audience<'_>, now: i64) -> Result<(), OAuthError> {
    if claims.iss != claims.sub {
        return Err(fail(
            "client_assertion iss and sub must both be the client_id",
        ));
    }
    if !audience_ok(&claims.aud, at.issuer, at.endpoint, at.fapi) {
        return Err(fail(if at.fapi {
            "client_assertion aud must be the issuer alone (FAPI 2.0)"
        } else {
            "client_assertion aud must be the issuer or this endpoint's URL, and nothing else"
        }));
    }
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
    Ok(())
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
        let client = self.client_named(&sub).await?;
        let key = self
            .assertion_key(&client, header.kid.as_deref(), header.alg)
            .await?;
        let claims =
            jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &signature_only(header.alg))
                .map_err(|_| fail("client_assertion signature or claims are invalid"))?
                .claims;
        let at = Audience {
            issuer: self.issuer(),
            endpoint: auth.endpoint.as_deref(),
            fapi: client.is_fapi(),
        };
        let now = self.clock.now();
        check_claims(&claims, &at, now)?;
        let key = format!("assertion:{}:{}", client.id, claims.jti);
        if !self.store.use_once(&key, claims.exp, now).await? {
            return Err(fail("client_assertion was already used (jti replayed)"));
        }
        Ok(client)
    }

    /// The key that verifies this client's assertion signed with `alg`, if it may use `alg`.
    async fn assertion_key(
        &self,
        client: &Client,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OAuthError> {
        match client.auth_method {
            TokenEndpointAuthMethod::PrivateKeyJwt => {
                if !client_algs(client.is_fapi()).contains(&alg) {
                    return Err(fail(
                        "client_assertion is signed with an algorithm this client may not use",
                    ));
                }
                self.client_key(client, kid, alg).await
            }
            TokenEndpointAuthMethod::ClientSecretJwt => {
                if alg != Algorithm::HS256 {
                    return Err(fail("client_secret_jwt assertions must use HS256"));
                }
                let secret = client
                    .sealed_secret
                    .as_deref()
                    .and_then(|s| {
                        self.sealer
                            .open_bound(Bound::ClientSecret(client.id.as_str()), s)
                    })
                    .ok_or_else(unknown)?;
                Ok(DecodingKey::from_secret(&secret))
            }
            _ => Err(fail(
                "this client is not registered for private_key_jwt or client_secret_jwt",
            )),
        }
    }

    /// The client key that verifies `alg` with `kid`: inline, or from its `jwks_uri`.
    pub(crate) async fn client_key(
        &self,
        client: &Client,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OAuthError> {
        let no_key = || fail("no registered key of this client verifies the client_assertion");
        if let Some(doc) = &client.jwks {
            let set = parse_jwks(doc).map_err(|_| no_key())?;
            let to_key = |jwk: &Jwk| DecodingKey::from_jwk(jwk).map_err(|_| no_key());
            return pick_key(&set, kid, alg).ok_or_else(no_key).and_then(to_key);
        }
        let uri = client.jwks_uri.as_deref().ok_or_else(no_key)?;
        let fetcher = self
            .outbound
            .get()
            .map(|f| f.as_ref() as &dyn OutboundFetcher);
        self.jwks_cache
            .key(fetcher, uri, kid, alg, self.clock.now())
            .await
            .ok_or_else(|| fail(JWKS_URI_FAILED))
    }

    /// Supplies the fetcher for `jwks_uri`s and other outbound requests (once, at start).
    pub fn set_outbound_fetcher(&self, fetcher: Arc<dyn OutboundFetcher>) {
        let _ = self.outbound.set(fetcher);
    }

    /// The outbound policy in force: the fetcher's, else the strict default.
    pub fn outbound_policy(&self) -> FetchPolicy {
        self.outbound
            .get()
            .map(|f| f.policy().clone())
            .unwrap_or_default()
    }
}
