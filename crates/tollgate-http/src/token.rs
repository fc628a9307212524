//! The token endpoint (RFC 6749 section 3.2), generic over the dialect.

use std::net::SocketAddr;
use std::sync::{OnceLock, RwLock};

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use metrics::Counter;
use tollgate_core::OAuthError;
use tollgate_core::token::Issued;

use crate::dialect::Dialect;
use crate::error::HttpError;
use crate::extract::DialectRequest;
use crate::ops::LoggedClient;
use crate::state::AppState;

pub async fn token<D: Dialect>(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(logged): Extension<LoggedClient>,
    DialectRequest(input, ..): DialectRequest<D>,
) -> Result<Response, HttpError<D>> {
    let style = input.style();
    let fail = |e| HttpError::new(e, style);
    let mut req = D::token_request(&input).map_err(fail)?;
    state.bind_request(&mut req.client, &input);
    req.dpop = state.dpop_proof("POST", &input);
    let grant = req.grant_type.clone().unwrap_or_default();
    let result = state.token(peer, req, &logged).await;
    record::<D>(&grant, &result);
    let dpop_failed = matches!(&result, Err(e) if e.kind == tollgate_core::ErrorKind::UseDpopNonce);
    let resp = match result {
        Ok(issued) => D::token_response(&issued),
        Err(e) => axum::response::IntoResponse::into_response(fail(e)),
    };
    Ok(state.with_dpop_nonce(resp, input.dpop.is_some() || dpop_failed))
}

/// Tokens issued by grant, dialect and format; device polls by outcome.
fn record<D: Dialect>(grant: &str, result: &Result<Issued, OAuthError>) {
    let device = grant == "urn:ietf:params:oauth:grant-type:device_code";
    match result {
        Ok(issued) => {
            // JWTs have two dots; opaque tokens are base64url without any.
            let format = if issued.access_token.contains('.') {
                "jwt"
            } else {
                "opaque"
            };
            let grant = grant.rsplit(':').next().unwrap_or(grant);
            issued_counter(grant, D::NAME, format).increment(1);
            if device {
                metrics::counter!("tollgate_device_polls_total", "outcome" => "issued")
                    .increment(1);
            }
        }
        Err(e) if device => {
            metrics::counter!("tollgate_device_polls_total", "outcome" => e.kind.code())
                .increment(1);
        }
        Err(_) => {}
    }
}

/// `tollgate_tokens_issued_total`'s handle by grant, dialect and format, registered once: a
/// token then builds no label strings and makes no registry lookup. Only grants that issued a
/// token get here, so the keys are the server's own grant types.
type IssuedKey = (String, &'static str, &'static str);
type IssuedCounters = Vec<(IssuedKey, Counter)>;
static ISSUED: OnceLock<RwLock<IssuedCounters>> = OnceLock::new();

fn issued_counter(grant: &str, dialect: &'static str, format: &'static str) -> Counter {
    let cache = ISSUED.get_or_init(RwLock::default);
    let same = |((g, d, f), _): &&(IssuedKey, Counter)| g == grant && *d == dialect && *f == format;
    let found = cache
        .read()
        .ok()
        .and_then(|v| v.iter().find(same).map(|(_, c)| c.clone()));
    if let Some(counter) = found {
        return counter;
    }
    let counter = metrics::counter!(
        "tollgate_tokens_issued_total",
        "grant_type" => grant.to_owned(),
        "dialect" => dialect,
        "format" => format
    );
    if let Ok(mut v) = cache.write()
        && !v.iter().any(|entry| same(&entry))
    {
        v.push(((grant.to_owned(), dialect, format), counter.clone()));
    }
    counter
}
