//! node's openid-client v6 against a real server (tests/node/openid_client.mjs):
//! client_credentials with private_key_jwt + DPoP, then PAR + PKCE + DPoP for a FAPI 2.0
//! client, a refresh and userinfo with DPoP; this test signs the user in. Needs `node` and
//! `npm ci` in tests/node (`.ci/run` does it); skipped without them, except under `CI=true`.

use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::ClientKey;
use crate::helpers::{Backend, spawn_app_with};
use crate::helpers::{Browser, REDIRECT};
use tollgate_testkit::on_both_backends;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node");

async fn openid_client_fapi(backend: Backend) {
    if !std::path::Path::new(DIR)
        .join("node_modules/openid-client")
        .exists()
    {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI needs `npm ci` in {DIR}"
        );
        eprintln!("skipping the openid-client test: run `npm ci` in {DIR}");
        return;
    }
    // Server nonces on: openid-client must answer the use_dpop_nonce challenge.
    let Some(app) = spawn_app_with(backend, |c| c.engine.dpop_nonce = true).await else {
        return;
    };
    app.user("node@example.com").await;
    let cc_key = ClientKey::es256();
    let cc = app.key_client(&cc_key).await;
    let fapi_key = ClientKey::es256();
    let fapi = app.fapi_client(&fapi_key).await;
    let b64 = |k: &ClientKey| base64::engine::general_purpose::STANDARD.encode(&k.pkcs8);
    let mut child = tokio::process::Command::new("node")
        .arg("openid_client.mjs")
        .current_dir(DIR)
        .env("TOLLGATE_BASE", &app.base)
        .env("CC_CLIENT_ID", cc.id.as_str())
        .env("CC_PKCS8", b64(&cc_key))
        .env("CC_KID", &cc_key.kid)
        .env("FAPI_CLIENT_ID", fapi.id.as_str())
        .env("FAPI_PKCS8", b64(&fapi_key))
        .env("FAPI_KID", &fapi_key.kid)
        .env("REDIRECT_URI", REDIRECT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = String::new();
    let browser = Browser::new(&app);
    let drive = async {
        while let Ok(Some(line)) = out.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(url) = line.strip_prefix("AUTHORIZE ") {
                let back = browser.authorize(url, "node@example.com").await;
                stdin
                    .write_all(format!("{back}\n").as_bytes())
                    .await
                    .expect("stdin");
            }
        }
    };
    let finished = tokio::time::timeout(Duration::from_secs(90), drive).await;
    let output = child.wait_with_output().await.expect("node exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        finished.is_ok(),
        "openid-client timed out:\n{seen}\n{stderr}"
    );
    assert!(output.status.success(), "{seen}\n{stderr}");
    assert!(seen.contains("all openid-client checks passed"), "{seen}");
    println!("{seen}");
}

on_both_backends!(openid_client_fapi);
