//! `tollgate migrate`: a server's SQLite database copied into a fresh PostgreSQL database, and
//! PostgreSQL nodes started on it at the same public address honour everything the SQLite
//! server issued: the access token introspects under the same key, the refresh token rotates
//! and its family's reuse rule holds across nodes, the client secret, the account's auth
//! token and the user's password all authenticate; a code issued before the move redeems after
//! it, a revoked access token stays revoked, and the browser's session still signs it in.

use serde_json::Value;

use crate::helpers::binary::{assert_refused, run_json};
use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, VERIFIER, authorize_url, code_flow, fresh_database, json,
    query_param, read_code, redeem, refresh, spawn_on,
};

async fn node(url: &str, kek: &str, listen: &str, issuer: &str) -> TestApp {
    let (kek, listen, issuer) = (kek.to_owned(), listen.to_owned(), issuer.to_owned());
    spawn_on(url.to_owned(), tempfile::tempdir().expect("dir"), |c| {
        c.key_encryption_key = Some(kek);
        c.listen = listen;
        c.engine.issuer = issuer;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_to_postgres_and_everything_keeps_working() {
    let email = "mover@example.com";
    let Some((app, client, browser)) = code_flow(Backend::Sqlite, email).await else {
        return;
    };
    let pg_dir = tempfile::tempdir().expect("dir");
    let Some(pg) = fresh_database(Backend::Postgres, &pg_dir).await else {
        return;
    };
    let code = read_code(&browser, &client, email).await;
    let first = json(redeem(&app, &client, &code, Some(VERIFIER)).await, 200).await;
    let refresh_token = first["refresh_token"].as_str().expect("refresh").to_owned();
    let cc_client = app.client().await;
    let access_token = app.access_token(&cc_client).await;
    // Issued on SQLite and used only after the move: a live code, a revoked access token.
    let live_code = read_code(&browser, &client, email).await;
    let revoked_token = app.access_token(&cc_client).await;
    app.revoke(&cc_client, &revoked_token).await;
    let kid = jsonwebtoken::decode_header(&access_token)
        .expect("header")
        .kid
        .expect("kid");
    let kek = std::fs::read_to_string(app.dir.path().join("key-encryption.key")).expect("kek");
    let (base, addr, account, auth_token) = (
        app.base.clone(),
        app.server.addr.to_string(),
        app.account.sid.to_string(),
        app.auth_token.clone(),
    );
    let sqlite_url = app.database_url.clone();
    let TestApp { server, dir, .. } = app;
    server.stop().await.expect("the SQLite server stops");

    let (ok, report) = run_json(&["migrate", "--from", &sqlite_url, "--to", &pg]).await;
    assert!(ok, "{report}");
    let tables = report["tables"].as_array().expect("tables");
    let rows_of = |name: &str| {
        tables
            .iter()
            .find(|t| t["table"] == name)
            .and_then(|t| t["rows"].as_u64())
            .unwrap_or_else(|| panic!("{name} in {report}"))
    };
    assert!(rows_of("clients") >= 2 && rows_of("users") == 1 && rows_of("signing_keys") >= 1);
    assert!(rows_of("refresh_families") == 1 && rows_of("changes") >= 1);
    assert!(report["change_log_position"].as_i64().expect("position") >= 1);
    // Only into an empty database.
    let (ok, refused) = run_json(&["migrate", "--from", &sqlite_url, "--to", &pg]).await;
    assert_refused(ok, &refused, "not empty");
    drop(dir);

    // The same public address, now served from PostgreSQL by two nodes.
    let n1 = node(&pg, &kek, &addr, &base).await;
    let n2 = node(&pg, &kek, "127.0.0.1:0", &base).await;
    assert_eq!(n1.base, base);
    assert!(n1.jwks().await.find(&kid).is_some(), "the same signing key");
    let introspected = n2.introspection(&cc_client, &access_token).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    let still_revoked = n1.introspection(&cc_client, &revoked_token).await;
    assert_eq!(still_revoked["active"], false, "{still_revoked}");
    json(redeem(&n2, &client, &live_code, Some(VERIFIER)).await, 200).await;
    // The browser's session from SQLite: authorize answers with a code, no sign-in page.
    let url = format!(
        "{}{}",
        n1.base,
        authorize_url(
            "/oauth/authorize",
            &client,
            &[
                ("scope", "read"),
                ("code_challenge", &tollgate_core::authorize::s256(VERIFIER)),
                ("code_challenge_method", "S256"),
            ]
        )
    );
    let resp = browser.http.get(&url).send().await.expect("authorize");
    let to = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        resp.status().is_redirection() && to.starts_with(REDIRECT),
        "the session carried over: {} {to}",
        resp.status()
    );
    let carried = query_param(&to, "code").expect("code");
    json(redeem(&n1, &client, &carried, Some(VERIFIER)).await, 200).await;
    assert_eq!(n2.token_status(&cc_client).await, 200);

    // The refresh token rotates; a reuse past the grace window on another node revokes the
    // family, so the rotated token stops working too.
    let rotated = json(refresh(&n1, &client, &refresh_token).await, 200).await;
    let second = rotated["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    n2.advance(60);
    let reuse = refresh(&n2, &client, &refresh_token).await;
    assert_eq!(reuse.status(), 400);
    let reuse: Value = reuse.json().await.expect("json");
    assert_eq!(reuse["error"], "invalid_grant");
    n1.advance(60);
    assert_eq!(refresh(&n1, &client, &second).await.status(), 400);

    // The account's auth token and the user's password authenticate.
    let apps = n1
        .http
        .get(n1.url("/v1/Account/OAuthApps"))
        .basic_auth(&account, Some(&auth_token))
        .send()
        .await
        .expect("admin API");
    assert_eq!(apps.status(), 200);
    let browser = Browser::new(&n1);
    let code = read_code(&browser, &client, email).await;
    let again = json(redeem(&n1, &client, &code, Some(VERIFIER)).await, 200).await;
    assert!(again["refresh_token"].as_str().is_some());
    // A new change on PostgreSQL follows the copied change log.
    let fresh = n1.client().await;
    assert_eq!(n2.token_status(&fresh).await, 200);
}
