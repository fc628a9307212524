//! The values and apps the suites share: one password, one redirect URI, one PKCE verifier.

use tollgate_core::admin::{Admin, ClientSpec, UserSpec};
use tollgate_core::ids::AccountSid;
use tollgate_core::model::{Client, GrantType, User};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";
/// The redirect URI of the authorization-code apps.
pub const REDIRECT: &str = "http://127.0.0.1/cb";
/// An RFC 7636 code verifier (43 to 128 unreserved characters).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

/// Bootstraps the first account through `admin` and creates in it the app `name` for
/// `grant_types`, redirecting to `REDIRECT` with the scope `read`; returns the account,
/// the app and its secret.
pub async fn bootstrap_app(
    admin: &Admin,
    name: &str,
    grant_types: Vec<GrantType>,
) -> (AccountSid, Client, Option<String>) {
    let (account, _) = admin
        .bootstrap()
        .await
        .expect("bootstrap")
        .expect("account");
    let spec = ClientSpec {
        friendly_name: name.into(),
        account_sid: Some(account.sid.clone()),
        grant_types,
        redirect_uris: vec![REDIRECT.into()],
        scopes: vec!["read".into()],
        ..ClientSpec::default()
    };
    let (client, secret) = admin.create_client(spec).await.expect("client");
    (account.sid, client, secret.map(|s| s.expose().to_owned()))
}

/// A user who is no administrator, with the shared password, in `account`.
pub async fn password_user(admin: &Admin, account: &AccountSid, email: &str) -> User {
    let spec = UserSpec {
        email: email.into(),
        password: PASSWORD.into(),
        account_sid: Some(account.clone()),
        admin: false,
        ..UserSpec::default()
    };
    admin.create_user(spec).await.expect("user")
}
