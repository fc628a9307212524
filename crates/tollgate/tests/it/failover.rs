//! The reference HA topology from Debian's packages: etcd, two PostgreSQL 15 members under
//! Patroni with `synchronous_mode` (as the `postgres` user, in temporary directories, on free
//! ports — never the shared cluster), HAProxy routing to the primary by Patroni's REST check,
//! and three Tollgate nodes. A client loop of client_credentials, refresh rotations and code
//! redemptions runs while the primary's postmaster is killed (SIGKILL) and later switched over
//! by plan. Checked: client_credentials answered every time; store routes answered 200 or 503
//! in their format; every acknowledged refresh token still rotates and none of their
//! predecessors does (no chain forked); a revocation reaches every node.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::helpers::ha_cluster::{GUARD, have_tools, member_with, topology};
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
