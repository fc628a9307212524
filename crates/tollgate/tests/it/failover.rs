//! The reference HA topology from Debian's packages: etcd, two PostgreSQL 15 members under
//! Patroni with `synchronous_mode` (as the `postgres` user, in temporary directories, on free
//! ports — never the shared cluster), HAProxy routing to the primary by Patroni's REST check,
//! and three Tollgate nodes. A client loop of client_credentials, refresh rotations and code
//! redemptions runs while the primary's postmaster is killed (SIGKILL) and later switched over
//! by plan. Checked: client_credentials answered every time; store routes answered 200 or 503
//! in their format; every acknowledged refresh token still rotates and none of their
//! predecessors does (no chain forked); a revocation reaches every node.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::helpers::{
    Browser, REDIRECT, TestApp, TestClient, VERIFIER, authorize_url, eventually, json, query_param,
    read_code, redeem, refresh, spawn_on,
};

const GUARD: Duration = Duration::from_secs(90);
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn have_tools() -> bool {
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

struct Member {
    name: String,
    rest: u16,
    data: PathBuf,
    patroni: std::process::Child,
}

struct Topology {
    etcd: std::process::Child,
    members: Vec<Member>,
    haproxy: Option<std::process::Child>,
    port: u16,
    _dir: tempfile::TempDir,
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
async fn member_with(http: &reqwest::Client, rest: u16, role: &str) -> Option<String> {
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

async fn topology(http: &reqwest::Client) -> Topology {
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
        _dir: dir,
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
    let postgres = postgres_ids();
    for (i, (rest, _)) in ports.iter().enumerate() {
        let name = format!("m{}", i + 1);
        // Patroni itself is the child (not a runuser wrapper), so the test can stop it.
        let patroni = spawn_logged(
            Command::new("patroni")
                .arg(d.join(format!("{name}.yml")))
                .uid(postgres.0)
                .gid(postgres.1)
                .env("HOME", &d),
            &d.join(format!("{name}.log")),
        );
        topo.members.push(Member {
            name: name.clone(),
            rest: *rest,
            data: d.join(&name),
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

#[derive(Default)]
struct Tally {
    cc_failures: Vec<String>,
    bad_answers: Vec<String>,
    /// Per refresh chain: every acknowledged token, oldest first.
    chains: Vec<Vec<String>>,
    /// Rotations acknowledged since the last `mark`.
    rotations_since_mark: Vec<usize>,
}

/// A 503 must be in the RFC format with `Retry-After`.
async fn check_refusal(resp: reqwest::Response, what: &str, tally: &Mutex<Tally>) {
    let retry = resp.headers().contains_key("retry-after");
    let body: Value = resp.json().await.unwrap_or_default();
    if body["error"] != "temporarily_unavailable" || !retry {
        tally
            .lock()
            .await
            .bad_answers
            .push(format!("{what}: 503 {body}"));
    }
}

async fn client_loop(
    nodes: Arc<Vec<TestApp>>,
    cc: TestClient,
    code: TestClient,
    browser: Browser,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) {
    let mut round = 0usize;
    while !stop.load(Ordering::SeqCst) {
        round += 1;
        let i = round % nodes.len();
        let n = &nodes[i];
        match n
            .client_credentials(cc.id.as_str(), &cc.secret)
            .await
            .status()
            .as_u16()
        {
            200 => {}
            other => tally
                .lock()
                .await
                .cc_failures
                .push(format!("node {i}: {other}")),
        }
        let chain = round % 2;
        let current = tally.lock().await.chains[chain]
            .last()
            .cloned()
            .expect("token");
        let resp = refresh(n, &code, &current).await;
        match resp.status().as_u16() {
            200 => {
                let body: Value = resp.json().await.expect("json");
                let next = body["refresh_token"].as_str().expect("refresh").to_owned();
                let mut t = tally.lock().await;
                t.chains[chain].push(next);
                t.rotations_since_mark[i] += 1;
            }
            503 => check_refusal(resp, "refresh", &tally).await,
            other => {
                let body = resp.text().await.unwrap_or_default();
                tally
                    .lock()
                    .await
                    .bad_answers
                    .push(format!("refresh on node {i}: {other} {body}"));
            }
        }
        if round.is_multiple_of(3) {
            let url = format!(
                "{}{}",
                n.base,
                authorize_url(
                    "/oauth/authorize",
                    &code,
                    &[
                        ("scope", "read"),
                        ("code_challenge", &tollgate_core::authorize::s256(VERIFIER)),
                        ("code_challenge_method", "S256"),
                    ]
                )
            );
            match browser.http.get(&url).send().await {
                Ok(resp) if resp.status().is_redirection() => {
                    let to = resp.headers()["location"]
                        .to_str()
                        .unwrap_or_default()
                        .to_owned();
                    if let (true, Some(c)) = (to.starts_with(REDIRECT), query_param(&to, "code")) {
                        let r = redeem(n, &code, &c, Some(VERIFIER)).await;
                        match r.status().as_u16() {
                            200 | 503 => {}
                            other => tally
                                .lock()
                                .await
                                .bad_answers
                                .push(format!("redeem: {other}")),
                        }
                    }
                }
                Ok(resp) if resp.status() == 503 => {}
                Ok(resp) => tally
                    .lock()
                    .await
                    .bad_answers
                    .push(format!("authorize: {}", resp.status())),
                Err(e) => tally
                    .lock()
                    .await
                    .bad_answers
                    .push(format!("authorize: {e}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a rotation has succeeded on every node since the mark.
async fn every_node_rotates(tally: &Mutex<Tally>) -> bool {
    tally
        .lock()
        .await
        .rotations_since_mark
        .iter_mut()
        .for_each(|r| *r = 0);
    eventually(GUARD, || async {
        tally
            .lock()
            .await
            .rotations_since_mark
            .iter()
            .all(|r| *r > 0)
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_and_switchover_lose_nothing() {
    if !have_tools() {
        return;
    }
    let http = reqwest::Client::new();
    let topo = topology(&http).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", topo.port);
    let kek = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([3u8; 32]);
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let kek = kek.clone();
        nodes.push(
            spawn_on(url.clone(), tempfile::tempdir().expect("dir"), |c| {
                c.key_encryption_key = Some(kek);
                c.engine.issuer = "http://tollgate.test".into();
            })
            .await,
        );
    }
    let email = "ha@example.com";
    let cc = nodes[0].client().await;
    let code = nodes[0].code_client(false).await;
    nodes[0].user(email).await;
    let browser = Browser::new(&nodes[0]);
    let mut chains = Vec::new();
    for _ in 0..2 {
        let c = read_code(&browser, &code, email).await;
        let t = json(redeem(&nodes[0], &code, &c, Some(VERIFIER)).await, 200).await;
        chains.push(vec![
            t["refresh_token"].as_str().expect("refresh").to_owned(),
        ]);
    }
    let tally = Arc::new(Mutex::new(Tally {
        chains,
        rotations_since_mark: vec![0; 3],
        ..Tally::default()
    }));
    let nodes = Arc::new(nodes);
    let stop = Arc::new(AtomicBool::new(false));
    let looping = tokio::spawn(client_loop(
        nodes.clone(),
        cc.clone_client(),
        code.clone_client(),
        browser,
        tally.clone(),
        stop.clone(),
    ));

    assert!(
        every_node_rotates(&tally).await,
        "rotations before the failure"
    );
    // Unplanned: the primary's postmaster dies.
    let leader = member_with(&http, topo.members[0].rest, "leader")
        .await
        .expect("leader");
    let data = &topo
        .members
        .iter()
        .find(|m| m.name == leader)
        .expect("member")
        .data;
    let pid = std::fs::read_to_string(data.join("postmaster.pid")).expect("postmaster.pid");
    let pid = pid.lines().next().expect("pid").trim().to_owned();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    assert!(
        every_node_rotates(&tally).await,
        "every node rotates again after the failure"
    );
    // Planned: a switchover to the standby.
    let standby = eventually(GUARD, || async {
        member_with(&http, topo.members[0].rest, "sync_standby")
            .await
            .is_some()
    })
    .await;
    assert!(standby.is_some(), "a synchronous standby again");
    let leader = member_with(&http, topo.members[0].rest, "leader")
        .await
        .expect("leader");
    let candidate = member_with(&http, topo.members[0].rest, "sync_standby")
        .await
        .expect("standby");
    let rest = topo
        .members
        .iter()
        .find(|m| m.name == leader)
        .expect("member")
        .rest;
    let switched = http
        .post(format!("http://127.0.0.1:{rest}/switchover"))
        .json(&serde_json::json!({"leader": leader, "candidate": candidate}))
        .send()
        .await
        .expect("switchover");
    assert_eq!(
        switched.status(),
        200,
        "{}",
        switched.text().await.unwrap_or_default()
    );
    assert!(
        every_node_rotates(&tally).await,
        "every node rotates after the switchover"
    );
    stop.store(true, Ordering::SeqCst);
    looping.await.expect("client loop");

    let t = tally.lock().await;
    assert!(
        t.cc_failures.is_empty(),
        "client_credentials failed: {:?}",
        t.cc_failures
    );
    assert!(
        t.bad_answers.is_empty(),
        "answers outside 200/503-in-format: {:?}",
        t.bad_answers
    );
    // Nothing acknowledged was lost and no chain forked: the newest token of each chain
    // rotates; its predecessor (past the grace window) is refused.
    for chain in &t.chains {
        assert!(chain.len() > 3, "the chain rotated through the test");
        let newest = chain.last().expect("newest");
        assert_eq!(
            refresh(&nodes[1], &code, newest).await.status(),
            200,
            "an acknowledged rotation survived"
        );
        nodes[2].advance(60);
        let previous = &chain[chain.len() - 2];
        assert_eq!(
            refresh(&nodes[2], &code, previous).await.status(),
            400,
            "no fork from a lost rotation"
        );
    }
    // A revocation reaches every node.
    let token = nodes[0].access_token(&cc).await;
    let revoked = nodes[0]
        .post_form(
            "/oauth/revoke",
            &[
                ("token", token.as_str()),
                ("client_id", cc.id.as_str()),
                ("client_secret", cc.secret.as_str()),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    for n in nodes.iter() {
        let seen = eventually(Duration::from_secs(5), || async {
            let r = n
                .post_basic(
                    "/oauth/introspect",
                    (cc.id.as_str(), &cc.secret),
                    &[("token", &token)],
                )
                .await;
            r.status() == 200 && r.json::<Value>().await.is_ok_and(|b| b["active"] == false)
        })
        .await;
        assert!(seen.is_some(), "the revocation reached node {}", n.base);
    }
}

trait CloneClient {
    fn clone_client(&self) -> TestClient;
}

impl CloneClient for TestClient {
    fn clone_client(&self) -> TestClient {
        TestClient {
            id: self.id.clone(),
            secret: self.secret.clone(),
        }
    }
}
