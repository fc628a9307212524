//! `tollgate export` of an account and `tollgate import` of it into another environment, on
//! both stores: clients keep their ids (a new secret is shown once), users come without
//! password hashes unless asked, and importing the same document again changes nothing.

use serde_json::{Value, json};
use tollgate_core::admin::Caller;

use crate::helpers::{
    Backend, Browser, TestApp, TestClient, code_flow, read_code, redeem, spawn_app,
};
use crate::helpers::{VERIFIER, json};
use tollgate_testkit::on_both_backends;

async fn latest_change(app: &TestApp) -> i64 {
    app.server
        .context
        .store
        .latest_change()
        .await
        .expect("change log")
}

async fn export_import_is_idempotent(backend: Backend) {
    let email = "carried@example.com";
    let Some((a, code_client, _)) = code_flow(backend, email).await else {
        return;
    };
    let cc = a
        .client_with(|s| s.audiences = vec!["https://api.example".into()])
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let plain = dir.path().join("plain.json");
    let with_passwords = dir.path().join("with-passwords.json");
    let account = a.account.sid.to_string();
    let (ok, out) = a
        .cli_json(&[
            "export",
            "--account",
            &account,
            "-o",
            plain.to_str().expect("path"),
        ])
        .await;
    assert!(ok, "{out}");
    assert_eq!(out["clients"], 2, "{out}");
    let (ok, out) = a
        .cli_json(&[
            "export",
            "--account",
            &account,
            "--with-passwords",
            "-o",
            with_passwords.to_str().expect("path"),
        ])
        .await;
    assert!(ok, "{out}");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&plain).expect("read")).expect("json");
    assert_eq!(doc["format"], "tollgate-export/1");
    assert!(doc["users"][0].get("password_hash").is_none(), "{doc}");
    let text = std::fs::read_to_string(&plain).expect("read");
    assert!(
        !text.contains(&cc.secret) && !text.contains("$argon2"),
        "no secrets"
    );
    let with: Value =
        serde_json::from_str(&std::fs::read_to_string(&with_passwords).expect("read"))
            .expect("json");
    assert!(
        with["users"][0]["password_hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("$argon2"))
    );

    // Another environment: its own database and account.
    let Some(b) = spawn_app(backend).await else {
        return;
    };
    let into = b.account.sid.to_string();
    let first = import_into(&b, &plain, &into).await;
    assert!(
        first["created"].as_array().expect("created").len() >= 3,
        "{first}"
    );
    let secret = first["client_secrets"][cc.id.as_str()]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_eq!(
        b.client_credentials(cc.id.as_str(), &secret).await.status(),
        200,
        "the same client id authenticates with the secret shown once"
    );
    assert_eq!(b.token_status(&cc).await, 401);

    // The same document again: nothing written.
    let before = latest_change(&b).await;
    let second = import_into(&b, &plain, &into).await;
    assert_nothing_written(&second);
    assert_eq!(latest_change(&b).await, before, "no change logged");

    // Passwords when asked: the user signs in on the other environment.
    let third = import_into(&b, &with_passwords, &into).await;
    assert_eq!(
        third["updated"].as_array().expect("updated").len(),
        1,
        "{third}"
    );
    b.server.engine.sync().await.expect("sync");
    let code_secret = first["client_secrets"][code_client.id.as_str()]
        .as_str()
        .expect("code client secret")
        .to_owned();
    let imported = TestClient {
        id: code_client.id.clone(),
        secret: code_secret,
    };
    let browser = Browser::new(&b);
    let code = read_code(&browser, &imported, email).await;
    json(redeem(&b, &imported, &code, Some(VERIFIER)).await, 200).await;
    let fourth = import_into(&b, &with_passwords, &into).await;
    assert_nothing_written(&fourth);

    // A changed setting in the document is applied, and only that client is touched.
    let mut edited = doc.clone();
    for c in edited["clients"].as_array_mut().expect("clients") {
        if c["client_id"] == cc.id.as_str() {
            c["friendly_name"] = "renamed in git".into();
        }
    }
    let edited_file = dir.path().join("edited.json");
    std::fs::write(&edited_file, edited.to_string()).expect("write");
    let fifth = import_into(&b, &edited_file, &into).await;
    assert_eq!(
        fifth["updated"],
        serde_json::json!([cc.id.as_str()]),
        "{fifth}"
    );
    let renamed = b.server.admin().client(&cc.id).await.expect("client");
    assert_eq!(renamed.friendly_name, "renamed in git");

    // Garbage is refused with a clear error.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"format\":\"something else\"}").expect("write");
    let (ok, refused) = b.cli_json(&["import", junk.to_str().expect("path")]).await;
    assert!(!ok);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("export")),
        "{refused}"
    );
}

/// `tollgate import FILE --account ACCOUNT`, which must succeed: its answer.
async fn import_into(app: &TestApp, file: &std::path::Path, account: &str) -> Value {
    let args = ["import", file.to_str().expect("path"), "--account", account];
    let (ok, out) = app.cli_json(&args).await;
    assert!(ok, "{out}");
    out
}

/// An import answer that created and updated nothing.
fn assert_nothing_written(answer: &Value) {
    assert_eq!(answer["created"], serde_json::json!([]), "{answer}");
    assert_eq!(answer["updated"], serde_json::json!([]), "{answer}");
}

