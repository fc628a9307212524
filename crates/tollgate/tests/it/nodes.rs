//! Three Tollgate processes' worth of servers on one PostgreSQL database act as one: changes
//! reach every node through NOTIFY (the poll is set far slower than the one second allowed),
//! codes and device grants cross nodes, a revocation is seen everywhere, and keys are created
//! and rotated exactly once however many nodes try at the same moment.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tollgate::config::Config;
use tollgate::server::{self, Deps, RunningServer};
use tollgate_core::maintenance::RotationPolicy;
use tollgate_core::model::GrantType;
use tollgate_core::{OffsetClock, SystemRng};

use crate::helpers::{
    Backend, basic_json, bootstrap_app, eventually, fresh_database, introspect_at, password_user,
    post_basic, rotated, successors,
};
use crate::helpers::{Browser, REDIRECT, query_param};

/// DESIGN section 5: other nodes see a change within a second.
const WITHIN: Duration = Duration::from_secs(1);

struct Node {
    server: RunningServer,
    clock: OffsetClock,
    base: String,
    _dir: tempfile::TempDir,
}

async fn node(url: &str, kek: &str) -> Node {
    let dir = tempfile::tempdir().expect("dir");
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: Some(url.to_owned()),
        data_dir: dir.path().to_path_buf(),
        key_encryption_key: Some(kek.to_owned()),
        // One public name for all nodes, as behind a load balancer.
        engine: tollgate_core::EngineConfig::new("http://tollgate.test"),
        // Far slower than the one second allowed: NOTIFY has to do the work.
        sync_interval_ms: 30_000,
        ..Config::default()
    };
    let clock = OffsetClock::new();
    let deps = Deps {
        clock: Arc::new(clock.clone()),
        rng: Arc::new(SystemRng::default()),
    };
    let server = server::start_with(config, deps).await.expect("node starts");
    let base = format!("http://{}", server.addr);
    Node {
        server,
        clock,
        base,
        _dir: dir,
    }
}

