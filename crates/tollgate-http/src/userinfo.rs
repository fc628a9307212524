//! OIDC userinfo, generic over the dialect: the token comes from `Authorization: Bearer` (or,
//! on POST, a form body's `access_token`); the dialect shapes the body.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tollgate_core::{ErrorKind, OAuthError};

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::params::{self, BodyType, Params};
use crate::state::AppState;

/// An error with RFC 6750 section 3's `WWW-Authenticate: Bearer` challenge.
pub struct BearerError<D>(HttpError<D>);

impl<D> From<OAuthError> for BearerError<D> {
    fn from(e: OAuthError) -> Self {
        // RFC 9449 section 7.1: a resource refuses a bad proof with 401, like a bad token.
        if matches!(
            e.kind,
            ErrorKind::InvalidDpopProof | ErrorKind::UseDpopNonce
        ) {
            let style = crate::dialect::ErrorStyle {
                status: Some(axum::http::StatusCode::UNAUTHORIZED),
                json: false,
            };
            return Self(HttpError::new(e, style));
        }
        Self(e.into())
    }
}

impl<D: Dialect> IntoResponse for BearerError<D> {
    fn into_response(self) -> Response {
        let err = self.0.error.clone();
        let mut resp = self.0.into_response();
        // RFC 9449 section 7.1: DPoP failures challenge with the DPoP scheme.
        let scheme = match err.kind {
            ErrorKind::InvalidDpopProof | ErrorKind::UseDpopNonce => "DPoP",
            _ => "Bearer",
        };
        let challenge = match err.kind {
            ErrorKind::InvalidToken
            | ErrorKind::InsufficientScope
            | ErrorKind::InvalidRequest
            | ErrorKind::InvalidDpopProof
            | ErrorKind::UseDpopNonce => {
                format!(
                    "{scheme} realm=\"tollgate\", error=\"{}\", error_description=\"{}\"",
                    err.kind.code(),
                    challenge_text(&err.description)
                )
            }
            _ => format!("{scheme} realm=\"tollgate\""),
        };
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// A description as a quoted-string of a header value: quotes and backslashes become `'`, and
/// anything else that is not visible ASCII `?`, so the challenge is never dropped.
fn challenge_text(description: &str) -> String {
    description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect()
}

/// RFC 6750: the token from `Authorization: Bearer`, or a form body's `access_token`.
pub(crate) fn bearer(headers: &HeaderMap, form: Option<&Params>) -> Result<String, OAuthError> {
    presented(headers, form)?
        .map(|(token, _)| token)
        .ok_or_else(no_token)
}

fn no_token() -> OAuthError {
    OAuthError::new(ErrorKind::InvalidToken, "an access token is required")
}

/// The access token and whether it came as `Authorization: DPoP` (RFC 9449 section 7.1);
/// `None` when the request carries no authentication at all.
fn presented(
    headers: &HeaderMap,
    form: Option<&Params>,
) -> Result<Option<(String, bool)>, OAuthError> {
    let mut dpop = false;
    let header_token = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.split_once(' ') {
            Some((scheme, token))
                if (scheme.eq_ignore_ascii_case("bearer")
                    || scheme.eq_ignore_ascii_case("dpop"))
                    && !token.trim().is_empty() =>
            {
                dpop = scheme.eq_ignore_ascii_case("dpop");
                Some(token.trim().to_owned())
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "use Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)",
                ));
            }
        },
        Some(Err(_)) => {
            return Err(OAuthError::invalid_request(
                "malformed Authorization header",
            ));
        }
    };
    // An empty `access_token=` is no token, as an empty `Bearer` header is.
    let body_token = match form {
        Some(p) => p.one("access_token")?.filter(|t| !t.trim().is_empty()),
        None => None,
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("send the access token once")),
        (Some(t), None) => Ok(Some((t, dpop))),
        (None, Some(t)) => Ok(Some((t, false))),
        (None, None) => Ok(None),
    }
}

async fn answer<D: Dialect>(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    form: Option<&Params>,
) -> Response {
    let presented = match presented(headers, form) {
        Ok(Some(p)) => Ok(p),
        // RFC 6750 section 3.1: a request without any authentication gets a challenge
        // without an error code.
        Ok(None) => return without_authentication::<D>(),
        Err(e) => Err(e),
    };
    let result = async {
        let (token, dpop_scheme) = presented?;
        let proof = params::dpop_header(headers)?.map(|jwt| tollgate_core::dpop::DpopProof {
            jwt,
            method: method.to_owned(),
            url: state.endpoint_url(path),
        });
        state
            .engine
            .userinfo(&token, dpop_scheme, proof.as_ref())
            .await
    }
    .await;
    let nonce = matches!(&result, Err(e) if e.kind == ErrorKind::UseDpopNonce)
        || headers.contains_key("dpop");
    let resp = match result {
        Ok(info) => D::userinfo_response(&info, state.engine.issuer()),
        Err(e) => BearerError::<D>::from(e).into_response(),
    };
    state.with_dpop_nonce(resp, nonce)
}

/// 401 with a bare `WWW-Authenticate: Bearer realm="tollgate"` challenge.
fn without_authentication<D: Dialect>() -> Response {
    let mut resp = BearerError::<D>::from(no_token()).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tollgate\""),
    );
    resp
}

pub async fn get<D: Dialect>(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    answer::<D>(&state, &headers, "GET", uri.path(), None).await
}

pub async fn post<D: Dialect>(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, BearerError<D>> {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let body = crate::extract::read_bytes(req, &())
        .await
        .map_err(|r| BearerError(HttpError::from(r)))?;
    let form = match params::body_type(&headers) {
        BodyType::Form => Some(Params::parse(&body)),
        BodyType::Missing if body.is_empty() => None,
        _ => {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .into());
        }
    };
    Ok(answer::<D>(&state, &headers, "POST", &path, form.as_ref()).await)
}

#[cfg(test)]
mod tests {
    use axum::http::header;
    use axum::response::IntoResponse;
    use tollgate_core::{ErrorKind, OAuthError};

    use super::{BearerError, bearer};
    use crate::dialects::Standard;
    use crate::params::Params;

    /// Found by the `authorization_header` fuzz target: `access_token=` was read as the
    /// token `""`.
    #[test]
    fn an_empty_form_token_is_no_token() {
        let none = axum::http::HeaderMap::new();
        for body in [&b"access_token="[..], &b"access_token=+"[..]] {
            let err = bearer(&none, Some(&Params::parse(body))).err();
            assert_eq!(err.map(|e| e.kind), Some(ErrorKind::InvalidToken));
        }
        let ok = bearer(&none, Some(&Params::parse(b"access_token=abc")));
        assert_eq!(ok.ok().as_deref(), Some("abc"));
    }

    /// Found by the `dialect_render` fuzz target: a description that is not visible ASCII
    /// dropped the whole `WWW-Authenticate` challenge.
    #[test]
    fn bearer_challenge_survives_any_description() {
        let err = OAuthError::new(ErrorKind::InvalidToken, "bad \"tok\u{1}en\" é\n");
        let resp = BearerError::<Standard>::from(err).into_response();
        let challenge = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            challenge,
            Some(
                "Bearer realm=\"tollgate\", error=\"invalid_token\", \
                 error_description=\"bad 'tok?en' ??\""
            )
        );
    }
}
