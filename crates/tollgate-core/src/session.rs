//! Browser sessions, login, consent and code issuance: what the pages need from the engine.

use std::sync::Arc;

use crate::authorize::{self, AuthorizeError, AuthorizeParams, ValidAuthorization};
use crate::engine::Engine;
use crate::error::OAuthError;
use crate::metadata_document::Resolved;
use crate::model::{Authn, AuthorizationCode, BrowserSession, Client, User};
use crate::password;
use crate::secret::{Secret, SecretDigest};

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: BrowserSession,
    pub user: User,
}

/// Where a correct password leads.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the session's cookie value and the session.
    Done(Secret, SignedIn),
    /// The user's policy asks for a second factor first; `enrol` when none is set up yet.
    SecondFactor { user: User, enrol: bool },
}

impl SignedIn {
    /// What this session's sign-in proved.
    pub fn authn(&self) -> Authn {
        Authn {
            amr: self.session.amr.clone(),
        }
    }
}

/// Login failed; deliberately says nothing about which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("wrong email or password")]
pub struct LoginFailed;

impl Engine {
    pub async fn validate_authorization(
        &self,
        params: &AuthorizeParams,
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let (client, document) = self.authorizing_client(params.client_id.as_deref()).await?;
        let rewritten;
        let params = match &document {
            Some(resolved) => {
                rewritten = Self::document_params(resolved, params)
                    .map_err(|m| AuthorizeError::Page(m.to_owned()))?;
                &rewritten
            }
            None => params,
        };
        let params = &self.front_channel_params(client.as_ref(), params).await?;
        if params.request_uri.is_some() {
            let mut valid = self.pushed_authorization(params).await?;
            valid.document = document.map(|r| r.document);
            return Ok(valid);
        }
        let mut valid = authorize::check(
            params,
            |id| client.clone().filter(|c| &c.id == id),
            |c, r| self.may_name_resource(c, r),
            self.issuer(),
        )?;
        valid.document = document.map(|r| r.document);
        self.check_request_form(&valid, params)?;
        Ok(valid)
    }

    /// The client `client_id` names, if any, with its metadata document when the id is the
    /// document's URL.
    async fn authorizing_client(
        &self,
        client_id: Option<&str>,
    ) -> Result<(Option<Arc<Client>>, Option<Resolved>), AuthorizeError> {
        match client_id {
            Some(url) if self.is_document_client(url) => {
                // Never a redirect: nothing about this client is verified yet.
                let resolved = self.document_client(url).await.map_err(|_| {
                    AuthorizeError::Page(
                        "The application's client metadata document could not be used.".to_owned(),
                    )
                })?;
                Ok((Some(resolved.client.clone()), Some(resolved)))
            }
            // Read a client the directory has not seen yet through to the store first.
            Some(raw) => match crate::ids::ClientId::parse(raw) {
                Ok(id) => Ok((self.find_client(&id).await.ok().flatten(), None)),
                Err(_) => Ok((None, None)),
            },
            None => Ok((None, None)),
        }
    }

    /// The form the client registered its requests must take: a signed request object, or a
    /// pushed request.
    fn check_request_form(
        &self,
        valid: &ValidAuthorization,
        params: &AuthorizeParams,
    ) -> Result<(), AuthorizeError> {
        let err = if valid.client.requires_signed_request_object() && !params.from_request_object {
            crate::request_object::unsigned_refused()
        } else if valid.client.requires_par() {
            OAuthError::invalid_request(
                "this client must use a pushed authorization request (RFC 9126)",
            )
        } else {
            return Ok(());
        };
        Err(AuthorizeError::Redirect(
            valid.error_redirect(self.issuer(), &err),
        ))
    }

