//! The reference HA topology for the failover test, from Debian's packages: etcd, two
//! PostgreSQL 15 members under Patroni with `synchronous_mode` (run as the `postgres` user in a
//! temporary directory, on free ports — never the shared cluster) and HAProxy routing to the
//! primary by Patroni's REST check. Everything started is stopped on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::eventually;

pub const GUARD: Duration = Duration::from_secs(90);
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

pub fn have_tools() -> bool {
    let found = ["patroni", "etcd", "haproxy"].iter().all(|t| {
        Command::new("which")
            .arg(t)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) && Path::new(PG_BIN).join("initdb").exists();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs patroni, etcd-server, haproxy and PostgreSQL 15"
        );
        eprintln!("skipping: patroni, etcd, haproxy or PostgreSQL 15 missing");
    }
    found
}

pub struct Member {
    pub name: String,
    pub rest: u16,
    pub data: PathBuf,
    config: PathBuf,
    log: PathBuf,
    patroni: std::process::Child,
}

impl Member {
    /// Patroni as the `postgres` user; its output is appended to the member's log.
    fn spawn_patroni(config: &Path, log: &Path, home: &Path) -> std::process::Child {
        let (uid, gid) = postgres_ids();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log");
        let err = out.try_clone().expect("log");
        // Patroni itself is the child (not a runuser wrapper), so the test can stop it.
        Command::new("patroni")
            .arg(config)
            .uid(uid)
            .gid(gid)
            .env("HOME", home)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("patroni")
    }

    /// The running postmaster's pid, from its pid file.
    fn postmaster_pid(&self) -> Option<String> {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        pid.lines().next().map(|l| l.trim().to_owned())
    }

    /// What the member's Patroni wrote.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Topology {
    pub fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.name == name)
            .expect("a member of that name")
    }

    /// An unplanned loss of the whole member: its Patroni and its postmaster die by SIGKILL,
    /// so nothing restarts PostgreSQL there and its leader key expires after the TTL.
    pub fn kill_member(&mut self, name: &str) {
        let m = self
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .expect("a member of that name");
        let pid = m.postmaster_pid().expect("postmaster.pid");
        let _ = m.patroni.kill();
        let _ = m.patroni.wait();
        let killed = Command::new("kill").args(["-9", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()), "SIGKILL the postmaster");
    }

    /// The member whose role is `role`, as any member's Patroni still answering reports it.
    pub async fn with_role(&self, http: &reqwest::Client, role: &str) -> Option<String> {
        for m in &self.members {
            if let Some(c) = cluster(http, m.rest).await {
                return c["members"]
                    .as_array()?
                    .iter()
                    .find(|m| m["role"] == role && m["state"] == "running")
                    .and_then(|m| m["name"].as_str().map(str::to_owned));
            }
        }
        None
    }

    /// Starts the member's Patroni again (after [`Topology::kill_member`]).
    pub fn restart_member(&mut self, name: &str) {
        let home = self.dir.path().to_path_buf();
        let m = self
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .expect("a member of that name");
        m.patroni = Member::spawn_patroni(&m.config, &m.log, &home);
    }
}

