//! OpenID Connect RP-Initiated Logout 1.0: checking an end-session request, and ending a
//! browser session everywhere (the store is the source of truth for sessions), with its
//! refresh families revoked and its clients told by back-channel logout.
//!
//! Refresh families: a logout revokes every family the session started, except those granted
//! `offline_access`, which by definition outlive the browser session.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;

use crate::backchannel::PendingLogout;
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::ids::ClientId;
use crate::model::Client;
use crate::secret::SecretDigest;
use crate::session::SignedIn;

/// The end-session endpoint's parameters (`ui_locales` and anything else are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// A checked end-session request.
#[derive(Debug, Clone)]
pub struct EndSessionRequest {
    pub params: EndSessionParams,
    pub client: Option<Arc<Client>>,
    /// The `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    /// Where the browser goes afterwards: the registered URI with `state`, if one was asked for.
    pub redirect: Option<String>,
}

impl EndSessionRequest {
    /// OIDC RP-Initiated Logout section 2: without a hint naming the signed-in person, the
    /// person is asked first (a third-party page cannot sign them out silently).
    pub fn needs_confirmation(&self, who: Option<&SignedIn>) -> bool {
        match (who, &self.hint_sub) {
            (None, _) => false,
            (Some(w), Some(sub)) => w.user.sid.as_str() != sub,
            (Some(_), None) => true,
        }
    }
}

/// Why an end-session request is refused: shown on an error page, never redirected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EndSessionError(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, EndSessionError> {
    Err(EndSessionError(msg.into()))
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: Aud,
    #[serde(default)]
    azp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

impl Aud {
    fn contains(&self, id: &str) -> bool {
        match self {
            Aud::One(a) => a == id,
            Aud::Many(v) => v.iter().any(|a| a == id),
        }
    }

    fn single(&self) -> Option<&str> {
        match self {
            Aud::One(a) => Some(a),
            Aud::Many(v) if v.len() == 1 => v.first().map(String::as_str),
            Aud::Many(_) => None,
        }
    }
}

/// What ending a session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndedSession {
    pub sid: String,
    /// Refresh families revoked.
    pub revoked_families: usize,
    /// Back-channel deliveries queued.
    pub notified: usize,
}

impl Engine {
    /// An id token this server signed (any published key; expired ones accepted, as logout
    /// allows), issued by this issuer.
    fn verify_id_token_hint(&self, hint: &str) -> Result<HintClaims, EndSessionError> {
        let invalid =
            || EndSessionError("the id_token_hint is not an ID token from this server".into());
        let header = jsonwebtoken::decode_header(hint).map_err(|_| invalid())?;
        if header.typ.as_deref().is_some_and(|t| t != "JWT") {
            return Err(invalid());
        }
        let keys = self.key_set();
        let key = header
            .kid
            .as_deref()
            .and_then(|k| keys.key(k))
            .ok_or_else(invalid)?;
        if header.alg != key.jwt_algorithm() {
            return Err(invalid());
        }
        let decoding = key.decoding_key().ok_or_else(invalid)?;
        let v = crate::jose::signature_only(key.jwt_algorithm());
        let data = jsonwebtoken::decode::<HintClaims>(hint, decoding, &v).map_err(|_| invalid())?;
        if data.claims.iss != self.config.issuer {
            return Err(invalid());
        }
        Ok(data.claims)
    }

