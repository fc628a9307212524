//! The admin CLI against a running server's database, and `serve --demo` as a newcomer runs it.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::binary::{
    assert_refused, cli_answer, start_serving, tollgate_command, user_create_args,
};
use crate::helpers::{Backend, PASSWORD, TestApp, eventually, spawn_app_with};
use tollgate_testkit::on_both_backends;

/// DESIGN section 3: a CLI change takes effect on every node within 2 seconds.
const PROPAGATION: Duration = Duration::from_secs(2);

pub(crate) async fn tollgate(app: &TestApp, args: &[&str]) -> (bool, Value) {
    let out = app.cli(args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON object: {stdout}"
    );
    cli_answer(&out)
}

async fn token_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.client_credentials(id, secret).await.status().as_u16()
}

/// Whether the server comes to refuse `id`'s tokens with `secret` within `PROPAGATION`.
async fn soon_refused(app: &TestApp, id: &str, secret: &str) -> bool {
    let refused = eventually(PROPAGATION, || async {
        token_status(app, id, secret).await == 401
    });
    refused.await.is_some()
}

async fn cli_changes_reach_a_running_server(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.sync_interval_ms = 500).await else {
        return;
    };

    let (ok, created) = tollgate(
        &app,
        &[
            "client",
            "create",
            "--name",
            "cli app",
            "--scope",
            "read",
            "--audience",
            "https://api.example",
        ],
    )
    .await;
    assert!(ok, "{created}");
    let id = created["client_id"].as_str().expect("client_id").to_owned();
    let secret = created["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    assert!(id.starts_with("OQ") && id.len() == 34);
    assert!(secret.len() >= 43, "256-bit secret");
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(created["account_sid"], app.account.sid.as_str());
    assert!(
        eventually(PROPAGATION, || async {
            token_status(&app, &id, &secret).await == 200
        })
        .await
        .is_some()
    );

    let (ok, shown) = tollgate(&app, &["client", "show", &id]).await;
    assert!(ok);
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(shown["scopes"], serde_json::json!(["read"]));
    let (_, listed) = tollgate(&app, &["client", "list"]).await;
    assert!(
        listed["clients"]
            .as_array()
            .expect("clients")
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );

    let (ok, rotated) = tollgate(&app, &["client", "rotate-secret", &id]).await;
    assert!(ok);
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_ne!(new_secret, secret);
    assert!(soon_refused(&app, &id, &secret).await, "old secret revoked");
    assert_eq!(token_status(&app, &id, &new_secret).await, 200);

    let (ok, _) = tollgate(&app, &["client", "delete", &id]).await;
    assert!(ok);
    assert!(
        soon_refused(&app, &id, &new_secret).await,
        "deleted client refused"
    );

    let (ok, err) = tollgate(&app, &["client", "show", &id]).await;
    assert_refused(ok, &err, "not found");
    let (ok, err) = tollgate(
        &app,
        &[
            "client",
            "create",
            "--name",
            "x",
            "--public",
            "--grant",
            "client_credentials",
        ],
    )
    .await;
    assert!(!ok, "public clients cannot use client_credentials: {err}");

    // Redirect URIs the admin API refuses, the CLI refuses too, each with a reason.
    for uri in [
        "javascript:alert(1)",
        "http://attacker.example/cb",
        "data:text/html,x",
    ] {
        let (ok, err) = tollgate(
            &app,
            &[
                "client",
                "create",
                "--name",
                "bad redirect",
                "--grant",
                "authorization_code",
                "--redirect-uri",
                uri,
            ],
        )
        .await;
        assert!(!ok, "{uri} refused: {err}");
        assert!(err.to_string().contains("redirect"), "{uri}: {err}");
    }
    for uri in [
        "https://app.example/cb",
        "http://127.0.0.1:9000/cb",
        "com.example.app:/cb",
    ] {
        let (ok, created) = tollgate(
            &app,
            &[
                "client",
                "create",
                "--name",
                "good redirect",
                "--grant",
                "authorization_code",
                "--redirect-uri",
                uri,
            ],
        )
        .await;
        assert!(ok, "{uri} accepted: {created}");
    }
}

async fn cli_accounts_and_keys(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let (ok, acct) = tollgate(&app, &["account", "create", "--friendly-name", "Second"]).await;
    assert!(ok, "{acct}");
    assert!(
        acct["account_sid"]
            .as_str()
            .is_some_and(|s| s.starts_with("AC"))
    );
    assert!(acct["auth_token"].as_str().is_some_and(|t| t.len() >= 43));
    assert_ne!(
        acct["organization_sid"],
        app.account.organization_sid.as_str(),
        "own organization by default"
    );

    let org = app.account.organization_sid.to_string();
    let (ok, sibling) = tollgate(&app, &["account", "create", "--organization", &org]).await;
    assert!(ok);
    assert_eq!(sibling["organization_sid"], org.as_str());
    let (_, listed) = tollgate(&app, &["account", "list"]).await;
    assert_eq!(listed["accounts"].as_array().map(Vec::len), Some(3));
    assert!(listed["accounts"][0].get("auth_token").is_none());

    // With several accounts, client create needs --account.
    let (ok, _) = tollgate(&app, &["client", "create", "--name", "ambiguous"]).await;
    assert!(!ok);
    let sid = sibling["account_sid"].as_str().expect("sid");
    let (ok, c) = tollgate(
        &app,
        &[
            "client",
            "create",
            "--name",
            "sibling app",
            "--account",
            sid,
        ],
    )
    .await;
    assert!(ok);
    assert_eq!(c["account_sid"], sid);

    // The account's sign-in policy: shown, set, refused when unknown; the admin API reads it.
    let (ok, policy) = tollgate(&app, &["account", "sign-in-policy", "--account", sid]).await;
    assert!(ok, "{policy}");
    assert_eq!(policy["sign_in_policy"], "optional");
    let home = app.account.sid.to_string();
    let set = ["account", "sign-in-policy", "--account", &home, "required"];
    let (ok, policy) = tollgate(&app, &set).await;
    assert!(ok, "{policy}");
    assert_eq!(
        (&policy["account_sid"], &policy["sign_in_policy"]),
        (&Value::from(home.as_str()), &Value::from("required"))
    );
    let shown: Value = app
        .as_account(reqwest::Method::GET, "/v1/Account/SignIn")
        .send()
        .await
        .expect("admin API")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["sign_in_policy"], "required");
    let bad = ["account", "sign-in-policy", "--account", &home, "sometimes"];
    let out = app
        .command()
        .args(bad)
        .output()
        .await
        .expect("run tollgate");
    assert!(!out.status.success(), "an unknown policy is refused");

    let (ok, keys) = tollgate(&app, &["key", "list"]).await;
    assert!(ok);
    let keys = keys["keys"].as_array().expect("keys");
    let mut algs: Vec<&str> = keys
        .iter()
        .filter_map(|k| k["algorithm"].as_str())
        .collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"]);
    assert!(keys.iter().all(|k| k.get("sealed_private_key").is_none()));
}