pub struct Topology {
    etcd: std::process::Child,
    pub members: Vec<Member>,
    haproxy: Option<std::process::Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Some(h) = &mut self.haproxy {
            let _ = h.kill();
            let _ = h.wait();
        }
        for m in &mut self.members {
            let _ = m.patroni.kill();
            let _ = m.patroni.wait();
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(Path::new(PG_BIN).join("pg_ctl"))
                .args([
                    "-D",
                    &m.data.display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.etcd.kill();
        let _ = self.etcd.wait();
    }
}

fn patroni_yaml(dir: &Path, name: &str, rest: u16, pg: u16, etcd: u16) -> String {
    format!(
        r"scope: tollgate
name: {name}
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd:
  host: 127.0.0.1:{etcd}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: 'on'
  initdb:
  - encoding: UTF8
  - auth: trust
postgresql:
  listen: 127.0.0.1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {d}/{name}
  bin_dir: {PG_BIN}
  pgpass: {d}/{name}.pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: {d}
  pg_hba:
  - host replication all 127.0.0.1/32 trust
  - host all all 127.0.0.1/32 trust
  - local all all trust
",
        d = dir.display()
    )
}

fn haproxy_cfg(port: u16, members: &[(u16, u16)]) -> String {
    let mut cfg = format!(
        r"defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen postgres
    bind 127.0.0.1:{port}
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
"
    );
    for (i, (rest, pg)) in members.iter().enumerate() {
        cfg.push_str(&format!(
            "    server m{} 127.0.0.1:{pg} check port {rest}\n",
            i + 1
        ));
    }
    cfg
}

async fn cluster(http: &reqwest::Client, rest: u16) -> Option<Value> {
    let resp = http
        .get(format!("http://127.0.0.1:{rest}/cluster"))
        .send()
        .await
        .ok()?;
    resp.json().await.ok()
}

/// The member whose role is `role` (`leader`, `sync_standby`), as Patroni reports it.
pub async fn member_with(http: &reqwest::Client, rest: u16, role: &str) -> Option<String> {
    let c = cluster(http, rest).await?;
    c["members"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == role && m["state"] == "running")
        .and_then(|m| m["name"].as_str().map(str::to_owned))
}

/// The `postgres` user's uid and gid.
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .expect("a postgres user")
    };
    (id("-u"), id("-g"))
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> std::process::Child {
    let out = std::fs::File::create(log).expect("log");
    let err = out.try_clone().expect("log");
    cmd.stdout(out).stderr(err).spawn().expect("spawn")
}

pub async fn topology(http: &reqwest::Client) -> Topology {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_path_buf();
    let (etcd_client, etcd_peer) = (free_port(), free_port());
    let etcd = spawn_logged(
        Command::new("etcd").args([
            "--name",
            "e1",
            "--data-dir",
            &d.join("etcd").display().to_string(),
            "--listen-client-urls",
            &format!("http://127.0.0.1:{etcd_client}"),
            "--advertise-client-urls",
            &format!("http://127.0.0.1:{etcd_client}"),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{etcd_peer}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{etcd_peer}"),
            "--initial-cluster",
            &format!("e1=http://127.0.0.1:{etcd_peer}"),
            "--enable-v2=true",
        ]),
        &d.join("etcd.log"),
    );
    let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
    // Built first, so whatever fails below still stops what was started.
    let mut topo = Topology {
        etcd,
        members: Vec::new(),
        haproxy: None,
        port: free_port(),
        dir,
    };
    for (i, (rest, pg)) in ports.iter().enumerate() {
        let name = format!("m{}", i + 1);
        std::fs::write(
            d.join(format!("{name}.yml")),
            patroni_yaml(&d, &name, *rest, *pg, etcd_client),
        )
        .expect("patroni config");
    }
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(&d)
        .status();
    assert!(chown.is_ok_and(|s| s.success()), "chown to postgres");
    for (i, (rest, _)) in ports.iter().enumerate() {
        let name = format!("m{}", i + 1);
        let config = d.join(format!("{name}.yml"));
        let log = d.join(format!("{name}.log"));
        let patroni = Member::spawn_patroni(&config, &log, &d);
        topo.members.push(Member {
            name: name.clone(),
            rest: *rest,
            data: d.join(&name),
            config,
            log,
            patroni,
        });
        let want = if i == 0 { "leader" } else { "sync_standby" };
        let up = eventually(GUARD, || async {
            member_with(http, ports[0].0, want).await.is_some()
        })
        .await;
        assert!(
            up.is_some(),
            "{name} is {want}: {}",
            std::fs::read_to_string(d.join(format!("{name}.log"))).unwrap_or_default()
        );
    }
    std::fs::write(d.join("haproxy.cfg"), haproxy_cfg(topo.port, &ports)).expect("haproxy config");
    topo.haproxy = Some(spawn_logged(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(d.join("haproxy.cfg")),
        &d.join("haproxy.log"),
    ));
    // HAProxy starts with every server up until its checks say otherwise: wait until ten
    // connections in a row reach the primary.
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", topo.port);
    let in_a_row = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let routed = eventually(GUARD, || {
        let url = url.clone();
        let in_a_row = in_a_row.clone();
        async move {
            use sqlx::Connection;
            let primary = match sqlx::PgConnection::connect(&url).await {
                Ok(mut c) => sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()")
                    .fetch_one(&mut c)
                    .await
                    .is_ok_and(|recovering| !recovering),
                Err(_) => false,
            };
            if primary {
                in_a_row.fetch_add(1, Ordering::SeqCst) + 1 >= 10
            } else {
                in_a_row.store(0, Ordering::SeqCst);
                false
            }
        }
    })
    .await;
    assert!(routed.is_some(), "HAProxy routes to the primary");
    topo
}
