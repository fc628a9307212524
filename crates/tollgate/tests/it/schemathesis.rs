//! Schemathesis (from PyPI, in the virtualenv `.ci/run` fills) against `/openapi.json` of a
//! real server process: every operation, a bounded number of examples each. It fails on a 5xx,
//! on a status, content type or body the description does not allow, and on a panic in the
//! server's log.

use crate::helpers::binary::{serve_command, start_serving};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let Ok(python) = std::env::var("TOLLGATE_TEST_PYTHON") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs TOLLGATE_TEST_PYTHON (set by .ci/run)"
        );
        eprintln!("skipping schemathesis: TOLLGATE_TEST_PYTHON is not set");
        return;
    };
    let schemathesis = std::path::Path::new(&python).with_file_name("schemathesis");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("server.log");
    let mut cmd = serve_command(dir.path());
    cmd.env_remove("TOLLGATE_DATABASE_URL")
        .env("TOLLGATE_LOG", "warn")
        // Deeper than the failure budget: most generated requests fail authentication.
        .env("TOLLGATE_AUTH_FAILURES_PER_MINUTE", "1000000");
    let (mut server, banner) =
        start_serving(&mut cmd, std::fs::File::create(&log).expect("log")).await;
    let base = banner["listening"].as_str().expect("listening").to_owned();
    let basic = format!(
        "Authorization: Basic {}",
        base64_of(&format!(
            "{}:{}",
            banner["account_sid"].as_str().expect("account"),
            banner["auth_token"].as_str().expect("token")
        ))
    );
    let out = tokio::process::Command::new(&schemathesis)
        .args(["run", &format!("{base}/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
            "--max-examples",
            "15",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--workers",
            "1",
            "-H",
            &basic,
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .expect("run schemathesis");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = server.kill().await;
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        !text.contains("panicked"),
        "a panic in the server log:\n{text}"
    );
    assert!(out.status.success(), "{report}");
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
