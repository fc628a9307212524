//! The store behaviour suite's grant groups (codes, refresh families, one-time identifiers,
//! pushed requests, group commit), run against SQLite and PostgreSQL alike.

use tollgate_core::ids::{ClientId, UserSid};
use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, RefreshFamily, RefreshRotation, RefreshToken,
};
use tollgate_core::secret::Secret;
use tollgate_core::store::Store;

use tollgate_testkit::Backend;
use tollgate_testkit::fixtures::{open, open_with_user, rng};
use tollgate_testkit::on_both_backends;

async fn codes_redeem_once(backend: Backend) {
    let Some((store, _dir, rng, _, u)) = open_with_user(backend, "c@example.com").await else {
        return;
    };
    let code = AuthorizationCode {
        digest: Secret::generate(&rng).expect("rng").digest(),
        client_id: ClientId::generate(&rng).expect("rng"),
        user_sid: u.sid.clone(),
        redirect_uri: Some("http://127.0.0.1/cb".into()),
        scopes: vec!["openid".into()],
        nonce: Some("n".into()),
        code_challenge: Some("c".repeat(43)),
        auth_time: 7,
        created_at: 7,
        expires_at: 67,
        used_at: None,
        family_id: None,
        access_jti: None,
        access_expires_at: None,
        resources: vec!["https://api.example".into()],
        dpop_jkt: Some("j".repeat(43)),
    };
    store.insert_code(&code).await.expect("insert");
    let first = store
        .redeem_code(&code.digest, 10, Some("fam"), "jti-1", 99)
        .await
        .expect("redeem");
    let CodeRedemption::Fresh(got) = first else {
        panic!("fresh expected, got {first:?}")
    };
    assert_eq!(got.used_at, Some(10));
    assert_eq!(got.family_id.as_deref(), Some("fam"));
    assert_eq!(
        AuthorizationCode {
            used_at: None,
            family_id: None,
            access_jti: None,
            access_expires_at: None,
            ..got
        },
        code
    );
    // A second redemption sees the first one's record, untouched.
    let again = store
        .redeem_code(&code.digest, 11, Some("other"), "jti-2", 98)
        .await
        .expect("again");
    let CodeRedemption::Replayed(seen) = again else {
        panic!("replay expected")
    };
    assert_eq!(
        (seen.used_at, seen.access_jti.as_deref()),
        (Some(10), Some("jti-1"))
    );
    assert_eq!(
        store
            .redeem_code(
                &Secret::generate(&rng).expect("rng").digest(),
                10,
                None,
                "j",
                1
            )
            .await
            .expect("unknown"),
        CodeRedemption::Unknown
    );
}

async fn refresh_families_rotate_and_revoke(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let fam = RefreshFamily {
        id: "fam-1".into(),
        client_id: ClientId::generate(&rng).expect("rng"),
        user_sid: UserSid::generate(&rng).expect("rng"),
        scopes: vec!["read".into()],
        auth_time: 3,
        created_at: 4,
        revoked_at: None,
        resources: vec!["https://api.example".into()],
        dpop_jkt: Some("jkt-1".into()),
    };
    let t1 = RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        family_id: fam.id.clone(),
        created_at: 4,
        expires_at: 1000,
        used_at: None,
    };
    store
        .insert_refresh_family(&fam, &t1)
        .await
        .expect("family");
    assert_eq!(
        store.refresh_token(&t1.digest).await.expect("get"),
        Some((t1.clone(), fam.clone()))
    );
    let successor = |created_at| RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        created_at,
        ..t1.clone()
    };
    // First use: t1 is spent, its successor stored.
    let t2 = successor(5);
    assert_eq!(
        rotate(store.as_ref(), &t1, &t2, 5).await,
        RefreshRotation::Rotated
    );
    assert_eq!(used_at(store.as_ref(), &t1).await, Some(Some(5)));
    assert_eq!(used_at(store.as_ref(), &t2).await, Some(None));
    // Again within the grace window: another successor, the first use time kept.
    let t3 = successor(6);
    assert_eq!(
        rotate(store.as_ref(), &t1, &t3, 6).await,
        RefreshRotation::Rotated
    );
    assert_eq!(used_at(store.as_ref(), &t1).await, Some(Some(5)));
    assert!(used_at(store.as_ref(), &t3).await.is_some());
    // After the window: reuse, the family is revoked and nothing is stored.
    let t4 = successor(20);
    assert_eq!(
        rotate(store.as_ref(), &t1, &t4, 20).await,
        RefreshRotation::Reused
    );
    assert_eq!(store.refresh_token(&t4.digest).await.expect("get"), None);
    assert_eq!(revoked_at(store.as_ref(), &t2).await, Some(Some(20)));
    assert!(
        !store
            .revoke_refresh_family(&fam.id, 21)
            .await
            .expect("already revoked")
    );
    // Revoking a live family directly.
    let fam2 = RefreshFamily {
        id: "fam-2".into(),
        ..fam.clone()
    };
    let other = RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        family_id: fam2.id.clone(),
        ..t1.clone()
    };
    store
        .insert_refresh_family(&fam2, &other)
        .await
        .expect("family");
    assert!(
        store
            .revoke_refresh_family(&fam2.id, 9)
            .await
            .expect("revoke")
    );
    assert_eq!(revoked_at(store.as_ref(), &other).await, Some(Some(9)));
    assert_eq!(
        store
            .refresh_token(&Secret::generate(&rng).expect("rng").digest())
            .await
            .expect("unknown"),
        None
    );

    store
        .revoke_access_token("jti-x", 500)
        .await
        .expect("revoke jti");
    store
        .revoke_access_token("jti-x", 500)
        .await
        .expect("idempotent");
    assert!(store.access_token_revoked("jti-x").await.expect("revoked"));
    assert!(
        !store
            .access_token_revoked("jti-y")
            .await
            .expect("not revoked")
    );
    // Expired state is pruned; live state stays.
    store.prune_expired(600).await.expect("prune");
    assert!(!store.access_token_revoked("jti-x").await.expect("pruned"));
    store.prune_expired(2000).await.expect("prune");
    assert_eq!(store.refresh_token(&t2.digest).await.expect("pruned"), None);
}

