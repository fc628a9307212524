//! RFC 9101 JWT-Secured Authorization Requests: a `request` parameter carries the authorization
//! request as a JWT signed with one of the client's registered keys (inline `jwks`, or its
//! `jwks_uri` through the outbound fetcher), by value at the authorization endpoint or pushed
//! through PAR. Unsigned (`alg: none`) objects are refused; the object's `client_id` must be
//! the client's, its `aud` the issuer, and its `exp` in the future. Its parameters take
//! precedence over the ones beside it (OIDC Core 6.3.3).

use serde_json::Value;

use crate::authorize::{AuthorizeError, AuthorizeParams};
use crate::engine::Engine;
use crate::error::{ErrorKind, OAuthError};
use crate::jose::{client_algs, signature_only};
use crate::model::Client;

/// The algorithms a request object may be signed with (discovery's
/// `request_object_signing_alg_values_supported`; FAPI clients are held to fewer).
pub const REQUEST_OBJECT_ALGS: [&str; 4] = ["ES256", "EdDSA", "PS256", "RS256"];

/// The longest a request object may live.
const MAX_LIFETIME: i64 = 3600;

fn invalid(why: &'static str) -> OAuthError {
    OAuthError::new(ErrorKind::InvalidRequestObject, why)
}

impl Engine {
    /// Verifies `jwt` as `client`'s request object and answers the parameters it carries over
    /// `outer` (the object's win), marked as coming from a request object.
    pub(crate) async fn open_request_object(
        &self,
        client: &Client,
        outer: &AuthorizeParams,
        jwt: &str,
    ) -> Result<AuthorizeParams, OAuthError> {
        let head = crate::jose::header_json(jwt)
            .ok_or_else(|| invalid("the request object is not a well-formed JWT"))?;
        if head
            .get("alg")
            .and_then(Value::as_str)
            .is_some_and(|a| a.eq_ignore_ascii_case("none"))
        {
            return Err(invalid("unsigned request objects (alg none) are refused"));
        }
        let header = jsonwebtoken::decode_header(jwt)
            .map_err(|_| invalid("the request object's header is not understood"))?;
        if !client_algs(client.is_fapi()).contains(&header.alg) {
            return Err(invalid(
                "the request object is signed with an algorithm this client may not use",
            ));
        }
        let key = self
            .client_key(client, header.kid.as_deref(), header.alg)
            .await
            .map_err(|_| invalid("no registered key of this client verifies the request object"))?;
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &signature_only(header.alg))
            .map_err(|_| invalid("the request object's signature is invalid"))?
            .claims;
        let claims = claims
            .as_object()
            .ok_or_else(|| invalid("the request object's claims are not an object"))?;
        self.check_object_claims(client, claims)?;
        merge(outer, claims)
    }

    /// `client_id`, `iss`, `aud`, `exp` and `nbf` (RFC 9101 sections 4 and 6.3).
    fn check_object_claims(
        &self,
        client: &Client,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<(), OAuthError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("client_id") != Some(client.id.as_str()) {
            return Err(invalid(
                "the request object's client_id must be the client's",
            ));
        }
        if claims.contains_key("iss") && text("iss") != Some(client.id.as_str()) {
            return Err(invalid("the request object's iss must be the client_id"));
        }
        let issuer = self.issuer();
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == issuer,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(issuer)),
            _ => false,
        };
        if !aud_ok {
            return Err(invalid("the request object's aud must be the issuer"));
        }
        let now = self.clock.now();
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid("the request object needs an exp"))?;
        if exp <= now {
            return Err(invalid("the request object has expired"));
        }
        if exp > now + MAX_LIFETIME {
            return Err(invalid(
                "the request object lives too long (at most an hour)",
            ));
        }
        if claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now + 5)
        {
            return Err(invalid("the request object is not valid yet"));
        }
        Ok(())
    }
}

