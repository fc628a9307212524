//! Grant logic driven through the engine directly, with no HTTP: a fixed clock that only the
//! test moves, on SQLite and PostgreSQL.

use std::sync::Arc;

use tollgate_core::admin::{Admin, Caller, ClientPatch};
use tollgate_core::authorize::{AuthorizeParams, s256};
use tollgate_core::clock::FixedClock;
use tollgate_core::device::DeviceRequest;
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::keys::KeySealer;
use tollgate_core::model::GrantType;
use tollgate_core::session::SignedIn;
use tollgate_core::token::Issued;
use tollgate_core::{Engine, EngineConfig, ErrorKind, OAuthError, SystemRng};

use crate::helpers::{
    Backend, PASSWORD, REDIRECT, VERIFIER, bootstrap_app, fresh_database, password_user,
};
use crate::on_both_backends;

const START: i64 = 1_800_000_000;

struct Harness {
    engine: Arc<Engine>,
    clock: FixedClock,
    admin: Admin,
    client: ClientAuth,
    who: SignedIn,
    _dir: tempfile::TempDir,
}

async fn harness(backend: Backend) -> Option<Harness> {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(backend, &dir).await?;
    let clock = FixedClock::new(START);
    let store = tollgate_store::open(&url, Arc::new(clock.clone()))
        .await
        .expect("store");
    let mut config = EngineConfig::new("https://issuer.test");
    config.refresh_grace_secs = 10;
    config.code_ttl = 60;
    config.device_code_ttl = 600;
    config.device_poll_interval = 5;
    let engine = Engine::start(
        config,
        store,
        KeySealer::new(&[7u8; 32]).expect("sealer"),
        Arc::new(clock.clone()),
        Arc::new(SystemRng::default()),
    )
    .await
    .expect("engine");
    let engine = Arc::new(engine);
    let admin = engine.admin();
    let grants = vec![
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
    ];
    let (account, client, secret) = bootstrap_app(&admin, "engine test", grants).await;
    password_user(&admin, &account, "grant@example.com").await;
    engine.sync().await.expect("sync");
    let tollgate_core::session::SignIn::Done(_, who) = engine
        .login("grant@example.com", PASSWORD)
        .await
        .expect("login")
        .expect("credentials")
    else {
        panic!("a password-only sign-in")
    };
    let client = ClientAuth::with_secret(client.id.to_string(), secret);
    Some(Harness {
        engine,
        clock,
        admin,
        client,
        who,
        _dir: dir,
    })
}

impl Harness {
    async fn code(&self) -> String {
        let params = AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some(self.client.client_id.clone()),
            redirect_uri: Some(REDIRECT.into()),
            scope: Some("read".into()),
            code_challenge: Some(s256(VERIFIER)),
            code_challenge_method: Some("S256".into()),
            ..AuthorizeParams::default()
        };
        let valid = self
            .engine
            .validate_authorization(&params)
            .await
            .expect("valid request");
        let url = self
            .engine
            .issue_code(&valid, &self.who)
            .await
            .expect("code");
        let url = url::Url::parse(&url).expect("redirect url");
        let code = url.query_pairs().find(|(k, _)| k == "code").expect("code");
        code.1.into_owned()
    }

    /// `req` for `grant_type`, from this harness's client.
    async fn grant(&self, grant_type: &str, req: TokenRequest) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            grant_type: Some(grant_type.into()),
            client: Some(self.client.clone()),
            ..req
        };
        self.engine.token(req).await
    }

    async fn redeem(&self, code: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            code: Some(code.into()),
            redirect_uri: Some(REDIRECT.into()),
            code_verifier: Some(VERIFIER.into()),
            ..TokenRequest::default()
        };
        self.grant("authorization_code", req).await
    }

    async fn refresh(&self, token: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            refresh_token: Some(token.into()),
            ..TokenRequest::default()
        };
        self.grant("refresh_token", req).await
    }

    /// An RFC 8628 device authorization for the scope `read`.
    async fn start_device(&self) -> tollgate_core::device::DeviceAuthorization {
        let req = DeviceRequest {
            client: Some(self.client.clone()),
            scopes: vec!["read".into()],
            ..DeviceRequest::default()
        };
        let started = self.engine.device_authorization(req).await;
        started.expect("device authorization")
    }

    /// The signed-in user approves the device showing `user_code`.
    async fn approve(&self, user_code: &str) -> bool {
        let decided = self.engine.decide_device(user_code, true, &self.who).await;
        decided.expect("decide")
    }

    async fn poll(&self, device_code: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            device_code: Some(device_code.into()),
            ..TokenRequest::default()
        };
        self.grant(crate::helpers::DEVICE_GRANT, req).await
    }
}

fn kind<T: std::fmt::Debug>(r: Result<T, OAuthError>) -> ErrorKind {
    r.expect_err("refused").kind
}

