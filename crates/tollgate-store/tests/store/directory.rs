//! Accounts, clients, keys, the change feed, users, sessions and consents on both stores.

use tollgate_core::ids::{AccountSid, OrganizationSid};
use tollgate_core::keys::{KeySealer, LoadedKey, SigningAlgorithm};
use tollgate_core::model::{Account, BrowserSession, Entity};
use tollgate_core::secret::Secret;
use tollgate_core::store::StoreError;

use tollgate_testkit::fixtures::{
    account, client, insert_user_family, open, open_with_account, open_with_user, rng, user,
};
use tollgate_testkit::{Backend, on_both_backends};

async fn accounts_round_trip(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    assert_eq!(store.count_accounts().await.expect("count"), 0);
    let a = account(store.as_ref(), &rng).await;
    assert!(
        store
            .organization_exists(&a.organization_sid)
            .await
            .expect("exists")
    );
    assert!(
        !store
            .organization_exists(&OrganizationSid::generate(&rng).expect("rng"))
            .await
            .expect("exists")
    );
    assert_eq!(store.account(&a.sid).await.expect("get"), Some(a.clone()));
    assert_eq!(store.accounts().await.expect("list"), vec![a.clone()]);
    assert_eq!(store.count_accounts().await.expect("count"), 1);

    let token = Secret::generate(&rng).expect("rng");
    assert!(
        store
            .set_auth_token(&a.sid, &token.digest(), 5)
            .await
            .expect("rotate")
    );
    let reread = store.account(&a.sid).await.expect("get").expect("present");
    assert!(reread.auth_token_digest.verify(token.expose()));
    assert!(
        !store
            .set_auth_token(
                &AccountSid::generate(&rng).expect("rng"),
                &token.digest(),
                5
            )
            .await
            .expect("unknown")
    );
    assert_eq!(
        store
            .account(&AccountSid::generate(&rng).expect("rng"))
            .await
            .expect("get"),
        None
    );

    // Same SID twice is a conflict, not a crash or an overwrite.
    match store
        .insert_account(&Account {
            friendly_name: "dup".into(),
            ..a.clone()
        })
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(
        store
            .account(&a.sid)
            .await
            .expect("get")
            .map(|x| x.friendly_name),
        Some("acct".into())
    );
}

async fn clients_round_trip(backend: Backend) {
    let Some((store, _dir, rng, a)) = open_with_account(backend).await else {
        return;
    };
    let b = account(store.as_ref(), &rng).await;
    let c1 = client(&a.sid, &rng, 10);
    let mut c2 = client(&a.sid, &rng, 11);
    c2.secret_digest = None;
    c2.access_token_ttl = None;
    c2.redirect_uris.clear();
    let c3 = client(&b.sid, &rng, 12);
    for c in [&c1, &c2, &c3] {
        store.insert_client(c).await.expect("insert");
    }
    assert_eq!(store.client(&c1.id).await.expect("get"), Some(c1.clone()));
    assert_eq!(store.client(&c2.id).await.expect("get"), Some(c2.clone()));
    assert_eq!(
        store.clients(Some(&a.sid)).await.expect("list"),
        vec![c1.clone(), c2.clone()]
    );
    assert_eq!(store.clients(None).await.expect("all").len(), 3);

    let mut changed = c1.clone();
    changed.scopes = vec!["read".into()];
    changed.friendly_name = "renamed".into();
    changed.secret_digest = Some(Secret::generate(&rng).expect("rng").digest());
    changed.updated_at = 99;
    changed.oidc = tollgate_core::model::OidcSettings::default();
    assert!(store.update_client(&changed).await.expect("update"));
    assert_eq!(
        store.client(&c1.id).await.expect("get"),
        Some(changed.clone())
    );
    assert!(
        !store
            .update_client(&client(&a.sid, &rng, 1))
            .await
            .expect("update unknown")
    );

    assert!(matches!(
        store.insert_client(&c1).await,
        Err(StoreError::Conflict(_))
    ));
    // A client for an account that does not exist is refused and nothing is written.
    let orphan = client(&AccountSid::generate(&rng).expect("rng"), &rng, 13);
    assert!(store.insert_client(&orphan).await.is_err());
    assert_eq!(store.client(&orphan.id).await.expect("get"), None);

    assert!(store.delete_client(&c1.id).await.expect("delete"));
    assert!(!store.delete_client(&c1.id).await.expect("delete again"));
    assert_eq!(store.client(&c1.id).await.expect("get"), None);
}

async fn signing_keys_round_trip(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let sealer = KeySealer::new(&[9u8; 32]).expect("sealer");
    let k1 = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 10, 10).expect("key");
    let mut k2 = LoadedKey::generate(SigningAlgorithm::EdDSA, &sealer, &rng, 20, 30)
        .expect("key")
        .stored
        .clone();
    k2.retires_at = Some(40);
    k2.expires_at = Some(50);
    store.insert_signing_key(&k1.stored).await.expect("insert");
    store.insert_signing_key(&k2).await.expect("insert");
    let keys = store.signing_keys().await.expect("list");
    assert_eq!(keys, vec![k1.stored.clone(), k2.clone()]);
    // What comes back still opens with the same key-encryption key.
    assert!(LoadedKey::load(keys[1].clone(), &sealer).is_ok());
    assert!(matches!(
        store.insert_signing_key(&k2).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.delete_signing_key(&k2.kid).await.expect("delete"));
    assert_eq!(store.signing_keys().await.expect("list").len(), 1);
}

