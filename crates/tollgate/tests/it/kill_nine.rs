//! kill -9 at a random moment while a client rotates refresh tokens and redeems codes: after a
//! restart every token the client received still works or has expired, no refresh family is
//! lost or duplicated, and the SQLite file passes `PRAGMA integrity_check`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;

use crate::helpers::binary::{
    client_create_args, serve_command, start_serving, tollgate_command, user_create_args,
};
use crate::helpers::introspect_at;
use crate::helpers::{Backend, fresh_database};
use crate::helpers::{Browser, PASSWORD, REDIRECT, query_param};
use tollgate_testkit::on_both_backends;

async fn start(dir: &std::path::Path, db: &str) -> (tokio::process::Child, String) {
    let mut cmd = serve_command(dir);
    cmd.args(["--database-url", db])
        // A fixed public name: the restarted process listens on another port.
        .args(["--issuer", "http://tollgate.test"])
        .env("TOLLGATE_LOG", "warn");
    let (child, banner) = start_serving(&mut cmd, Stdio::null()).await;
    (
        child,
        banner["listening"].as_str().expect("listening").to_owned(),
    )
}

async fn cli(dir: &std::path::Path, db: &str, args: &[&str]) -> Value {
    let out = tollgate_command()
        .arg("--data-dir")
        .arg(dir)
        .args(["--database-url", db, "--json"])
        .args(args)
        .output()
        .await
        .expect("cli");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A moment that differs from run to run.
fn random_below(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % n
}

async fn kill_nine_loses_nothing(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = fresh_database(backend, &dir).await else {
        return;
    };
    let (mut server, base) = start(dir.path(), &db).await;
    let grants = ["authorization_code", "refresh_token"];
    let app = cli(dir.path(), &db, &client_create_args("k9", &grants)).await;
    let (id, secret) = (
        app["client_id"].as_str().expect("id").to_owned(),
        app["client_secret"].as_str().expect("secret").to_owned(),
    );
    cli(
        dir.path(),
        &db,
        &user_create_args("k9@example.com", PASSWORD),
    )
    .await;
    let http = reqwest::Client::new();
    let token_call = |base: String, form: Vec<(&'static str, String)>| {
        let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
        async move {
            http.post(format!("{base}/oauth/token"))
                .basic_auth(&id, Some(&secret))
                .form(&form)
                .send()
                .await
        }
    };
    let browser = Browser::for_base(&base);
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={id}&redirect_uri={REDIRECT}&scope=read"
    );
    let mut received_access = Vec::new();
    let mut refresh = String::new();
    // A refresh step (codes are redeemed on every fifth), so a code's tokens are never lost
    // in flight: the family count below stays exact.
    let kill_at = {
        let k = 6 + random_below(30);
        if k.is_multiple_of(5) { k + 1 } else { k }
    };
    for step in 0..200u64 {
        if step == kill_at {
            // The kill lands while this rotation is in flight (or just before or after it).
            let form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ];
            let form = form.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            let pid = server.id().expect("pid").to_string();
            let (resp, _) = tokio::join!(token_call(base.clone(), form), async {
                tokio::time::sleep(Duration::from_micros(random_below(3000))).await;
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status();
            });
            if let Ok(r) = resp
                && r.status() == 200
                && let Ok(t) = r.json::<Value>().await
            {
                received_access.push(t["access_token"].as_str().expect("at").to_owned());
                refresh = t["refresh_token"].as_str().expect("rt").to_owned();
            }
            let _ = server.wait().await;
            break;
        }
        // Every fifth step redeems a new code; the others rotate the refresh token.
        let form = if step % 5 == 0 {
            let back = browser.authorize(&url, "k9@example.com").await;
            let code = query_param(&back, "code").expect("code");
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", REDIRECT.to_owned()),
            ]
        } else {
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.clone()),
            ]
        };
        let resp = token_call(base.clone(), form).await.expect("token");
        assert_eq!(resp.status(), 200, "step {step}");
        let t: Value = resp.json().await.expect("json");
        received_access.push(t["access_token"].as_str().expect("at").to_owned());
        refresh = t["refresh_token"].as_str().expect("rt").to_owned();
    }

    let (mut server, base) = start(dir.path(), &db).await;
    // The last refresh token received still rotates (a rotation lost in flight is repeated
    // inside the grace window).
    let resp = token_call(
        base.clone(),
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh),
        ],
    )
    .await
    .expect("token");
    assert_eq!(
        resp.status(),
        200,
        "the last refresh token survived the kill"
    );
    // Every access token received before the kill is still active (none has expired yet).
    for at in &received_access {
        let v = introspect_at(&http, &base, (&id, &secret), at).await;
        assert_eq!(v["active"], true, "an access token was lost");
    }
    server.start_kill().expect("kill");
    let _ = server.wait().await;
    // One family per redeemed code, none lost or duplicated; the file is intact.
    let codes = kill_at.div_ceil(5) as i64;
    let families: i64 = match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db).await.expect("sqlite");
            let ok: (String,) = sqlx::query_as("PRAGMA integrity_check")
                .fetch_one(&mut c)
                .await
                .expect("integrity");
            assert_eq!(ok.0, "ok");
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM refresh_families")
                .fetch_one(&mut c)
                .await
                .expect("count")
                .0
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db).await.expect("pg");
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM refresh_families")
                .fetch_one(&mut c)
                .await
                .expect("count")
                .0
        }
    };
    assert_eq!(families, codes, "one refresh family per redeemed code");
}

on_both_backends!(kill_nine_loses_nothing);
