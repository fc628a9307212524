//! Faults of the SQLite file itself: a full disk (a small tmpfs filled up) and a file made
//! read-only under a running server (`chattr +i` on the database and its WAL, which also stops
//! writes through descriptors already open). Routes that write answer 503 in their dialect's format and the server recovers
//! once the store is writable, with no restart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tollgate_core::model::GrantType;

use crate::helpers::{TestApp, TestClient, eventually, spawn_on};

/// Writes a device authorization on each dialect that has one: the smallest request that must
/// reach the store.
async fn device_write(app: &TestApp, c: &TestClient, twilio: bool) -> reqwest::Response {
    if twilio {
        app.post_form(
            "/v1/device/code",
            &[
                ("ClientSid", c.id.as_str()),
                ("ClientSecret", &c.secret),
                ("Scopes", "read"),
            ],
        )
        .await
    } else {
        app.post_form(
            "/oauth/device_authorization",
            &[
                ("client_id", c.id.as_str()),
                ("client_secret", &c.secret),
                ("scope", "read"),
            ],
        )
        .await
    }
}

/// Writes until one answers 503 (a small write may still fit in pages SQLite already holds);
/// every answer before it must be a success, never a 500.
async fn first_refusal(app: &TestApp, c: &TestClient, twilio: bool) -> reqwest::Response {
    for _ in 0..200 {
        let resp = device_write(app, c, twilio).await;
        match resp.status().as_u16() {
            200 | 201 => continue,
            503 => return resp,
            other => panic!("a write on a broken store answered {other}"),
        }
    }
    panic!("200 writes on a broken store all succeeded");
}

async fn assert_refused_in_dialect(app: &TestApp, c: &TestClient) {
    let std = first_refusal(app, c, false).await;
    assert!(std.headers().contains_key("retry-after"));
    let b: Value = std.json().await.expect("json");
    assert_eq!(b["error"], "temporarily_unavailable", "{b}");
    let twilio = first_refusal(app, c, true).await;
    assert!(twilio.headers().contains_key("retry-after"));
    let b: Value = twilio.json().await.expect("json");
    assert_eq!(b["code"], 20503, "{b}");
    // The token hot path needs no write.
    assert_eq!(app.token_status(c).await, 200);
}

async fn assert_recovers(app: &TestApp, c: &TestClient) {
    let back = eventually(Duration::from_secs(5), || async {
        device_write(app, c, false).await.status() == 200
            && device_write(app, c, true).await.status() == 201
    })
    .await;
    assert!(back.is_some(), "writes succeed again with no restart");
}

async fn device_client(app: &TestApp) -> TestClient {
    let c = app
        .client_with(|s| {
            s.grant_types = vec![GrantType::ClientCredentials, GrantType::DeviceCode];
            s.scopes = vec!["read".into()];
        })
        .await;
    assert_eq!(device_write(app, &c, false).await.status(), 200);
    c
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tmpfs unmounted on drop (lazily: the server may still hold the file open).
struct SmallDisk(PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        run("umount", &["-l", &self.0.display().to_string()]);
    }
}

fn small_disk(at: &Path) -> Option<SmallDisk> {
    std::fs::create_dir_all(at).expect("mount point");
    let path = at.display().to_string();
    if !run("mount", &["-t", "tmpfs", "-o", "size=16m", "tmpfs", &path]) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs to mount a tmpfs (root)"
        );
        eprintln!("skipping: cannot mount a tmpfs");
        return None;
    }
    Some(SmallDisk(at.to_path_buf()))
}

/// Fills the disk holding `dir` until writes fail.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // Whatever fits in smaller pieces, so not one page is left.
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_is_survived() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(disk) = small_disk(&dir.path().join("store")) else {
        return;
    };
    let url = format!("sqlite://{}", disk.0.join("test.db").display());
    let store = disk.0.clone();
    let app = spawn_on(url, dir, |_| {}).await;
    let c = device_client(&app).await;

    let filler = fill(&store);
    assert_refused_in_dialect(&app, &c).await;

    std::fs::remove_file(&filler).expect("free the disk");
    assert_recovers(&app, &c).await;
    drop(app);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_file_is_survived() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("test.db");
    let url = format!("sqlite://{}", db.display());
    let app = spawn_on(url, dir, |_| {}).await;
    let c = device_client(&app).await;

    // Not the `-shm` index: SQLite maps it into memory, and a write to a mapped page of an
    // immutable file is a SIGBUS, not an error it could report.
    let files: Vec<String> = ["", "-wal"]
        .iter()
        .map(|s| format!("{}{s}", db.display()))
        .filter(|p| Path::new(p).exists())
        .collect();
    let mut args = vec!["+i"];
    args.extend(files.iter().map(String::as_str));
    if !run("chattr", &args) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs chattr on its temporary directory"
        );
        eprintln!("skipping: chattr +i refused");
        return;
    }
    assert_refused_in_dialect(&app, &c).await;

    args[0] = "-i";
    assert!(run("chattr", &args), "chattr -i");
    assert_recovers(&app, &c).await;
    let integrity: String = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("open");
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .expect("integrity_check")
    };
    assert_eq!(integrity, "ok");
}