/// RFC 6749 section 6 rotation of `old` into `new` at `now`, with a 10 s grace window.
async fn rotate(
    store: &dyn Store,
    old: &RefreshToken,
    new: &RefreshToken,
    now: i64,
) -> RefreshRotation {
    store
        .rotate_refresh_token(&old.digest, new, now, 10)
        .await
        .expect("rotate")
}

/// When `token` was used (outer `None`: not stored).
async fn used_at(store: &dyn Store, token: &RefreshToken) -> Option<Option<i64>> {
    let found = store.refresh_token(&token.digest).await.expect("get");
    found.map(|(t, _)| t.used_at)
}

/// When the family of `token` was revoked (outer `None`: not stored).
async fn revoked_at(store: &dyn Store, token: &RefreshToken) -> Option<Option<i64>> {
    let found = store.refresh_token(&token.digest).await.expect("get");
    found.map(|(_, f)| f.revoked_at)
}

/// Assertion and proof `jti`s: one first use, replays refused until expiry.
async fn single_use_identifiers(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    assert!(store.use_once("dpop:k:1", 100, 50).await.expect("first"));
    assert!(!store.use_once("dpop:k:1", 100, 60).await.expect("replay"));
    assert!(store.use_once("dpop:k:2", 100, 60).await.expect("another"));
    // After its expiry the row is taken over (the identifier is refused on time anyway).
    assert!(store.use_once("dpop:k:1", 200, 101).await.expect("expired"));
    assert!(store.prune_expired(250).await.expect("prune") >= 2);
    assert!(store.use_once("dpop:k:2", 300, 250).await.expect("pruned"));
}

/// RFC 9126 requests: read back, spent once.
async fn pushed_requests_spend_once(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let r = tollgate_core::model::PushedAuthorizationRequest {
        digest: Secret::generate(&rng).expect("rng").digest(),
        client_id: ClientId::generate(&rng).expect("rng"),
        params: r#"{"scope":"read"}"#.into(),
        created_at: 10,
        expires_at: 70,
        used_at: None,
    };
    store.insert_pushed_request(&r).await.expect("insert");
    assert_eq!(
        store.pushed_request(&r.digest).await.expect("read"),
        Some(r.clone())
    );
    assert!(
        store
            .use_pushed_request(&r.digest, 20)
            .await
            .expect("spend")
    );
    assert!(
        !store
            .use_pushed_request(&r.digest, 21)
            .await
            .expect("again")
    );
    let read = store
        .pushed_request(&r.digest)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(read.used_at, Some(20));
    let unknown = Secret::generate(&rng).expect("rng").digest();
    assert_eq!(store.pushed_request(&unknown).await.expect("read"), None);
}

/// Grant writes in flight together commit together (group commit), yet each answers for
/// itself: a rotation that cannot succeed fails alone, and nothing of it is written, while
/// the rotations committed beside it all stand.
async fn concurrent_grant_writes_fail_alone(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let token = |family_id: &str| RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        family_id: family_id.to_owned(),
        created_at: 1,
        expires_at: 1000,
        used_at: None,
    };
    let mut jobs = Vec::new();
    for i in 0..12 {
        let fam = RefreshFamily {
            id: format!("fam-{i}"),
            client_id: ClientId::generate(&rng).expect("rng"),
            user_sid: UserSid::generate(&rng).expect("rng"),
            scopes: vec!["read".into()],
            auth_time: 1,
            created_at: 1,
            revoked_at: None,
            resources: vec![],
            dpop_jkt: None,
        };
        let first = token(&fam.id);
        store
            .insert_refresh_family(&fam, &first)
            .await
            .expect("family");
        // Every third successor names a family that does not exist: that rotation must fail.
        let next = token(if i % 3 == 2 {
            "no-such-family"
        } else {
            &fam.id
        });
        jobs.push((first, next, i % 3 != 2));
    }
    let mut running = tokio::task::JoinSet::new();
    for (first, next, good) in jobs.clone() {
        let store = store.clone();
        running.spawn(async move {
            let outcome = store
                .rotate_refresh_token(&first.digest, &next, 2, 10)
                .await;
            (good, outcome)
        });
    }
    while let Some(done) = running.join_next().await {
        let (good, outcome) = done.expect("task");
        if good {
            assert_eq!(outcome.expect("a good rotation"), RefreshRotation::Rotated);
        } else {
            assert!(outcome.is_err(), "a rotation into a missing family fails");
        }
    }
    for (first, next, good) in jobs {
        let stored = store.refresh_token(&next.digest).await.expect("get");
        assert_eq!(
            stored.is_some(),
            good,
            "only the good successors are stored"
        );
        let used = store.refresh_token(&first.digest).await.expect("get");
        let used_at = used.map(|(t, _)| t.used_at);
        assert_eq!(
            used_at,
            Some(good.then_some(2)),
            "a failed rotation spends nothing"
        );
    }
}

on_both_backends!(
    codes_redeem_once,
    refresh_families_rotate_and_revoke,
    single_use_identifiers,
    pushed_requests_spend_once,
    concurrent_grant_writes_fail_alone,
);
