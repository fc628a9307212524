//! An engine on a fresh store with a fixed clock that only the test moves, one signed-in user
//! and one authorization-code app, and the calls each grant's tests make through it.

use std::sync::Arc;

use tollgate_core::admin::{Admin, ClientSpec};
use tollgate_core::authorize::{AuthorizeParams, s256};
use tollgate_core::clock::FixedClock;
use tollgate_core::device::DeviceRequest;
use tollgate_core::engine::{ClientAuth, TokenRequest};
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::introspection::Introspection;
use tollgate_core::keys::KeySealer;
use tollgate_core::model::GrantType;
use tollgate_core::session::SignedIn;
use tollgate_core::token::Issued;
use tollgate_core::{Engine, EngineConfig, ErrorKind, OAuthError, SystemRng};

use tollgate_testkit::{
    Backend, PASSWORD, REDIRECT, VERIFIER, bootstrap_app, fresh_database, password_user,
};

pub const START: i64 = 1_800_000_000;

pub struct Harness {
    pub engine: Arc<Engine>,
    pub clock: FixedClock,
    pub admin: Admin,
    pub client: ClientAuth,
    pub who: SignedIn,
    pub account: AccountSid,
    _dir: tempfile::TempDir,
}

pub async fn harness(backend: Backend) -> Option<Harness> {
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
        account,
        _dir: dir,
    })
}

impl Harness {
    pub async fn code(&self) -> String {
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
    pub async fn grant(&self, grant_type: &str, req: TokenRequest) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            grant_type: Some(grant_type.into()),
            client: Some(self.client.clone()),
            ..req
        };
        self.engine.token(req).await
    }

    pub async fn redeem(&self, code: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            code: Some(code.into()),
            redirect_uri: Some(REDIRECT.into()),
            code_verifier: Some(VERIFIER.into()),
            ..TokenRequest::default()
        };
        self.grant("authorization_code", req).await
    }

    pub async fn refresh(&self, token: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            refresh_token: Some(token.into()),
            ..TokenRequest::default()
        };
        self.grant("refresh_token", req).await
    }

    /// An RFC 8628 device authorization for the scope `read`.
    pub async fn start_device(&self) -> tollgate_core::device::DeviceAuthorization {
        let req = DeviceRequest {
            client: Some(self.client.clone()),
            scopes: vec!["read".into()],
            ..DeviceRequest::default()
        };
        let started = self.engine.device_authorization(req).await;
        started.expect("device authorization")
    }

    /// The signed-in user approves the device showing `user_code`.
    pub async fn approve(&self, user_code: &str) -> bool {
        let decided = self.engine.decide_device(user_code, true, &self.who).await;
        decided.expect("decide")
    }

    pub async fn poll(&self, device_code: &str) -> Result<Issued, OAuthError> {
        let req = TokenRequest {
            device_code: Some(device_code.into()),
            ..TokenRequest::default()
        };
        self.grant("urn:ietf:params:oauth:grant-type:device_code", req)
            .await
    }
}

pub fn kind<T: std::fmt::Debug>(r: Result<T, OAuthError>) -> ErrorKind {
    r.expect_err("refused").kind
}

impl Harness {
    /// A confidential client_credentials app in the harness's account, allowed `scopes`.
    pub async fn service_app(&self, scopes: &[&str]) -> ClientAuth {
        let spec = ClientSpec {
            friendly_name: "service".into(),
            account_sid: Some(self.account.clone()),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            audiences: vec!["https://api.example".into()],
            ..ClientSpec::default()
        };
        let (client, secret) = self.admin.create_client(spec).await.expect("client");
        self.engine.sync().await.expect("sync");
        ClientAuth::with_secret(client.id.to_string(), secret.map(|s| s.expose().to_owned()))
    }

    /// RFC 7662 as the harness's own app sees `token`.
    pub async fn introspect(&self, token: &str) -> Introspection {
        let id = ClientId::parse(&self.client.client_id).expect("id");
        let caller = self.engine.client(&id).expect("client");
        let seen = self.engine.introspect(&caller, token, None).await;
        seen.expect("introspection")
    }
}