async fn cli_users(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let names = ["--first-name", "Ada", "--last-name", "Lovelace"];
    let args = [&user_create_args("Ada@Example.com", PASSWORD)[..], &names].concat();
    let (ok, u) = tollgate(&app, &args).await;
    assert!(ok, "{u}");
    let sid = u["user_sid"].as_str().expect("user_sid").to_owned();
    assert!(sid.starts_with("US") && sid.len() == 34);
    assert_eq!(u["email"], "ada@example.com");
    assert_eq!(u["account_sid"], app.account.sid.as_str());
    assert!(
        !u.to_string().contains("argon2"),
        "no password hash in output"
    );

    let again = user_create_args("ada@example.com", "another password");
    let (ok, err) = tollgate(&app, &again).await;
    assert_refused(ok, &err, "already exists");
    let short = user_create_args("bob@example.com", "short");
    assert!(!tollgate(&app, &short).await.0, "password policy");
    let no_email = user_create_args("not-an-email", "long enough password");
    assert!(!tollgate(&app, &no_email).await.0);

    // The stored hash is Argon2id and verifies, and the user can sign in.
    let stored = app
        .server
        .admin()
        .user(&sid.parse().expect("sid"))
        .await
        .expect("user");
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(
        app.server
            .engine
            .check_password("ADA@example.com", PASSWORD)
            .await
            .expect("check")
            .is_some()
    );

    let (_, listed) = tollgate(&app, &["user", "list"]).await;
    assert_eq!(listed["users"].as_array().map(Vec::len), Some(1));
    let (ok, shown) = tollgate(&app, &["user", "show", &sid]).await;
    assert!(ok && shown["first_name"] == "Ada");
    let (ok, _) = tollgate(&app, &["user", "delete", &sid]).await;
    assert!(ok);
    let (ok, _) = tollgate(&app, &["user", "show", &sid]).await;
    assert!(!ok);
}

/// Two servers on one database behave as one: a client made on either works on both.
async fn two_nodes_share_one_database(backend: Backend) {
    let Some(a) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    // Nodes behind one load balancer share the public issuer URL and the key-encryption key.
    let b = a.second_node(|_| {}).await;
    let jwks_a: Value = a.get_json("/oauth/jwks").await;
    let jwks_b: Value = b.get_json("/oauth/jwks").await;
    assert_eq!(jwks_a, jwks_b, "nodes share signing keys");

    let c = a.client().await;
    assert!(
        eventually(PROPAGATION, || async {
            token_status(&b, c.id.as_str(), &c.secret).await == 200
        })
        .await
        .is_some()
    );
    let resp = b.client_credentials(c.id.as_str(), &c.secret).await;
    let body: Value = resp.json().await.expect("json");
    // Node A verifies node B's token against its own JWKS.
    let claims = a.verify_token_of(&body).await;
    assert_eq!(claims["client_id"], c.id.as_str());
}

on_both_backends!(
    cli_changes_reach_a_running_server,
    cli_accounts_and_keys,
    cli_users,
    two_nodes_share_one_database
);

/// README's first command: `tollgate serve --demo` prints a curl that returns a token.
#[tokio::test]
async fn demo_prints_a_working_curl() {
    let dir = tempfile::tempdir().expect("dir");
    for round in 0..2 {
        let mut cmd = tollgate_command();
        cmd.args([
            "serve",
            "--demo",
            "--json",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("TOLLGATE_DATABASE_URL");
        let (mut child, banner) = start_serving(&mut cmd, Stdio::null()).await;
        assert_eq!(
            banner.get("auth_token").is_some(),
            round == 0,
            "the auth token is printed on first start only"
        );
        let curl = banner["demo"]["curl"].as_str().expect("curl command");
        let out = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(curl)
            .output()
            .await
            .expect("run curl");
        assert!(out.status.success(), "curl exit");
        let token: Value = serde_json::from_slice(&out.stdout).expect("token JSON");
        assert_eq!(token["token_type"], "Bearer");
        assert!(
            token["access_token"]
                .as_str()
                .is_some_and(|t| t.split('.').count() == 3)
        );
        child.kill().await.expect("stop");
    }
    assert!(dir.path().join("tollgate.db").exists());
}