    /// Checks a password off the async runtime; unknown emails cost the same time.
    pub async fn check_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<User>, OAuthError> {
        let email = email.trim().to_lowercase();
        let user = if email.is_empty() || email.len() > 320 {
            None
        } else {
            self.store.user_by_email(&email).await?
        };
        let hash = user.as_ref().map_or_else(
            || password::dummy_hash().to_owned(),
            |u| u.password_hash.clone(),
        );
        // Argon2 costs memory and a core: bound how many run at once, and turn the rest away
        // rather than queue them (an unauthenticated flood must not grow the blocking pool).
        let Ok(slot) = self.password_slots.clone().try_acquire_owned() else {
            return Err(OAuthError::new(
                crate::error::ErrorKind::TooManyRequests {
                    until: self.clock.now() + 1,
                    retry_after: 1,
                },
                "too many sign-ins are being checked right now; try again in a moment",
            ));
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            password::verify(&hash, &password)
        })
        .await
        .map_err(|_| OAuthError::server_error())?;
        Ok(user.filter(|_| ok))
    }

    /// Verifies credentials; opens a session when the password is all the user's policy
    /// asks for, or says a second factor (or its setup) comes first.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Result<SignIn, LoginFailed>, OAuthError> {
        let Some(user) = self.check_password(email, password).await? else {
            return Ok(Err(LoginFailed));
        };
        let settings = self.store.sign_in_settings(&user.sid).await?;
        if settings.second_factor_due() {
            return Ok(Ok(SignIn::SecondFactor {
                enrol: !settings.has_second_factor(),
                user,
            }));
        }
        let (secret, who) = self.open_session(user, Authn::password()).await?;
        Ok(Ok(SignIn::Done(secret, who)))
    }

    /// Opens a browser session for a completed sign-in; returns the cookie value.
    pub async fn open_session(
        &self,
        user: User,
        authn: Authn,
    ) -> Result<(Secret, SignedIn), OAuthError> {
        let now = self.clock.now();
        let secret = Secret::generate(self.rng.as_ref())?;
        let session = BrowserSession {
            digest: secret.digest(),
            user_sid: user.sid.clone(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + i64::from(self.config.session_lifetime_secs),
            amr: authn.amr,
        };
        self.store.insert_session(&session).await?;
        Ok((secret, SignedIn { session, user }))
    }

    /// The session behind a cookie value, if it is still alive (idle and absolute limits).
    pub async fn session(&self, cookie: &str) -> Result<Option<SignedIn>, OAuthError> {
        let digest = SecretDigest::of(cookie);
        let Some(session) = self.store.session(&digest).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if session.expires_at <= now
            || session.last_seen_at + i64::from(self.config.session_idle_secs) <= now
        {
            self.store.delete_session(&digest).await?;
            return Ok(None);
        }
        // Record activity at most once a minute: the idle limit has minute precision anyway.
        if now - session.last_seen_at >= 60 {
            self.store.touch_session(&digest, now).await?;
        }
        let Some(user) = self.store.user(&session.user_sid).await? else {
            return Ok(None);
        };
        Ok(Some(SignedIn { session, user }))
    }

    /// True when the user has not yet agreed to every requested scope for this client.
    pub async fn needs_consent(
        &self,
        user: &User,
        req: &ValidAuthorization,
    ) -> Result<bool, OAuthError> {
        if req.prompt.consent {
            return Ok(true);
        }
        let granted = self
            .store
            .consent(&user.sid, &req.client.id)
            .await?
            .unwrap_or_default();
        Ok(!req.scopes.iter().all(|s| granted.contains(s)))
    }

    pub async fn remember_consent(
        &self,
        user: &User,
        req: &ValidAuthorization,
    ) -> Result<(), OAuthError> {
        let mut scopes = self
            .store
            .consent(&user.sid, &req.client.id)
            .await?
            .unwrap_or_default();
        for s in &req.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        Ok(self
            .store
            .put_consent(&user.sid, &req.client.id, &scopes, self.clock.now())
            .await?)
    }

    /// Issues a code and returns the URL to send the browser to.
    pub async fn issue_code(
        &self,
        req: &ValidAuthorization,
        who: &SignedIn,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        if let Some(pushed) = &req.pushed
            && !self.store.use_pushed_request(pushed, now).await?
        {
            return Err(OAuthError::invalid_request(
                "the request_uri was already used",
            ));
        }
        // FAPI 2.0 section 5.3.2.1: codes live at most 60 seconds.
        let ttl = if req.client.is_fapi() {
            self.config.code_ttl.min(60)
        } else {
            self.config.code_ttl
        };
        let code = Secret::generate(self.rng.as_ref())?;
        let record = AuthorizationCode {
            digest: code.digest(),
            client_id: req.client.id.clone(),
            user_sid: who.user.sid.clone(),
            redirect_uri: req.redirect_uri_given.then(|| req.redirect_uri.clone()),
            scopes: req.scopes.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: who.session.auth_time,
            created_at: now,
            expires_at: now + i64::from(ttl),
            used_at: None,
            family_id: None,
            access_jti: None,
            access_expires_at: None,
            resources: req.resources.clone(),
            dpop_jkt: req.dpop_jkt.clone(),
        };
        self.store.insert_code(&record).await?;
        // How the user signed in and from which browser session: `amr`/`acr` and `sid` in the
        // id token, and the session's record of the clients it signed in to (logout).
        let sign_in = crate::model::CodeSignIn {
            amr: who.session.amr.clone(),
            session_sid: Some(who.session.sid()),
        };
        self.store
            .insert_code_sign_in(&record.digest, &sign_in, record.expires_at)
            .await?;
        let mut params = vec![("code", code.expose())];
        if let Some(s) = &req.state {
            params.push(("state", s));
        }
        params.push(("iss", self.issuer()));
        Ok(req.response_mode.deliver(&req.redirect_uri, &params))
    }

    pub fn client_arc(&self, req: &ValidAuthorization) -> Arc<crate::model::Client> {
        req.client.clone()
    }
}