async fn token(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> reqwest::Response {
    post_basic(
        http,
        format!("{base}/oauth/token"),
        (id, secret),
        &[("grant_type", "client_credentials")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_act_as_one() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = fresh_database(Backend::Postgres, &dir).await else {
        return;
    };
    let kek = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    // Started together on an empty database: one first key of each algorithm (the ES256
    // access-token key and the RS256 id-token key).
    let (n1, n2, n3) = tokio::join!(node(&url, &kek), node(&url, &kek), node(&url, &kek));
    let nodes = [&n1, &n2, &n3];
    let mut algs: Vec<&str> = n1
        .server
        .admin()
        .keys()
        .await
        .expect("keys")
        .iter()
        .map(|k| k.algorithm.as_str())
        .collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"], "one first key of each algorithm");

    let admin = n1.server.admin();
    let grants = vec![
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
    ];
    let (account, client, secret) = bootstrap_app(&admin, "everywhere", grants).await;
    let (id, secret) = (client.id.to_string(), secret.expect("secret"));
    let http = reqwest::Client::new();
    // A client created in the store works on every node within a second.
    for n in nodes {
        let ok = eventually(WITHIN, || async {
            token(&http, &n.base, &id, &secret).await.status() == 200
        })
        .await;
        assert!(ok.is_some(), "the client works on {}", n.base);
    }

    // A code issued on node 1 is redeemed on node 2 and refused on a replay at node 3.
    password_user(&admin, &account, "nodes@example.com").await;
    let browser = Browser::for_base(&n1.base);
    let url1 = format!(
        "/oauth/authorize?response_type=code&client_id={id}&redirect_uri={REDIRECT}&scope=read"
    );
    let back = browser.authorize(&url1, "nodes@example.com").await;
    let code = query_param(&back, "code").expect("code");
    let redeem = |base: String, code: String| {
        let (http, id, secret) = (http.clone(), id.clone(), secret.clone());
        async move {
            post_basic(
                &http,
                format!("{base}/oauth/token"),
                (&id, &secret),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await
        }
    };
    assert_eq!(redeem(n2.base.clone(), code.clone()).await.status(), 200);
    assert_eq!(
        redeem(n3.base.clone(), code.clone()).await.status(),
        400,
        "a replay elsewhere"
    );

    // Twenty concurrent uses of one refresh token spread over the three nodes: all inside the
    // grace window are answered, all of one family, and one branch at most lives after it.
    let back = browser.authorize(&url1, "nodes@example.com").await;
    let code = query_param(&back, "code").expect("code");
    let first: Value = redeem(n1.base.clone(), code)
        .await
        .json()
        .await
        .expect("json");
    let rt = first["refresh_token"].as_str().expect("refresh").to_owned();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (http, base) = (http.clone(), nodes[i % 3].base.clone());
        let (id, secret, rt) = (id.clone(), secret.clone(), rt.clone());
        tasks.push(tokio::spawn(async move {
            let r = post_basic(
                &http,
                format!("{base}/oauth/token"),
                (&id, &secret),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ],
            )
            .await;
            rotated(r).await
        }));
    }
    let successors = successors(tasks, "inside the grace window").await;
    for n in nodes {
        n.clock.advance(20);
    }
    let mut live = 0;
    for (i, s) in successors.iter().enumerate() {
        let r = post_basic(
            &http,
            format!("{}/oauth/token", nodes[i % 3].base),
            (&id, &secret),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", s.as_str()),
            ],
        )
        .await;
        if r.status() == 200 {
            live += 1;
        }
    }
    assert!(
        live <= 1,
        "{live} branches lived past the grace window across nodes"
    );

    // A revocation on node 1 is seen by introspection on node 3 within a second.
    let t: Value = token(&http, &n1.base, &id, &secret)
        .await
        .json()
        .await
        .expect("json");
    let at = t["access_token"].as_str().expect("token").to_owned();
    let introspect = || async {
        let v = introspect_at(&http, &n3.base, (&id, &secret), &at).await;
        v["active"] == true
    };
    assert!(introspect().await, "active before");
    let revoked = post_basic(
        &http,
        format!("{}/oauth/revoke", n1.base),
        (&id, &secret),
        &[("token", at.as_str())],
    )
    .await;
    assert_eq!(revoked.status(), 200);
    let seen = eventually(WITHIN, || async { !introspect().await }).await;
    assert!(seen.is_some(), "node 3 saw the revocation within a second");

    // A device grant started on node 1, approved on node 2, polled on node 3.
    let form = [("scope", "read")];
    let d = basic_json(
        &http,
        &n1.base,
        "/oauth/device_authorization",
        (&id, &secret),
        &form,
    )
    .await;
    let user_code = d["user_code"].as_str().expect("user code");
    let b2 = Browser::for_base(&n2.base);
    b2.answer_device(user_code, "nodes@example.com", "approve")
        .await;
    let polled: Value = http
        .post(format!("{}/oauth/token", n3.base))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            (
                "device_code",
                d["device_code"].as_str().expect("device code"),
            ),
        ])
        .send()
        .await
        .expect("poll")
        .json()
        .await
        .expect("json");
    assert!(polled["access_token"].is_string(), "{polled}");

    // All three rotate at the same moment: exactly one new key of each algorithm.
    let policy = RotationPolicy {
        every_secs: 1,
        publish_ahead_secs: 0,
    };
    for n in nodes {
        n.clock.advance(10);
    }
    let now = |n: &Node| tollgate_core::Clock::now(&n.clock);
    let (r1, r2, r3) = tokio::join!(
        n1.server.engine.rotate_if_due(policy, now(&n1)),
        n2.server.engine.rotate_if_due(policy, now(&n2)),
        n3.server.engine.rotate_if_due(policy, now(&n3)),
    );
    let created = [r1, r2, r3]
        .into_iter()
        .map(|r| r.expect("rotation"))
        .filter(Option::is_some)
        .count();
    assert_eq!(created, 1, "one node rotated");
    assert_eq!(admin.keys().await.expect("keys").len(), 4);
    for n in nodes {
        n.server.engine.sync().await.expect("sync");
        assert_eq!(token(&http, &n.base, &id, &secret).await.status(), 200);
    }
}
