//! The sign-in settings, second-factor and account-page queries on SQLite and PostgreSQL:
//! defaults, a time step accepted once, recovery codes spent once and replaced with a new
//! setup, the failure count locking at its limit, the code's sign-in methods, and a user's
//! sessions and grants.

use tollgate_core::model::{BrowserSession, SignInPolicy};
use tollgate_core::secret::Secret;

use tollgate_testkit::Backend;
use tollgate_testkit::fixtures::{client, insert_user_family, open_with_user};
use tollgate_testkit::on_both_backends;

async fn sign_in_queries(backend: Backend) {
    let Some((store, _dir, rng, a, u)) = open_with_user(backend, "factors@example.com").await
    else {
        return;
    };

    let none = store.sign_in_settings(&u.sid).await.expect("defaults");
    assert_eq!(none.policy, SignInPolicy::Optional);
    assert!(!none.has_totp() && !none.second_factor_due());

    store
        .set_sign_in_policy(&u.sid, SignInPolicy::Required, 5)
        .await
        .expect("policy");
    let digests = vec!["d1".to_owned(), "d2".to_owned()];
    store
        .set_totp(&u.sid, Some("sealed"), 100, &digests, 6)
        .await
        .expect("totp");
    let s = store.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(
        s.policy,
        SignInPolicy::Required,
        "the setup keeps the policy"
    );
    assert_eq!(s.totp_sealed.as_deref(), Some("sealed"));
    assert_eq!((s.totp_last_step, s.recovery_codes_left), (100, 2));

    // A step is accepted once, and never one at or before the last.
    assert!(!store.accept_totp_step(&u.sid, 100, 7).await.expect("same"));
    assert!(store.accept_totp_step(&u.sid, 101, 7).await.expect("next"));
    assert!(!store.accept_totp_step(&u.sid, 101, 7).await.expect("again"));
    assert!(store.use_recovery_code(&u.sid, "d1", 8).await.expect("d1"));
    assert!(
        !store
            .use_recovery_code(&u.sid, "d1", 8)
            .await
            .expect("d1 again")
    );
    assert!(
        !store
            .use_recovery_code(&u.sid, "nope", 8)
            .await
            .expect("unknown")
    );
    assert_eq!(
        store
            .sign_in_settings(&u.sid)
            .await
            .expect("s")
            .recovery_codes_left,
        1
    );

    // Failures count up to the limit, which locks and starts the count again. Each failure
    // (with the lock it would set, and when), then the count and lock where checked.
    let failures = [
        (500, 9, None),
        (500, 9, Some((2, 0))),
        (500, 9, Some((0, 500))),
        (900, 10, None),
    ];
    for (lock_until, at, then) in failures {
        store
            .second_factor_failed(&u.sid, 3, lock_until, at)
            .await
            .expect("fail");
        if let Some(expected) = then {
            let s = store.sign_in_settings(&u.sid).await.expect("settings");
            assert_eq!((s.failures, s.locked_until), expected);
        }
    }
    assert!(store.accept_totp_step(&u.sid, 102, 11).await.expect("ok"));
    assert_eq!(store.sign_in_settings(&u.sid).await.expect("s").failures, 0);

    // Removing the setup removes its recovery codes.
    store
        .set_totp(&u.sid, None, 0, &[], 12)
        .await
        .expect("remove");
    let s = store.sign_in_settings(&u.sid).await.expect("settings");
    assert!(!s.has_totp());
    assert_eq!(s.recovery_codes_left, 0);
    assert!(
        !store
            .use_recovery_code(&u.sid, "d2", 13)
            .await
            .expect("gone")
    );
    assert!(
        !store
            .accept_totp_step(&u.sid, 200, 13)
            .await
            .expect("no secret")
    );

    // The sign-in methods behind a code.
    let code = Secret::generate(&rng).expect("rng").digest();
    assert_eq!(store.code_authn(&code).await.expect("none"), None);
    let amr = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    store
        .insert_code_authn(&code, &amr, 60)
        .await
        .expect("insert");
    assert_eq!(
        store.code_authn(&code).await.expect("read"),
        Some(amr.clone())
    );

    // The user's sessions: listed newest first, expired ones not; all but one ended.
    let session = |created: i64, expires: i64| BrowserSession {
        digest: Secret::generate(&rng).expect("rng").digest(),
        user_sid: u.sid.clone(),
        auth_time: created,
        created_at: created,
        last_seen_at: created,
        expires_at: expires,
        amr: amr.clone(),
    };
    let (s1, s2, old) = (session(20, 1000), session(30, 1000), session(1, 15));
    for s in [&s1, &s2, &old] {
        store.insert_session(s).await.expect("session");
    }
    let listed = store.user_sessions(&u.sid, 16).await.expect("sessions");
    assert_eq!(listed, vec![s2.clone(), s1.clone()]);
    assert_eq!(
        store
            .delete_user_sessions(&u.sid, Some(&s2.digest))
            .await
            .expect("end"),
        2
    );
    assert_eq!(
        store.user_sessions(&u.sid, 16).await.expect("left"),
        vec![s2]
    );

    // Grants: consent listed; revoking withdraws it and revokes the client's families.
    let c = client(&a.sid, &rng, 1);
    store.insert_client(&c).await.expect("client");
    store
        .put_consent(&u.sid, &c.id, &["openid".into()], 40)
        .await
        .expect("consent");
    let listed = store.user_consents(&u.sid).await.expect("consents");
    assert_eq!(listed, vec![(c.id.clone(), vec!["openid".to_owned()], 40)]);
    insert_user_family(store.as_ref(), &rng, "fam-account", &c.id, &u.sid).await;
    assert!(
        store
            .revoke_user_grant(&u.sid, &c.id, 50)
            .await
            .expect("revoke")
    );
    assert!(store.user_consents(&u.sid).await.expect("none").is_empty());
    let fam = store.refresh_family("fam-account").await.expect("read");
    assert_eq!(fam.and_then(|f| f.revoked_at), Some(50));
    assert!(
        !store
            .revoke_user_grant(&u.sid, &c.id, 51)
            .await
            .expect("nothing left")
    );

    // Deleting the user takes its settings and codes with it.
    assert!(store.delete_user(&u.sid, 60).await.expect("delete"));
    assert_eq!(
        store
            .sign_in_settings(&u.sid)
            .await
            .expect("defaults")
            .policy,
        SignInPolicy::Optional
    );
}

on_both_backends!(sign_in_queries);