/// The object's authorization parameters over `outer`'s.
fn merge(
    outer: &AuthorizeParams,
    claims: &serde_json::Map<String, Value>,
) -> Result<AuthorizeParams, OAuthError> {
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(invalid(
            "a request object cannot hold request or request_uri",
        ));
    }
    let text = |name: &str| -> Result<Option<String>, OAuthError> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // OIDC Core: max_age is a number in a request object.
            Some(Value::Number(n)) if name == "max_age" => Ok(Some(n.to_string())),
            Some(_) => Err(invalid("a request object parameter has the wrong type")),
        }
    };
    let mut p = outer.clone();
    // Each parameter the object holds replaces the outer one; the claim is named as the field.
    macro_rules! take {
        ($($field:ident),+) => {
            $(
                if let Some(v) = text(stringify!($field))? {
                    p.$field = Some(v);
                }
            )+
        };
    }
    take! {
        response_type, client_id, redirect_uri, scope, state, nonce, code_challenge,
        code_challenge_method, prompt, max_age, response_mode, dpop_jkt
    }
    match claims.get("resource") {
        None => {}
        Some(Value::String(r)) => p.resource = vec![r.clone()],
        Some(Value::Array(list)) => {
            p.resource = list
                .iter()
                .map(|r| r.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("resource must be a string or an array of strings"))?;
        }
        Some(_) => return Err(invalid("resource must be a string or an array of strings")),
    }
    p.request = None;
    p.from_request_object = true;
    Ok(p)
}

impl Engine {
    /// The front channel's parameters: a `request` object opened, a `request_uri` this
    /// server did not issue refused (`request_uri_not_supported`).
    pub(crate) async fn front_channel_params(
        &self,
        client: Option<&std::sync::Arc<Client>>,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeParams, AuthorizeError> {
        if let Some(uri) = params.request_uri.as_deref()
            && !uri.starts_with(crate::par::REQUEST_URI_PREFIX)
        {
            let err = OAuthError::new(
                ErrorKind::RequestUriNotSupported,
                "only request_uris from the pushed authorization request endpoint are accepted",
            );
            return Err(self.refuse(client, params, &err));
        }
        let Some(jwt) = params.request.as_deref() else {
            return Ok(params.clone());
        };
        if params.request_uri.is_some() {
            let err = OAuthError::invalid_request("send request or request_uri, not both");
            return Err(self.refuse(client, params, &err));
        }
        let Some(client) = client else {
            return Err(AuthorizeError::Page(
                "The application that sent you here is not registered.".into(),
            ));
        };
        self.open_request_object(client, params, jwt)
            .await
            .map_err(|e| self.refuse(Some(client), params, &e))
    }

    /// An error before the request's own parameters can be trusted: back to the redirect URI
    /// beside the object when it is registered for the client, else an error page.
    fn refuse(
        &self,
        client: Option<&std::sync::Arc<Client>>,
        outer: &AuthorizeParams,
        err: &OAuthError,
    ) -> AuthorizeError {
        let registered =
            client.and_then(
                |c| match outer.redirect_uri.as_deref().filter(|u| !u.is_empty()) {
                    Some(uri) => c
                        .redirect_uris
                        .iter()
                        .any(|r| crate::authorize::redirect_uri_matches(r, uri))
                        .then(|| uri.to_owned()),
                    None => match c.redirect_uris.as_slice() {
                        [only] => Some(only.clone()),
                        _ => None,
                    },
                },
            );
        let Some(uri) = registered else {
            return AuthorizeError::Page(format!(
                "The authorization request was refused: {}.",
                err.description
            ));
        };
        let mut params = vec![
            ("error", err.kind.code()),
            ("error_description", err.description.as_ref()),
        ];
        if let Some(s) = outer.state.as_deref().filter(|s| !s.is_empty()) {
            params.push(("state", s));
        }
        params.push(("iss", self.issuer()));
        let mode = crate::oidc_params::response_mode(outer).unwrap_or_default();
        AuthorizeError::Redirect(mode.deliver(&uri, &params))
    }
}

/// RFC 9101 section 10.5: a client that must sign its requests sent a plain one.
pub(crate) fn unsigned_refused() -> OAuthError {
    OAuthError::invalid_request(
        "this client must send its authorization request as a signed request object (RFC 9101)",
    )
}
