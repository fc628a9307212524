//! The email link queries on SQLite and PostgreSQL: a link is stored as a digest, read back,
//! spent once, never after its expiry or for another purpose, goes with its user, and is
//! pruned; a user's refresh token families are revoked together.

use tollgate_core::mail::{EmailPurpose, EmailToken};
use tollgate_core::secret::Secret;

use tollgate_testkit::Backend;
use tollgate_testkit::fixtures::{
    client, insert_user_family, open_with_account, open_with_user, rng, user,
};
use tollgate_testkit::on_both_backends;

fn link(u: &tollgate_core::model::User, purpose: EmailPurpose, expires_at: i64) -> EmailToken {
    EmailToken {
        digest: Secret::generate(&rng()).expect("rng").digest(),
        purpose,
        user_sid: u.sid.clone(),
        email: u.email.clone(),
        created_at: 10,
        expires_at,
        used_at: None,
    }
}

async fn email_links_are_single_use(backend: Backend) {
    let Some((store, _dir, _, _, u)) = open_with_user(backend, "links@example.com").await else {
        return;
    };

    let verify = link(&u, EmailPurpose::VerifyEmail, 100);
    store.insert_email_token(&verify).await.expect("insert");
    assert_eq!(
        store.email_token(&verify.digest).await.expect("read"),
        Some(verify.clone())
    );
    // Not for another purpose, not at or after its expiry.
    let spend = |purpose, now| {
        let store = store.clone();
        let digest = verify.digest;
        async move {
            store
                .use_email_token(&digest, purpose, now)
                .await
                .expect("use")
        }
    };
    assert_eq!(spend(EmailPurpose::ResetPassword, 50).await, None);
    assert_eq!(spend(EmailPurpose::VerifyEmail, 100).await, None);
    // Once.
    let used = spend(EmailPurpose::VerifyEmail, 60).await.expect("spent");
    assert_eq!(
        (used.user_sid.clone(), used.email.clone()),
        (u.sid.clone(), u.email.clone())
    );
    assert_eq!(spend(EmailPurpose::VerifyEmail, 61).await, None);
    let read = store.email_token(&verify.digest).await.expect("read");
    assert_eq!(read.and_then(|t| t.used_at), Some(60));

    // Two spends at once: exactly one wins.
    let race = link(&u, EmailPurpose::ResetPassword, 100);
    store.insert_email_token(&race).await.expect("insert");
    let (s1, s2) = (store.clone(), store.clone());
    let (r1, r2) = tokio::join!(
        s1.use_email_token(&race.digest, EmailPurpose::ResetPassword, 20),
        s2.use_email_token(&race.digest, EmailPurpose::ResetPassword, 20),
    );
    let wins = [r1.expect("one"), r2.expect("two")]
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(wins, 1);

    // Expired links are pruned a day after; a deleted user's links go with it.
    let old = link(&u, EmailPurpose::VerifyEmail, 200);
    store.insert_email_token(&old).await.expect("insert");
    store.prune_expired(200 + 86_401).await.expect("prune");
    assert_eq!(store.email_token(&old.digest).await.expect("read"), None);
    let kept = link(&u, EmailPurpose::VerifyEmail, 1_000_000);
    store.insert_email_token(&kept).await.expect("insert");
    assert!(store.delete_user(&u.sid, 300).await.expect("delete"));
    assert_eq!(store.email_token(&kept.digest).await.expect("read"), None);
}

async fn a_users_refresh_families_are_revoked_together(backend: Backend) {
    let Some((store, _dir, rng, a)) = open_with_account(backend).await else {
        return;
    };
    let (u, other) = (
        user(&a.sid, &rng, "families@example.com"),
        user(&a.sid, &rng, "bystander@example.com"),
    );
    store.insert_user(&u).await.expect("user");
    store.insert_user(&other).await.expect("user");
    let c = client(&a.sid, &rng, 1);
    store.insert_client(&c).await.expect("client");
    for (id, who) in [("f1", &u), ("f2", &u), ("f3", &other)] {
        insert_user_family(store.as_ref(), &rng, id, &c.id, &who.sid).await;
    }
    let n = store.revoke_user_refresh_families(&u.sid, 77).await;
    assert_eq!(n.expect("revoke"), 2);
    for (id, revoked) in [("f1", Some(77)), ("f2", Some(77)), ("f3", None)] {
        let fam = store
            .refresh_family(id)
            .await
            .expect("read")
            .expect("family");
        assert_eq!(fam.revoked_at, revoked, "{id}");
    }
    // Again: nothing left to revoke, the first revocation time stays.
    let n = store.revoke_user_refresh_families(&u.sid, 88).await;
    assert_eq!(n.expect("revoke"), 0);
}

on_both_backends!(
    email_links_are_single_use,
    a_users_refresh_families_are_revoked_together,
);