async fn every_write_is_in_the_change_feed(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let start = store.latest_change().await.expect("latest");
    let a = account(store.as_ref(), &rng).await;
    let c = client(&a.sid, &rng, 1);
    store.insert_client(&c).await.expect("insert");
    store.update_client(&c).await.expect("update");
    store
        .set_auth_token(&a.sid, &Secret::generate(&rng).expect("rng").digest(), 3)
        .await
        .expect("token");
    let sealer = KeySealer::new(&[1u8; 32]).expect("sealer");
    let key = LoadedKey::generate(SigningAlgorithm::ES256, &sealer, &rng, 1, 1).expect("key");
    store.insert_signing_key(&key.stored).await.expect("key");
    store.delete_client(&c.id).await.expect("delete");
    // Writes that change nothing record nothing.
    assert!(!store.delete_client(&c.id).await.expect("delete again"));

    let changes = store.changes_since(start).await.expect("changes");
    let seen: Vec<(Entity, String)> = changes
        .iter()
        .map(|ch| (ch.entity, ch.id.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Entity::Account, a.sid.to_string()),
            (Entity::Client, c.id.to_string()),
            (Entity::Client, c.id.to_string()),
            (Entity::Account, a.sid.to_string()),
            (Entity::SigningKey, key.kid().to_owned()),
            (Entity::Client, c.id.to_string()),
        ]
    );
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    let last = store.latest_change().await.expect("latest");
    assert_eq!(changes.last().map(|c| c.seq), Some(last));
    assert!(store.changes_since(last).await.expect("none").is_empty());
    // Pruning never drops the newest entries a cursor may still need.
    store.prune_changes(i64::MAX).await.expect("prune");
    assert_eq!(store.latest_change().await.expect("latest"), last);
}

async fn users_sessions_and_consents(backend: Backend) {
    let Some((store, _dir, rng, a, u)) = open_with_user(backend, "ada@example.com").await else {
        return;
    };
    assert_eq!(store.user(&u.sid).await.expect("get"), Some(u.clone()));
    assert_eq!(
        store
            .user_by_email("ada@example.com")
            .await
            .expect("by email"),
        Some(u.clone())
    );
    assert_eq!(
        store.users(Some(&a.sid)).await.expect("list"),
        vec![u.clone()]
    );
    let dup = user(&a.sid, &rng, "ada@example.com");
    assert!(
        matches!(store.insert_user(&dup).await, Err(StoreError::Conflict(_))),
        "emails are unique"
    );

    let s = BrowserSession {
        digest: Secret::generate(&rng).expect("rng").digest(),
        user_sid: u.sid.clone(),
        auth_time: 10,
        created_at: 10,
        last_seen_at: 10,
        expires_at: 100,
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
    };
    store.insert_session(&s).await.expect("session");
    assert_eq!(
        store.session(&s.digest).await.expect("get"),
        Some(s.clone())
    );
    store.touch_session(&s.digest, 20).await.expect("touch");
    assert_eq!(
        store
            .session(&s.digest)
            .await
            .expect("get")
            .map(|x| x.last_seen_at),
        Some(20)
    );

    let c = client(&a.sid, &rng, 1);
    store.insert_client(&c).await.expect("client");
    assert_eq!(store.consent(&u.sid, &c.id).await.expect("none"), None);
    store
        .put_consent(&u.sid, &c.id, &["openid".into()], 1)
        .await
        .expect("consent");
    store
        .put_consent(&u.sid, &c.id, &["openid".into(), "email".into()], 2)
        .await
        .expect("update consent");
    assert_eq!(
        store.consent(&u.sid, &c.id).await.expect("get"),
        Some(vec!["openid".into(), "email".into()])
    );

    // A refresh family of the user, to see deletion revoke it.
    let t = insert_user_family(store.as_ref(), &rng, "fam-del", &c.id, &u.sid).await;

    assert!(store.delete_user(&u.sid, 50).await.expect("delete"));
    assert_eq!(store.user(&u.sid).await.expect("gone"), None);
    assert_eq!(
        store
            .session(&s.digest)
            .await
            .expect("sessions go with the user"),
        None
    );
    assert_eq!(
        store
            .consent(&u.sid, &c.id)
            .await
            .expect("consents go with the user"),
        None
    );
    assert_eq!(
        store
            .refresh_token(&t.digest)
            .await
            .expect("family")
            .map(|(_, f)| f.revoked_at),
        Some(Some(50))
    );
    assert!(!store.delete_user(&u.sid, 51).await.expect("again"));

    store
        .delete_session(&s.digest)
        .await
        .expect("delete missing session is fine");
}

on_both_backends!(
    accounts_round_trip,
    clients_round_trip,
    signing_keys_round_trip,
    every_write_is_in_the_change_feed,
    users_sessions_and_consents,
);