    /// Checks an end-session request: the hint, the client, and that a
    /// `post_logout_redirect_uri` is exactly one the client registered.
    pub async fn check_end_session(
        &self,
        params: EndSessionParams,
    ) -> Result<EndSessionRequest, EndSessionError> {
        let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(h) if h.len() > 16 * 1024 => return refuse("the id_token_hint is too long"),
            Some(h) => Some(self.verify_id_token_hint(h)?),
            None => None,
        };
        let client_id = match (params.client_id.as_deref().filter(|c| !c.is_empty()), &hint) {
            (Some(c), Some(h)) if !h.aud.contains(c) => {
                return refuse("client_id is not an audience of the id_token_hint");
            }
            (Some(c), _) => Some(c.to_owned()),
            (None, Some(h)) => h.aud.single().or(h.azp.as_deref()).map(str::to_owned),
            (None, None) => None,
        };
        let client = match client_id {
            Some(id) => {
                let found = match ClientId::parse(&id) {
                    Ok(id) => self.find_client(&id).await.map_err(|_| {
                        EndSessionError("the client could not be looked up; try again".into())
                    })?,
                    Err(_) => None,
                };
                Some(found.ok_or_else(|| EndSessionError("unknown client_id".into()))?)
            }
            None => None,
        };
        let redirect = match params
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => {
                let Some(c) = &client else {
                    return refuse(
                        "post_logout_redirect_uri needs client_id or id_token_hint to say which client it belongs to",
                    );
                };
                if !c.logout.post_logout_redirect_uris.iter().any(|r| r == uri) {
                    return refuse("post_logout_redirect_uri is not registered for this client");
                }
                Some(with_state(uri, params.state.as_deref()))
            }
        };
        Ok(EndSessionRequest {
            hint_sub: hint.map(|h| h.sub),
            params,
            client,
            redirect,
        })
    }

    /// Ends the browser session behind a cookie value: deleted from the store (so no node
    /// accepts it again), its refresh families without `offline_access` revoked, and each
    /// client it signed in to that has a back-channel logout URI queued for a logout token.
    pub async fn logout(&self, cookie: &str) -> Result<Option<EndedSession>, OAuthError> {
        self.end_session_by_digest(&SecretDigest::of(cookie)).await
    }

    /// [`Engine::logout`] for a session named by its stored digest (the account page).
    pub async fn end_session_by_digest(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<EndedSession>, OAuthError> {
        let Some(session) = self.store.session(digest).await? else {
            return Ok(None);
        };
        self.store.delete_session(digest).await?;
        let sid = session.sid();
        let now = self.clock.now();
        let mut ended = EndedSession {
            sid: sid.clone(),
            ..EndedSession::default()
        };
        let mut told = HashSet::new();
        for link in self.store.session_clients(&sid).await? {
            if let Some(f) = &link.family_id
                && let Some(family) = self.store.refresh_family(f).await?
                && family.revoked_at.is_none()
                && !family.scopes.iter().any(|s| s == "offline_access")
                && self.store.revoke_refresh_family(f, now).await?
            {
                ended.revoked_families += 1;
            }
            if !told.insert(link.client_id.clone()) {
                continue;
            }
            let client = self.find_client(&link.client_id).await?;
            if let Some(uri) = client.and_then(|c| c.logout.backchannel_logout_uri.clone()) {
                self.logouts.push(PendingLogout {
                    client_id: link.client_id.clone(),
                    uri,
                    sub: session.user_sid.as_str().to_owned(),
                    sid: sid.clone(),
                    failures: 0,
                    due: now,
                });
                ended.notified += 1;
            }
        }
        tracing::info!(
            revoked_families = ended.revoked_families,
            back_channel = ended.notified,
            "browser session ended"
        );
        Ok(Some(ended))
    }
}

/// The registered URI with `state` added to its query.
fn with_state(uri: &str, state: Option<&str>) -> String {
    let Some(state) = state.filter(|s| !s.is_empty()) else {
        return uri.to_owned();
    };
    let pair = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", state)
        .finish();
    match uri.split_once('?') {
        Some((_, q)) if !q.is_empty() => format!("{uri}&{pair}"),
        Some(_) => format!("{uri}{pair}"),
        None => format!("{uri}?{pair}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_state;

    #[test]
    fn state_joins_the_registered_query() {
        assert_eq!(
            with_state("https://a.example/bye", None),
            "https://a.example/bye"
        );
        assert_eq!(
            with_state("https://a.example/bye", Some("x y")),
            "https://a.example/bye?state=x+y"
        );
        assert_eq!(
            with_state("https://a.example/bye?k=1", Some("s")),
            "https://a.example/bye?k=1&state=s"
        );
    }
}
