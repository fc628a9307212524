//! The test users and apps: one factory per kind of client, and the values they share.

use tollgate_core::admin::{ClientSpec, UserSpec};
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::model::{
    Account, Client, ClientProfile, ClientRegistration, GrantType, TokenEndpointAuthMethod, User,
};
use tollgate_core::secret::Secret;

use super::{ClientKey, TestApp, TestClient};

pub use tollgate_testkit::{PASSWORD, REDIRECT, VERIFIER, bootstrap_app, password_user};

impl TestApp {
    /// A confidential client_credentials app with scopes `read write` in the test account.
    pub async fn client(&self) -> TestClient {
        self.client_with(|_| {}).await
    }

    pub async fn client_with(&self, tweak: impl FnOnce(&mut ClientSpec)) -> TestClient {
        let mut spec = ClientSpec {
            friendly_name: "test app".into(),
            account_sid: Some(self.account.sid.clone()),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["read".into(), "write".into()],
            ..ClientSpec::default()
        };
        tweak(&mut spec);
        let (c, secret) = self
            .server
            .admin()
            .create_client(spec)
            .await
            .expect("create client");
        self.server.engine.sync().await.expect("sync");
        TestClient {
            id: c.id,
            secret: secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
        }
    }

    /// Another account in the same organization as the test account.
    pub async fn sibling_account(&self) -> AccountSid {
        let (a, _) = self
            .server
            .admin()
            .create_account(
                Some("sibling".into()),
                Some(self.account.organization_sid.clone()),
            )
            .await
            .expect("sibling account");
        self.server.engine.sync().await.expect("sync");
        a.sid
    }

    /// The account `name` in an organization of its own, created without a sync.
    pub async fn other_account(&self, name: &str) -> Account {
        let admin = self.server.admin();
        let created = admin.create_account(Some(name.into()), None).await;
        created.expect("account").0
    }

    /// An app "Their app" of `account`, with the default settings.
    pub async fn their_app(&self, account: &AccountSid) -> Client {
        let spec = ClientSpec {
            friendly_name: "Their app".into(),
            account_sid: Some(account.clone()),
            ..ClientSpec::default()
        };
        let created = self.server.admin().create_client(spec).await;
        created.expect("client").0
    }

    /// An account in an organization of its own, and its auth token; the server knows it.
    pub async fn stranger_account(&self) -> (Account, Secret) {
        let admin = self.server.admin();
        let created = admin.create_account(None, None).await.expect("account");
        self.server.engine.sync().await.expect("sync");
        created
    }

    /// A user (Ada Lovelace) in the test account with the shared test password.
    pub async fn user(&self, email: &str) -> User {
        self.new_user(UserSpec {
            email: email.into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            friendly_name: Some("ada".into()),
            ..UserSpec::default()
        })
        .await
    }

    /// An administrator (Grace Hopper) of the test account (or of `account`).
    pub async fn admin_user(&self, email: &str, account: Option<&AccountSid>) -> User {
        self.new_user(UserSpec {
            email: email.into(),
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            account_sid: account.cloned(),
            admin: true,
            ..UserSpec::default()
        })
        .await
    }

    /// `spec` with the shared password, in the test account unless it names another.
    async fn new_user(&self, mut spec: UserSpec) -> User {
        spec.password = PASSWORD.into();
        spec.account_sid = spec.account_sid.or_else(|| Some(self.account.sid.clone()));
        self.server.admin().create_user(spec).await.expect("user")
    }

    /// How the dynamically registered client `id` came to be, as the store keeps it.
    pub async fn stored_registration(&self, id: &ClientId) -> ClientRegistration {
        let store = &self.server.context.store;
        let found = store.client_registration(id).await.expect("read");
        found.expect("registration")
    }

    /// A rotated secret: the old one is refused on `/v2/token`, the new one works.
    pub async fn assert_secret_rotated(&self, id: &str, old: &str, new: &str) {
        let old = self.client_credentials_at("/v2/token", id, old).await;
        assert_eq!(old.status(), reqwest::StatusCode::UNAUTHORIZED);
        let new = self.client_credentials_at("/v2/token", id, new).await;
        assert_eq!(new.status(), reqwest::StatusCode::OK);
    }

    /// An authorization-code client (with refresh) redirecting to a loopback `/cb`.
    pub async fn code_client(&self, public: bool) -> TestClient {
        self.client_with(|s| {
            s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            s.redirect_uris = vec![REDIRECT.into(), "https://app.example/callback".into()];
            s.scopes = vec!["read".into()];
            s.public = public;
        })
        .await
    }

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
}