/// The record of `id` in an export document.
fn record<'a>(doc: &'a mut Value, list: &str, key: &str, id: &str) -> &'a mut Value {
    doc[list]
        .as_array_mut()
        .expect("list")
        .iter_mut()
        .find(|r| r[key] == id)
        .expect("record")
}

async fn export_to(app: &TestApp, file: &std::path::Path) -> Value {
    let account = app.account.sid.to_string();
    let path = file.to_str().expect("path");
    let (ok, out) = app
        .cli_json(&["export", "--account", &account, "-o", path])
        .await;
    assert!(ok, "{out}");
    serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json")
}

async fn import(app: &TestApp, doc: &Value, file: &std::path::Path) -> Value {
    std::fs::write(file, doc.to_string()).expect("write");
    let (ok, out) = app
        .cli_json(&["import", file.to_str().expect("path")])
        .await;
    assert!(ok, "{out}");
    out
}

/// Import brings records that exist to the document's state: a client's settings, a user's
/// address, names, administrator flag and verification, a resource's name and scopes; a
/// second import of the same document writes nothing, and importing the original document
/// back gives an export equal to it.
async fn import_converges_existing_records(backend: Backend) {
    let email = "converge@example.com";
    let Some((a, code_client, _)) = code_flow(backend, email).await else {
        return;
    };
    a.client_with(|s| s.audiences = vec!["https://api.example".into()])
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("account.json");
    let original = export_to(&a, &file).await;
    let user_sid = original["users"][0]["user_sid"]
        .as_str()
        .expect("user")
        .to_owned();

    let mut edited = original.clone();
    let c = record(&mut edited, "clients", "client_id", code_client.id.as_str());
    c["friendly_name"] = "renamed in git".into();
    c["redirect_uris"] = json!(["https://app.example/callback", "https://new.example/cb"]);
    c["scopes"] = json!(["read", "write"]);
    c["require_pkce"] = true.into();
    c["access_token_ttl"] = 120.into();
    c["id_token_signed_response_alg"] = "RS256".into();
    let u = record(&mut edited, "users", "user_sid", &user_sid);
    u["email"] = "Moved@Example.com".into();
    u["first_name"] = "Grace".into();
    u["last_name"] = Value::Null;
    u["friendly_name"] = "grace".into();
    u["admin"] = true.into();
    u["email_verified"] = true.into();
    let policy = if original["account"]["registration_policy"] == "token" {
        "open"
    } else {
        "token"
    };
    edited["account"]["registration_policy"] = policy.into();
    let r = record(
        &mut edited,
        "resources",
        "identifier",
        "https://api.example",
    );
    r["friendly_name"] = "The API".into();
    r["scopes"] = json!(["orders:read", "orders:write"]);

    let first = import(&a, &edited, &file).await;
    assert_eq!(first["created"], json!([]), "{first}");
    assert_eq!(
        first["updated"].as_array().map(Vec::len),
        Some(4),
        "the account's policy, the client, the user and the resource: {first}"
    );
    let admin = a.server.admin();
    let client = admin.client(&code_client.id).await.expect("client");
    assert_eq!(client.friendly_name, "renamed in git");
    assert_eq!(client.redirect_uris.len(), 2);
    assert_eq!(client.scopes, ["read", "write"]);
    assert!(client.require_pkce);
    assert_eq!(client.access_token_ttl, Some(120));
    assert_eq!(
        client.oidc.id_token_signed_response_alg.map(|a| a.as_str()),
        Some("RS256")
    );
    let sid = tollgate_core::ids::UserSid::parse(&user_sid).expect("sid");
    let user = admin.user(&sid).await.expect("user");
    assert_eq!(user.email, "moved@example.com");
    assert_eq!(user.first_name.as_deref(), Some("Grace"));
    assert_eq!(user.last_name, None);
    assert_eq!(user.friendly_name.as_deref(), Some("grace"));
    assert!(user.admin && user.email_verified);
    let resource = admin
        .resource_named(&Caller::Operator, "https://api.example")
        .await
        .expect("resource");
    assert_eq!(resource.friendly_name, "The API");
    assert_eq!(resource.scopes, ["orders:read", "orders:write"]);
    let (_, now) = admin
        .registration_policy(&Caller::Operator, Some(a.account.sid.clone()))
        .await
        .expect("policy");
    assert_eq!(now.as_str(), policy);
    // The running node sees the client as the document has it.
    a.server.engine.sync().await.expect("sync");
    let held = a.server.engine.client(&code_client.id).expect("held");
    assert_eq!(held.friendly_name, "renamed in git");

    // Again: nothing to do, nothing written.
    let before = latest_change(&a).await;
    let again = import(&a, &edited, &file).await;
    assert_nothing_written(&again);
    assert_eq!(latest_change(&a).await, before, "no change logged");

    // Back to the original document: what the edit added is cleared, and an export is the
    // original document again.
    let back = import(&a, &original, &file).await;
    assert_eq!(back["updated"].as_array().map(Vec::len), Some(4), "{back}");
    let client = admin.client(&code_client.id).await.expect("client");
    assert_eq!(client.oidc.id_token_signed_response_alg, None);
    let exported = export_to(&a, &dir.path().join("again.json")).await;
    assert_eq!(exported, original);
    let still = import(&a, &original, &file).await;
    assert_eq!(still["updated"], json!([]), "{still}");
}

on_both_backends!(
    export_import_is_idempotent,
    import_converges_existing_records
);
