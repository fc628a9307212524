//! Refresh rotation sequences (use inside and outside the grace window, reuse of retired and
//! spent tokens, revocation) against both stores, checked step by step against a model of the
//! family invariants.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};
use tollgate_core::ids::{ClientId, UserSid};
use tollgate_core::model::{RefreshFamily, RefreshRotation, RefreshToken};
use tollgate_core::secret::{Secret, SecretDigest};
use tollgate_core::store::Store;

use tollgate_testkit::on_both_backends;
use tollgate_testkit::{Backend, fresh_database};

const GRACE: i64 = 10;

#[derive(Debug, Clone)]
enum Step {
    /// Use token `i` (of those issued so far) `after` seconds later.
    Use {
        i: usize,
        after: i64,
    },
    Revoke,
}

/// What the store must answer, token by token.
#[derive(Default, Clone)]
struct Model {
    first_use: Vec<Option<i64>>,
    retired: Vec<bool>,
    parent: Vec<Option<usize>>,
    revoked: bool,
}

impl Model {
    fn expect_reuse(&self, i: usize, at: i64) -> bool {
        let child_used = (0..self.parent.len())
            .any(|c| self.parent[c] == Some(i) && self.first_use[c].is_some());
        self.revoked
            || self.retired[i]
            || self.first_use[i].is_some_and(|f| at - f > GRACE)
            || child_used
    }

    fn push(&mut self, parent: Option<usize>) {
        self.first_use.push(None);
        self.retired.push(false);
        self.parent.push(parent);
    }
}

fn new_token(family: &str, at: i64) -> (SecretDigest, RefreshToken) {
    let rng = tollgate_core::SystemRng::default();
    let digest = Secret::generate(&rng).expect("rng").digest();
    let token = RefreshToken {
        digest,
        family_id: family.to_owned(),
        created_at: at,
        expires_at: at + 86_400,
        used_at: None,
    };
    (digest, token)
}

async fn run_case(store: &dyn Store, n: usize, steps: &[Step]) -> Result<(), String> {
    let family = format!("prop-{n}");
    let rng = tollgate_core::SystemRng::default();
    let (first, token) = new_token(&family, 1_000);
    let fam = RefreshFamily {
        id: family.clone(),
        client_id: ClientId::generate(&rng).expect("rng"),
        user_sid: UserSid::generate(&rng).expect("rng"),
        scopes: vec![],
        auth_time: 1_000,
        created_at: 1_000,
        revoked_at: None,
        resources: vec![],
        dpop_jkt: None,
    };
    store
        .insert_refresh_family(&fam, &token)
        .await
        .map_err(|e| e.to_string())?;
    let mut tokens = vec![first];
    let mut model = Model::default();
    model.push(None);
    let mut now = 1_000;
    for step in steps {
        match step {
            Step::Revoke => {
                store
                    .revoke_refresh_family(&family, now)
                    .await
                    .map_err(|e| e.to_string())?;
                model.revoked = true;
            }
            Step::Use { i, after } => {
                now += after;
                let i = i % tokens.len();
                let expected_reuse = model.expect_reuse(i, now);
                let (digest, next) = new_token(&family, now);
                let got = store
                    .rotate_refresh_token(&tokens[i], &next, now, GRACE)
                    .await
                    .map_err(|e| e.to_string())?;
                model.first_use[i] = model.first_use[i].or(Some(now));
                match got {
                    RefreshRotation::Reused if expected_reuse => model.revoked = true,
                    RefreshRotation::Rotated if !expected_reuse => {
                        for c in 0..model.parent.len() {
                            if model.parent[c] == Some(i) {
                                model.retired[c] = true;
                            }
                        }
                        tokens.push(digest);
                        model.push(Some(i));
                    }
                    other => {
                        return Err(format!("step {step:?} at {now}: got {other:?}"));
                    }
                }
            }
        }
        // The family is revoked exactly when the model says so.
        let (_, f) = store
            .refresh_token(&tokens[0])
            .await
            .map_err(|e| e.to_string())?
            .ok_or("family gone")?;
        if f.revoked_at.is_some() != model.revoked {
            return Err(format!("after {step:?}: revoked {:?}", f.revoked_at));
        }
    }
    Ok(())
}

async fn rotation_sequences_keep_the_family_invariants(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let Some(url) = fresh_database(backend, &dir).await else {
        return;
    };
    let store: Arc<dyn Store> = tollgate_store::open(&url, Arc::new(tollgate_core::SystemClock))
        .await
        .expect("store");
    let step = prop_oneof![
        4 => (0..6usize, 0..16i64).prop_map(|(i, after)| Step::Use { i, after }),
        1 => Just(Step::Revoke),
    ];
    let strategy = proptest::collection::vec(step, 1..12);
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(PropConfig {
        cases: 48,
        failure_persistence: None,
        ..PropConfig::default()
    });
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |steps| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            handle
                .block_on(run_case(store.as_ref(), n, &steps))
                .map_err(TestCaseError::fail)
        })
    });
    assert!(result.is_ok(), "{result:?}");
}

on_both_backends!(rotation_sequences_keep_the_family_invariants);
