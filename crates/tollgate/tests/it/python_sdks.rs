//! Twilio's Python SDK and Authlib against a real server (tests/python/seed_sdks.py). The
//! interpreter is `TOLLGATE_TEST_PYTHON` (a virtualenv `.ci/run` fills from
//! tests/python/requirements.txt); without it the test is skipped, except under `CI=true`.

use tollgate_core::model::GrantType;

use crate::helpers::{Backend, spawn_app};
use crate::helpers::{PASSWORD, REDIRECT};
use tollgate_testkit::on_both_backends;

async fn twilio_python_and_authlib(backend: Backend) {
    let python = match std::env::var("TOLLGATE_TEST_PYTHON") {
        Ok(p) => p,
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping the Python SDK test: TOLLGATE_TEST_PYTHON is not set");
            return;
        }
        Err(_) => panic!("CI needs TOLLGATE_TEST_PYTHON (set by .ci/run)"),
    };
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cc = app.client().await;
    let code = app
        .client_with(|s| {
            s.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            s.redirect_uris = vec![REDIRECT.into()];
            s.scopes = vec!["read".into()];
        })
        .await;
    app.user("python@example.com").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/seed_sdks.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .env("TOLLGATE_BASE", &app.base)
        .env("TOLLGATE_ACCOUNT_SID", app.account.sid.as_str())
        .env("TOLLGATE_AUTH_TOKEN", &app.auth_token)
        .env("TOLLGATE_CC_CLIENT_ID", cc.id.as_str())
        .env("TOLLGATE_CC_CLIENT_SECRET", &cc.secret)
        .env("TOLLGATE_CODE_CLIENT_ID", code.id.as_str())
        .env("TOLLGATE_CODE_CLIENT_SECRET", &code.secret)
        .env("TOLLGATE_REDIRECT_URI", REDIRECT)
        .env("TOLLGATE_USER_EMAIL", "python@example.com")
        .env("TOLLGATE_USER_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    println!("{stdout}");
}

on_both_backends!(twilio_python_and_authlib);
