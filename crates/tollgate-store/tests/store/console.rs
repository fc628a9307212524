//! The store queries behind the console, on SQLite and PostgreSQL: the administrator flag,
//! password resets, and an account's active refresh families.

use tollgate_core::model::{BrowserSession, RefreshFamily, RefreshToken};
use tollgate_core::secret::Secret;

use tollgate_testkit::Backend;
use tollgate_testkit::fixtures::{account, client, open_with_account, user};
use tollgate_testkit::on_both_backends;

async fn admin_flag_and_password_reset(backend: Backend) {
    let Some((store, _dir, rng, a)) = open_with_account(backend).await else {
        return;
    };
    let admin = tollgate_core::model::User {
        admin: true,
        ..user(&a.sid, &rng, "boss@example.com")
    };
    let plain = tollgate_core::model::User {
        created_at: 6,
        ..user(&a.sid, &rng, "staff@example.com")
    };
    store.insert_user(&admin).await.expect("admin");
    store.insert_user(&plain).await.expect("user");
    assert_eq!(
        store.user(&admin.sid).await.expect("get"),
        Some(admin.clone())
    );
    assert!(
        store
            .user_by_email("boss@example.com")
            .await
            .expect("by email")
            .is_some_and(|u| u.admin)
    );
    let listed: Vec<bool> = store
        .users(Some(&a.sid))
        .await
        .expect("list")
        .iter()
        .map(|u| u.admin)
        .collect();
    assert_eq!(listed, vec![true, false]);

    // A reset replaces the hash and ends the user's browser sessions, nobody else's.
    let session = |u: &tollgate_core::model::User| BrowserSession {
        digest: Secret::generate(&rng).expect("rng").digest(),
        user_sid: u.sid.clone(),
        auth_time: 10,
        created_at: 10,
        last_seen_at: 10,
        expires_at: 10_000,
        amr: vec!["pwd".into()],
    };
    let (s1, s2) = (session(&plain), session(&admin));
    store.insert_session(&s1).await.expect("session");
    store.insert_session(&s2).await.expect("session");
    assert!(
        store
            .set_user_password(&plain.sid, "$argon2id$new", 20)
            .await
            .expect("reset")
    );
    let after = store.user(&plain.sid).await.expect("get").expect("user");
    assert_eq!(
        (after.password_hash.as_str(), after.updated_at),
        ("$argon2id$new", 20)
    );
    assert_eq!(store.session(&s1.digest).await.expect("get"), None);
    assert!(store.session(&s2.digest).await.expect("get").is_some());
    let nobody = tollgate_core::ids::UserSid::generate(&rng).expect("rng");
    assert!(
        !store
            .set_user_password(&nobody, "$argon2id$x", 20)
            .await
            .expect("unknown user")
    );
}

async fn active_refresh_families_of_one_account(backend: Backend) {
    let Some((store, _dir, rng, a)) = open_with_account(backend).await else {
        return;
    };
    let b = account(store.as_ref(), &rng).await;
    let (ca, cb) = (client(&a.sid, &rng, 1), client(&b.sid, &rng, 1));
    store.insert_client(&ca).await.expect("client");
    store.insert_client(&cb).await.expect("client");
    let u = user(&a.sid, &rng, "ada@example.com");
    store.insert_user(&u).await.expect("user");
    let family = |id: &str, c: &tollgate_core::model::Client, created_at: i64| RefreshFamily {
        id: id.into(),
        client_id: c.id.clone(),
        user_sid: u.sid.clone(),
        scopes: vec!["read".into()],
        auth_time: created_at,
        created_at,
        revoked_at: None,
        resources: Vec::new(),
        dpop_jkt: None,
    };
    let token = |f: &RefreshFamily, created_at: i64, expires_at: i64| RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        family_id: f.id.clone(),
        created_at,
        expires_at,
        used_at: None,
    };
    let live = family("live", &ca, 10);
    store
        .insert_refresh_family(&live, &token(&live, 10, 1000))
        .await
        .expect("family");
    let revoked = family("revoked", &ca, 11);
    store
        .insert_refresh_family(&revoked, &token(&revoked, 11, 1000))
        .await
        .expect("family");
    assert!(
        store
            .revoke_refresh_family(&revoked.id, 12)
            .await
            .expect("revoke")
    );
    let expired = family("expired", &ca, 12);
    store
        .insert_refresh_family(&expired, &token(&expired, 12, 50))
        .await
        .expect("family");
    // Rotated once: listed once, as last used at the rotation.
    let rotated = family("rotated", &ca, 13);
    let first = token(&rotated, 13, 1000);
    store
        .insert_refresh_family(&rotated, &first)
        .await
        .expect("family");
    store
        .rotate_refresh_token(&first.digest, &token(&rotated, 40, 1040), 40, 10)
        .await
        .expect("rotate");
    let other = family("other-account", &cb, 14);
    store
        .insert_refresh_family(&other, &token(&other, 14, 1000))
        .await
        .expect("family");

    let listed = store
        .active_refresh_families(&a.sid, 100, 500)
        .await
        .expect("list");
    let ids: Vec<(&str, i64, i64)> = listed
        .iter()
        .map(|f| (f.family.id.as_str(), f.last_issued_at, f.expires_at))
        .collect();
    assert_eq!(ids, vec![("rotated", 40, 1040), ("live", 10, 1000)]);
    assert_eq!(listed[1].family, live);
    let active_at = |now| store.count_active_refresh_families(&a.sid, now);
    assert_eq!(active_at(100).await.expect("count"), 2);
    assert_eq!(
        store
            .active_refresh_families(&a.sid, 100, 1)
            .await
            .expect("limited")
            .len(),
        1
    );
    let theirs = store
        .active_refresh_families(&b.sid, 100, 500)
        .await
        .expect("list");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].family.id, "other-account");
    // Once every token has expired, nothing is active.
    assert_eq!(active_at(2000).await.expect("count"), 0);
    assert_eq!(
        store.refresh_family("revoked").await.expect("get"),
        Some(RefreshFamily {
            revoked_at: Some(12),
            ..revoked
        })
    );
    assert_eq!(store.refresh_family("nope").await.expect("get"), None);
}

on_both_backends!(
    admin_flag_and_password_reset,
    active_refresh_families_of_one_account
);
