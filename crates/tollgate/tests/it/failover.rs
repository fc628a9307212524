//! The reference HA topology from Debian's packages: etcd, two PostgreSQL 15 members under
//! Patroni with `synchronous_mode` (as the `postgres` user, in temporary directories, on free
//! ports — never the shared cluster), HAProxy routing to the primary by Patroni's REST check,
//! and three Tollgate nodes. A client loop of client_credentials, refresh rotations and code
//! redemptions runs throughout an unplanned failover (the leader's Patroni and postmaster die by
//! SIGKILL, so the standby is promoted once the leader key expires), the lost member's return
//! as a replica (pg_rewind), and a planned switchover back. Checked at each stage: which member
//! leads; client_credentials answered every time; store routes answered 200 or 503 in their
//! format; every node rotates refresh tokens again; a revocation reaches every node. At the end:
//! every acknowledged refresh token still rotates and none of their predecessors does (nothing
//! lost, no chain forked). The timings are printed (`--nocapture`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::helpers::ha_cluster::{GUARD, Topology, have_tools, topology};
use crate::helpers::{
    Browser, REDIRECT, TestApp, TestClient, VERIFIER, authorize_url, eventually, json, query_param,
    read_code, redeem, refresh, spawn_on,
};

#[derive(Default)]
struct Tally {
    cc_failures: Vec<String>,
    bad_answers: Vec<String>,
    /// Per refresh chain: every acknowledged token, oldest first.
    chains: Vec<Vec<String>>,
    /// Rotations acknowledged since the last `mark`.
    rotations_since_mark: Vec<usize>,
    /// When each acknowledged rotation came back, and from which node.
    rotated_at: Vec<(usize, Instant)>,
    /// Codes redeemed (200).
    redeemed: usize,
    /// The longest request and what it was.
    longest: (Duration, String),
    /// Store-route answers that were 503 (in format).
    refusals: usize,
}

impl Tally {
    fn took(&mut self, started: Instant, what: impl FnOnce() -> String) {
        let took = started.elapsed();
        if took > self.longest.0 {
            self.longest = (took, what());
        }
    }

    /// When the first rotation after `since` came back, and when every node had had one.
    fn rotations_after(
        &self,
        since: Instant,
        nodes: usize,
    ) -> (Option<Duration>, Option<Duration>) {
        let after = |i: Option<usize>| {
            self.rotated_at
                .iter()
                .filter(|(n, at)| *at >= since && i.is_none_or(|i| i == *n))
                .map(|(_, at)| *at - since)
                .min()
        };
        let every = (0..nodes)
            .map(|i| after(Some(i)))
            .collect::<Option<Vec<_>>>();
        (after(None), every.and_then(|e| e.into_iter().max()))
    }
}

