//! The store behaviour suite, run against SQLite and PostgreSQL alike.

use std::sync::Arc;

use tollgate_core::ids::{AccountSid, ClientId, OrganizationSid, UserSid};
use tollgate_core::keys::{KeySealer, LoadedKey, SigningAlgorithm};
use tollgate_core::model::{
    Account, AuthorizationCode, BrowserSession, Client, CodeRedemption, Entity, GrantType,
    Organization, RefreshFamily, RefreshRotation, RefreshToken, TokenFormat, User,
};
use tollgate_core::secret::Secret;
use tollgate_core::store::{Store, StoreError};
use tollgate_core::{SystemRng, clock::Rng};

use crate::helpers::{Backend, fresh_database};
use crate::on_both_backends;

pub(crate) async fn open(backend: Backend) -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(backend, &dir).await?;
    let store = tollgate_store::open(&url, Arc::new(tollgate_core::SystemClock))
        .await
        .expect("open store");
    assert_eq!(
        store.backend(),
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    Some((store, dir))
}

pub(crate) fn rng() -> SystemRng {
    SystemRng::default()
}

pub(crate) async fn account(store: &dyn Store, rng: &dyn Rng) -> Account {
    let org = Organization {
        sid: OrganizationSid::generate(rng).expect("rng"),
        friendly_name: "org".into(),
        created_at: 1,
    };
    store.insert_organization(&org).await.expect("org");
    let a = Account {
        sid: AccountSid::generate(rng).expect("rng"),
        organization_sid: org.sid,
        friendly_name: "acct".into(),
        auth_token_digest: Secret::generate(rng).expect("rng").digest(),
        created_at: 2,
    };
    store.insert_account(&a).await.expect("account");
    a
}

pub(crate) fn client(account: &AccountSid, rng: &dyn Rng, created_at: i64) -> Client {
    Client {
        id: ClientId::generate(rng).expect("rng"),
        account_sid: account.clone(),
        friendly_name: "app \u{2713} 'quoted'".into(),
        secret_digest: Some(Secret::generate(rng).expect("rng").digest()),
        grant_types: vec![GrantType::ClientCredentials, GrantType::DeviceCode],
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        scopes: vec!["read".into(), "write".into()],
        audiences: vec!["https://api.example".into()],
        token_format: TokenFormat::Jwt,
        require_pkce: false,
        access_token_ttl: Some(600),
        created_at,
        updated_at: created_at,
        auth_method: tollgate_core::model::TokenEndpointAuthMethod::ClientSecretJwt,
        jwks: None,
        jwks_uri: Some("https://app.example/jwks".into()),
        sealed_secret: Some("c2VhbGVk".into()),
        require_par: true,
        require_dpop: true,
        profile: tollgate_core::model::ClientProfile::Default,
    }
}

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
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let a = account(store.as_ref(), &rng).await;
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

pub(crate) fn user(account: &AccountSid, rng: &dyn Rng, email: &str) -> User {
    User {
        sid: UserSid::generate(rng).expect("rng"),
        account_sid: account.clone(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        first_name: Some("Ada".into()),
        last_name: None,
        friendly_name: Some("O'Brien \u{1f600}".into()),
        admin: false,
        created_at: 5,
        updated_at: 5,
    }
}

async fn users_sessions_and_consents(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let a = account(store.as_ref(), &rng).await;
    let u = user(&a.sid, &rng, "ada@example.com");
    store.insert_user(&u).await.expect("user");
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
    let fam = RefreshFamily {
        id: "fam-del".into(),
        client_id: c.id.clone(),
        user_sid: u.sid.clone(),
        scopes: vec![],
        auth_time: 1,
        created_at: 1,
        revoked_at: None,
        resources: vec![],
        dpop_jkt: None,
    };
    let t = RefreshToken {
        digest: Secret::generate(&rng).expect("rng").digest(),
        family_id: fam.id.clone(),
        created_at: 1,
        expires_at: 1000,
        used_at: None,
    };
    store.insert_refresh_family(&fam, &t).await.expect("family");

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

async fn codes_redeem_once(backend: Backend) {
    let Some((store, _dir)) = open(backend).await else {
        return;
    };
    let rng = rng();
    let a = account(store.as_ref(), &rng).await;
    let u = user(&a.sid, &rng, "c@example.com");
    store.insert_user(&u).await.expect("user");
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
        store
            .rotate_refresh_token(&t1.digest, &t2, 5, 10)
            .await
            .expect("rotate"),
        RefreshRotation::Rotated
    );
    assert_eq!(
        store
            .refresh_token(&t1.digest)
            .await
            .expect("get")
            .map(|(t, _)| t.used_at),
        Some(Some(5))
    );
    assert_eq!(
        store
            .refresh_token(&t2.digest)
            .await
            .expect("get")
            .map(|(t, _)| t.used_at),
        Some(None)
    );
    // Again within the grace window: another successor, the first use time kept.
    let t3 = successor(6);
    assert_eq!(
        store
            .rotate_refresh_token(&t1.digest, &t3, 6, 10)
            .await
            .expect("rotate"),
        RefreshRotation::Rotated
    );
    assert_eq!(
        store
            .refresh_token(&t1.digest)
            .await
            .expect("get")
            .map(|(t, _)| t.used_at),
        Some(Some(5))
    );
    assert!(
        store
            .refresh_token(&t3.digest)
            .await
            .expect("get")
            .is_some()
    );
    // After the window: reuse, the family is revoked and nothing is stored.
    let t4 = successor(20);
    assert_eq!(
        store
            .rotate_refresh_token(&t1.digest, &t4, 20, 10)
            .await
            .expect("rotate"),
        RefreshRotation::Reused
    );
    assert_eq!(store.refresh_token(&t4.digest).await.expect("get"), None);
    assert_eq!(
        store
            .refresh_token(&t2.digest)
            .await
            .expect("get")
            .map(|(_, f)| f.revoked_at),
        Some(Some(20))
    );
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
    assert_eq!(
        store
            .refresh_token(&other.digest)
            .await
            .expect("get")
            .map(|(_, f)| f.revoked_at),
        Some(Some(9))
    );
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
    single_use_identifiers,
    pushed_requests_spend_once,
    accounts_round_trip,
    clients_round_trip,
    signing_keys_round_trip,
    every_write_is_in_the_change_feed,
    users_sessions_and_consents,
    codes_redeem_once,
    refresh_families_rotate_and_revoke,
    concurrent_grant_writes_fail_alone,
);
