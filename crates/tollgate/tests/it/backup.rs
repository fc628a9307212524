//! `tollgate backup` while the server runs and writes, `tollgate restore` into a fresh data
//! directory, and a server started on the restored copy that honours what the first issued:
//! the refresh token rotates, the client authenticates, the access token introspects.

use std::path::Path;

use serde_json::Value;

use crate::helpers::{Backend, VERIFIER, code_flow, json, read_code, redeem, refresh, spawn_on};

/// Runs the binary with `--json`; (success, the one JSON object it printed).
async fn tollgate(args: &[&str]) -> (bool, Value) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("--json")
        .args(args)
        .env_remove("TOLLGATE_KEY_ENCRYPTION_KEY")
        .output()
        .await
        .expect("run tollgate");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let value = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    (out.status.success(), value)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_and_restore_elsewhere() {
    let email = "backup@example.com";
    let Some((app, client, browser)) = code_flow(Backend::Sqlite, email).await else {
        return;
    };
    let code = read_code(&browser, &client, email).await;
    let tokens = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let cc_client = app.client().await;
    let access_token = app.access_token(&cc_client).await;

    // Writes go on while the backup runs.
    let writer = {
        let admin = app.server.admin();
        let account = app.account.sid.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let spec = tollgate_core::admin::ClientSpec {
                    friendly_name: format!("busy {i}"),
                    account_sid: Some(account.clone()),
                    grant_types: vec![tollgate_core::model::GrantType::ClientCredentials],
                    ..Default::default()
                };
                admin.create_client(spec).await.expect("client");
            }
        })
    };
    let out = tempfile::tempdir().expect("dir");
    let file = out.path().join("tollgate.backup");
    let (ok, made) = tollgate(&[
        "--database-url",
        &app.database_url,
        "--data-dir",
        path(app.dir.path()),
        "backup",
        path(&file),
    ])
    .await;
    assert!(ok, "{made}");
    assert!(made["pages"].as_i64().expect("pages") > 0, "{made}");
    writer.await.expect("writer");
    // A second backup never overwrites the first.
    let (ok, again) = tollgate(&["--database-url", &app.database_url, "backup", path(&file)]).await;
    assert!(!ok && again["error"].as_str().is_some(), "{again}");

    let kek = app.dir.path().join("key-encryption.key");
    let fresh = tempfile::tempdir().expect("dir");
    // Without the key-encryption key nothing is restored.
    let (ok, refused) = tollgate(&["--data-dir", path(fresh.path()), "restore", path(&file)]).await;
    assert!(!ok, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("key-encryption key")),
        "{refused}"
    );
    // Nor into a directory that holds something.
    let (ok, refused) = tollgate(&[
        "--data-dir",
        path(app.dir.path()),
        "restore",
        path(&file),
        "--key-file",
        path(&kek),
    ])
    .await;
    assert!(!ok, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("not empty")),
        "{refused}"
    );
    let (ok, restored) = tollgate(&[
        "--data-dir",
        path(fresh.path()),
        "restore",
        path(&file),
        "--key-file",
        path(&kek),
    ])
    .await;
    assert!(ok, "{restored}");
    assert!(restored["signing_keys"].as_u64().expect("keys") >= 1);

    let url = format!("sqlite://{}", fresh.path().join("tollgate.db").display());
    let issuer = app.base.clone();
    let copy = spawn_on(url, fresh, |c| c.engine.issuer = issuer).await;
    // Every client written before the backup finished is there (the 40 clients were written
    // while the backup ran; whichever were committed first are in it, in full).
    let rotated = json(refresh(&copy, &client, &refresh_token).await, 200).await;
    assert!(
        rotated["refresh_token"]
            .as_str()
            .is_some_and(|r| r != refresh_token)
    );
    assert_eq!(
        copy.client_credentials(cc_client.id.as_str(), &cc_client.secret)
            .await
            .status(),
        200
    );
    let introspected = json(
        copy.post_basic(
            "/oauth/introspect",
            (cc_client.id.as_str(), &cc_client.secret),
            &[("token", &access_token)],
        )
        .await,
        200,
    )
    .await;
    assert_eq!(introspected["active"], true, "{introspected}");
    // A stranger's secret does not authenticate on the copy either.
    assert_eq!(
        copy.client_credentials(cc_client.id.as_str(), "wrong")
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn postgres_backups_are_pg_dumps() {
    let out = tempfile::tempdir().expect("dir");
    let (ok, refused) = tollgate(&[
        "--database-url",
        "postgres://tollgate@127.0.0.1:1/tollgate",
        "backup",
        path(&out.path().join("x")),
    ])
    .await;
    assert!(!ok);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("pg_dump")),
        "{refused}"
    );
}
