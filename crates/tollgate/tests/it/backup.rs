//! `tollgate backup` while the server runs and writes, `tollgate restore` into a fresh data
//! directory, and a server started on the restored copy that honours what the first issued:
//! the refresh token rotates, the client authenticates, the access token introspects.

use std::path::Path;

use crate::helpers::binary::{assert_refused, run_json};
use crate::helpers::{Backend, VERIFIER, code_flow, json, read_code, redeem, refresh, spawn_on};

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
    let (ok, made) = run_json(&[
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
    let (ok, again) = run_json(&["--database-url", &app.database_url, "backup", path(&file)]).await;
    assert!(!ok && again["error"].as_str().is_some(), "{again}");

    let kek = app.dir.path().join("key-encryption.key");
    let fresh = tempfile::tempdir().expect("dir");
    // Without the key-encryption key nothing is restored.
    let (ok, refused) = run_json(&["--data-dir", path(fresh.path()), "restore", path(&file)]).await;
    assert_refused(ok, &refused, "key-encryption key");
    // Nor into a directory that holds something.
    let (ok, refused) = run_json(&[
        "--data-dir",
        path(app.dir.path()),
        "restore",
        path(&file),
        "--key-file",
        path(&kek),
    ])
    .await;
    assert_refused(ok, &refused, "not empty");
    let (ok, restored) = run_json(&[
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
    assert_eq!(copy.token_status(&cc_client).await, 200);
    let introspected = copy.introspection(&cc_client, &access_token).await;
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
    let (ok, refused) = run_json(&[
        "--database-url",
        "postgres://tollgate@127.0.0.1:1/tollgate",
        "backup",
        path(&out.path().join("x")),
    ])
    .await;
    assert_refused(ok, &refused, "pg_dump");
}
