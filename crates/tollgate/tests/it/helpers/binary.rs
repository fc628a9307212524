//! The `tollgate` binary run as operators run it: the CLI's one JSON answer, a `serve`
//! process's banner, and the arguments the tests pass again and again.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{REDIRECT, TestApp};

/// How long a starting server may take to print its banner.
const BANNER_WITHIN: Duration = Duration::from_secs(30);

/// The binary, with nothing set.
pub fn tollgate_command() -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
}

/// What a `--json` run answered: whether it succeeded, and the one JSON object it printed.
pub fn cli_answer(out: &std::process::Output) -> (bool, Value) {
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf-8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object on stdout ({e}): {stdout} {stderr}"));
    (out.status.success(), value)
}

/// Runs the binary with `--json` and `args` alone (the key-encryption key only from them).
pub async fn run_json(args: &[&str]) -> (bool, Value) {
    let out = tollgate_command()
        .arg("--json")
        .args(args)
        .env_remove("TOLLGATE_KEY_ENCRYPTION_KEY")
        .output()
        .await
        .expect("run tollgate");
    cli_answer(&out)
}

/// A run that must have succeeded (its stdout shown if not).
pub fn assert_succeeded(out: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
}

/// A `--json` run that must have succeeded: the JSON it printed.
pub fn succeeded_json(out: &std::process::Output) -> Value {
    assert_succeeded(out);
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A failed run whose error names `why`.
pub fn assert_refused(ok: bool, answer: &Value, why: &str) {
    assert!(!ok, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains(why)),
        "{why}: {answer}"
    );
}

/// The banner a `serve --json` child prints once it listens.
pub async fn banner(child: &mut tokio::process::Child) -> Value {
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    tokio::time::timeout(BANNER_WITHIN, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("the server prints its banner")
        .expect("read");
    serde_json::from_str(&line).expect("banner JSON")
}

/// `serve --json` on loopback port 0 with the data directory `dir`; a test adds the rest.
pub fn serve_command(dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tollgate_command();
    cmd.args(["serve", "--json", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    cmd
}

/// Starts a `serve --json` command with its log sent to `stderr`, killed when dropped: the
/// child and the banner it printed.
pub async fn start_serving(
    cmd: &mut tokio::process::Command,
    stderr: impl Into<std::process::Stdio>,
) -> (tokio::process::Child, Value) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("start tollgate");
    let banner = banner(&mut child).await;
    (child, banner)
}

/// `user create` arguments for `email` with `password`.
pub fn user_create_args<'a>(email: &'a str, password: &'a str) -> [&'a str; 6] {
    ["user", "create", "--email", email, "--password", password]
}

/// `client create` arguments for the app `name` with `grants`, redirecting to `REDIRECT`
/// with the scope `read`.
pub fn client_create_args<'a>(name: &'a str, grants: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["client", "create", "--name", name];
    for grant in grants {
        args.extend(["--grant", grant]);
    }
    args.extend(["--redirect-uri", REDIRECT, "--scope", "read"]);
    args
}

impl TestApp {
    /// The binary on this app's database and data directory.
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tollgate_command();
        cmd.arg("--database-url")
            .arg(&self.database_url)
            .arg("--data-dir")
            .arg(self.dir.path());
        cmd
    }

    /// Runs the CLI on this app's database and data directory with `--json`.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let out = self.command().arg("--json").args(args).output().await;
        out.expect("run tollgate")
    }

    /// `cli`'s answer: whether it succeeded, and the one JSON object it printed.
    pub async fn cli_json(&self, args: &[&str]) -> (bool, Value) {
        cli_answer(&self.cli(args).await)
    }
}