async fn codes_are_single_use_and_expire(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let code = h.code().await;
    let issued = h.redeem(&code).await.expect("first redemption");
    let refresh = issued.refresh_token.expect("refresh token");
    // A replay is refused and revokes what the code issued.
    assert_eq!(kind(h.redeem(&code).await), ErrorKind::InvalidGrant);
    assert_eq!(kind(h.refresh(&refresh).await), ErrorKind::InvalidGrant);

    // A code lives 60 s on the injected clock.
    let late = h.code().await;
    h.clock.advance(61);
    assert_eq!(kind(h.redeem(&late).await), ErrorKind::InvalidGrant);
    let fresh = h.code().await;
    h.clock.advance(59);
    assert!(h.redeem(&fresh).await.is_ok());
}

async fn refresh_grace_and_reuse(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let first = h.redeem(&h.code().await).await.expect("tokens");
    let a = first.refresh_token.expect("a");
    let b = h
        .refresh(&a)
        .await
        .expect("rotation")
        .refresh_token
        .expect("b");
    assert_ne!(a, b);
    // Inside the grace window a repeat of `a` still succeeds.
    h.clock.advance(10);
    let c = h.refresh(&a).await.expect("inside grace");
    assert!(c.refresh_token.is_some());
    // After it, a use of `a` is reuse: refused, and the whole family is revoked.
    h.clock.advance(1);
    assert_eq!(kind(h.refresh(&a).await), ErrorKind::InvalidGrant);
    assert_eq!(kind(h.refresh(&b).await), ErrorKind::InvalidGrant);
    let c = c.refresh_token.expect("c");
    assert_eq!(kind(h.refresh(&c).await), ErrorKind::InvalidGrant);
    let _ = &h.admin;
}

async fn device_polling(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let d = h.start_device().await;
    assert_eq!(
        kind(h.poll(&d.device_code).await),
        ErrorKind::AuthorizationPending
    );
    // Polling faster than the interval slows the device down by 5 s.
    h.clock.advance(1);
    assert_eq!(kind(h.poll(&d.device_code).await), ErrorKind::SlowDown);
    h.clock.advance(10);
    assert_eq!(
        kind(h.poll(&d.device_code).await),
        ErrorKind::AuthorizationPending
    );
    assert!(h.approve(&d.user_code).await);
    h.clock.advance(10);
    let issued = h.poll(&d.device_code).await.expect("approved");
    assert!(issued.refresh_token.is_some());
    // The device code is spent.
    h.clock.advance(10);
    assert_eq!(kind(h.poll(&d.device_code).await), ErrorKind::InvalidGrant);

    // Unanswered device codes expire on the injected clock.
    let late = h.start_device().await;
    h.clock.advance(601);
    assert_eq!(
        kind(h.poll(&late.device_code).await),
        ErrorKind::ExpiredToken
    );
}

/// The client's current policy narrows every continued grant: a scope the administrator
/// removed is not minted again by a refresh or a device poll, and cannot be asked for.
async fn continued_grants_follow_the_clients_current_scopes(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let first = h.redeem(&h.code().await).await.expect("tokens");
    assert_eq!(first.scope, "read");
    let d = h.start_device().await;
    assert!(h.approve(&d.user_code).await);

    let id = tollgate_core::ids::ClientId::parse(&h.client.client_id).expect("id");
    h.admin
        .update_client(
            &Caller::Operator,
            &id,
            ClientPatch {
                scopes: Some(vec!["write".into()]),
                ..ClientPatch::default()
            },
        )
        .await
        .expect("scope removed");
    h.engine.sync().await.expect("sync");

    let refresh = first.refresh_token.expect("refresh token");
    let narrowed = h.refresh(&refresh).await.expect("refresh");
    assert_eq!(narrowed.scope, "", "the removed scope is not minted again");
    let asked = h
        .engine
        .token(TokenRequest {
            grant_type: Some("refresh_token".into()),
            client: Some(h.client.clone()),
            refresh_token: narrowed.refresh_token.clone(),
            scope: Some("read".into()),
            ..TokenRequest::default()
        })
        .await;
    assert_eq!(kind(asked), ErrorKind::InvalidScope);

    h.clock.advance(10);
    let polled = h.poll(&d.device_code).await.expect("device tokens");
    assert_eq!(
        polled.scope, "",
        "a device poll gets the current policy too"
    );
}

/// RFC 7009 section 2.1: the hint only orders the search; a refresh token sent as
/// `token_type_hint=access_token` is still revoked.
async fn a_mismatched_revocation_hint_still_revokes(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let issued = h.redeem(&h.code().await).await.expect("tokens");
    let refresh = issued.refresh_token.expect("refresh token");
    let id = tollgate_core::ids::ClientId::parse(&h.client.client_id).expect("id");
    let client = h.engine.client(&id).expect("client");
    h.engine
        .revoke(&client, &refresh, Some("access_token"))
        .await
        .expect("revoke");
    assert_eq!(kind(h.refresh(&refresh).await), ErrorKind::InvalidGrant);
}

on_both_backends!(
    a_mismatched_revocation_hint_still_revokes,
    codes_are_single_use_and_expire,
    refresh_grace_and_reuse,
    device_polling,
    continued_grants_follow_the_clients_current_scopes
);