/// A 503 must be in the RFC format with `Retry-After`.
async fn check_refusal(resp: reqwest::Response, what: &str, tally: &Mutex<Tally>) {
    tally.lock().await.refusals += 1;
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
        let started = Instant::now();
        let status = n.token_status(&cc).await;
        tally
            .lock()
            .await
            .took(started, || format!("client_credentials on node {i}"));
        match status {
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
        let started = Instant::now();
        let resp = refresh(n, &code, &current).await;
        tally
            .lock()
            .await
            .took(started, || format!("refresh on node {i}"));
        match resp.status().as_u16() {
            200 => {
                let body: Value = resp.json().await.expect("json");
                let next = body["refresh_token"].as_str().expect("refresh").to_owned();
                let mut t = tally.lock().await;
                t.chains[chain].push(next);
                t.rotations_since_mark[i] += 1;
                t.rotated_at.push((i, Instant::now()));
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
            let started = Instant::now();
            let authorized = browser.http.get(&url).send().await;
            tally
                .lock()
                .await
                .took(started, || format!("authorize on node {i}"));
            match authorized {
                Ok(resp) if resp.status().is_redirection() => {
                    let to = resp.headers()["location"]
                        .to_str()
                        .unwrap_or_default()
                        .to_owned();
                    if let (true, Some(c)) = (to.starts_with(REDIRECT), query_param(&to, "code")) {
                        let started = Instant::now();
                        let r = redeem(n, &code, &c, Some(VERIFIER)).await;
                        tally
                            .lock()
                            .await
                            .took(started, || format!("redemption on node {i}"));
                        match r.status().as_u16() {
                            200 => tally.lock().await.redeemed += 1,
                            503 => check_refusal(r, "redeem", &tally).await,
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

/// A revocation on node 0 reaches every node; how long the slowest took.
async fn revocation_reaches_every_node(nodes: &[TestApp], cc: &TestClient) -> Duration {
    let token = nodes[0].access_token(cc).await;
    nodes[0].revoke(cc, &token).await;
    let mut slowest = Duration::ZERO;
    for n in nodes {
        let seen = eventually(Duration::from_secs(5), || async {
            let r = n.introspect(cc, &token).await;
            r.status() == 200 && r.json::<Value>().await.is_ok_and(|b| b["active"] == false)
        })
        .await;
        slowest =
            slowest.max(seen.unwrap_or_else(|| panic!("the revocation reached node {}", n.base)));
    }
    slowest
}

/// Once a new leader was promoted: every node rotates again (`rotates` says so), a
/// revocation reaches every node, and the tally's longest request and refusals start over.
/// What was seen, for the log.
async fn after_promotion(
    tally: &Mutex<Tally>,
    nodes: &[TestApp],
    cc: &TestClient,
    rotates: &str,
) -> String {
    let promoted = Instant::now();
    assert!(every_node_rotates(tally).await, "{rotates}");
    let (first_rotation, every_rotation) = tally.lock().await.rotations_after(promoted, 3);
    let revocation = revocation_reaches_every_node(nodes, cc).await;
    let mut t = tally.lock().await;
    let ((took, what), refused) = (
        std::mem::take(&mut t.longest),
        std::mem::take(&mut t.refusals),
    );
    format!(
        "first rotation {first_rotation:?} after, every node {every_rotation:?} after; longest \
         request {took:?} ({what}); {refused} refusals (503); a revocation reached every node \
         in {revocation:?}"
    )
}

/// Waits until Patroni reports `name` as the running leader; how long that took.
async fn leader_becomes(http: &reqwest::Client, topo: &Topology, name: &str) -> Duration {
    let took = eventually(GUARD, || async {
        topo.with_role(http, "leader").await.as_deref() == Some(name)
    })
    .await;
    took.unwrap_or_else(|| panic!("{name} leads: {}", topo.member(name).log()))
}

/// Waits until Patroni reports `name` as the running synchronous standby.
async fn standby_becomes(http: &reqwest::Client, topo: &Topology, name: &str) -> Duration {
    let took = eventually(GUARD, || async {
        topo.with_role(http, "sync_standby").await.as_deref() == Some(name)
    })
    .await;
    took.unwrap_or_else(|| {
        panic!(
            "{name} is the synchronous standby: {}",
            topo.member(name).log()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_and_switchover_lose_nothing() {
    if !have_tools() {
        return;
    }
    let http = reqwest::Client::new();
    let mut topo = topology(&http).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", topo.port);
    let kek = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([3u8; 32]);
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let kek = kek.clone();
        nodes.push(
            spawn_on(url.clone(), tempfile::tempdir().expect("dir"), |c| {
                c.key_encryption_key = Some(kek);
                c.engine.issuer = "http://tollgate.test".into();
                // A rotation committed on the standby whose answer the kill swallowed is retried
                // with the old token once the new primary leads (~TTL later); the grace window
                // must outlast the failover, as the README tells operators.
                c.engine.refresh_grace_secs = 30;
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
    let (first, second) = ("m1", "m2");
    assert_eq!(
        topo.with_role(&http, "leader").await.as_deref(),
        Some(first)
    );
    assert_eq!(
        topo.with_role(&http, "sync_standby").await.as_deref(),
        Some(second)
    );

    // Unplanned: the leader's machine is lost (Patroni and postmaster by SIGKILL). Its leader
    // key expires after the TTL and the synchronous standby is promoted.
    let killed = Instant::now();
    topo.kill_member(first);
    let to_leader = leader_becomes(&http, &topo, second).await;
    let seen = after_promotion(
        &tally,
        &nodes,
        &cc,
        "every node rotates again after the failover",
    )
    .await;
    eprintln!(
        "failover: {second} led {to_leader:?} after the kill; {seen}; {:?} since the kill",
        killed.elapsed()
    );

    // The lost member comes back and rejoins as a replica (pg_rewind), then the synchronous
    // standby; the leader stays where it is.
    topo.restart_member(first);
    let rejoined = standby_becomes(&http, &topo, first).await;
    assert_eq!(
        topo.with_role(&http, "leader").await.as_deref(),
        Some(second)
    );
    eprintln!("rejoin: {first} was the synchronous standby {rejoined:?} after its restart");

    // Planned: a switchover back to the first member.
    let started = Instant::now();
    let switched = http
        .post(format!(
            "http://127.0.0.1:{}/switchover",
            topo.member(second).rest
        ))
        .json(&serde_json::json!({"leader": second, "candidate": first}))
        .send()
        .await
        .expect("switchover");
    assert_eq!(
        switched.status(),
        200,
        "{}",
        switched.text().await.unwrap_or_default()
    );
    leader_becomes(&http, &topo, first).await;
    let to_leader = started.elapsed();
    let seen = after_promotion(
        &tally,
        &nodes,
        &cc,
        "every node rotates after the switchover",
    )
    .await;
    eprintln!("switchover: {first} led {to_leader:?} after the request; {seen}");
    // The former leader follows again.
    standby_becomes(&http, &topo, second).await;
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
    assert!(t.redeemed > 3, "codes were redeemed through the test");
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
