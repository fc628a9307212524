//! Faults survived: a private PostgreSQL cluster (initdb/pg_ctl in a temporary directory, as the
//! `postgres` user, on a free port — never the machine's shared cluster) is stopped under a
//! running Tollgate and started again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tollgate_core::admin::ClientSpec;
use tollgate_core::model::GrantType;

use crate::helpers::{eventually, retry_later, spawn_on};

const GUARD: Duration = Duration::from_secs(30);

/// Debian's PostgreSQL server binaries, if installed.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Cluster {
    bin: PathBuf,
    data: String,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port, self.data
        );
        as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data, "-o", &opts, "-w", "start"],
        )
    }

    fn stop(&self) -> bool {
        as_postgres(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data, "-m", "fast", "-w", "stop"],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn private_cluster() -> Option<Cluster> {
    let Some(bin) = pg_bin() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs PostgreSQL's initdb"
        );
        eprintln!("skipping: no initdb");
        return None;
    };
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("pgdata");
    std::fs::create_dir(&data).expect("pgdata");
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(chown, "chown the cluster directory to postgres");
    let data = data.display().to_string();
    assert!(
        as_postgres(
            &bin,
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres"]
        ),
        "initdb"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let cluster = Cluster {
        bin,
        data,
        port,
        _dir: dir,
    };
    assert!(cluster.start(), "pg_ctl start");
    Some(cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_is_survived() {
    let Some(pg) = private_cluster() else {
        return;
    };
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
    let app = spawn_on(url, tempfile::tempdir().expect("dir"), |_| {}).await;
    let (c, s) = app
        .server
        .admin()
        .create_client(ClientSpec {
            friendly_name: "steady".into(),
            account_sid: Some(app.account.sid.clone()),
            grant_types: vec![GrantType::ClientCredentials, GrantType::RefreshToken],
            ..ClientSpec::default()
        })
        .await
        .expect("client");
    app.server.engine.sync().await.expect("sync");
    let (id, secret) = (c.id.to_string(), s.expect("secret").expose().to_owned());
    assert_eq!(app.client_credentials(&id, &secret).await.status(), 200);
    assert_eq!(app.get_json("/readyz").await["status"], "ready");

    assert!(pg.stop(), "pg_ctl stop");
    let down = eventually(GUARD, || async { app.readyz_is(503).await }).await;
    assert!(down.is_some(), "readyz says 503 while PostgreSQL is down");
    // The token hot path needs no database.
    assert_eq!(app.client_credentials(&id, &secret).await.status(), 200);
    // Routes that need it answer 503 in their dialect, with Retry-After, and do not hang.
    let std = tokio::time::timeout(
        GUARD,
        app.post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "whatever"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        ),
    )
    .await
    .expect("an answer, not a hang");
    let b = retry_later(std, 503, "std").await;
    assert_eq!(b["error"], "temporarily_unavailable");
    let twilio = app
        .post_form(
            "/v2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "whatever"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await;
    let b = retry_later(twilio, 503, "twilio").await;
    assert_eq!(b["code"], 20503);

    assert!(pg.start(), "pg_ctl start again");
    let back = eventually(Duration::from_secs(5), || async {
        app.readyz_is(200).await
    })
    .await;
    assert!(
        back.is_some(),
        "full service within 5 s, no restart of Tollgate"
    );
    let refused = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "whatever"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(
        refused.status(),
        400,
        "the store answers again (an unknown token)"
    );
}
