//! The passkey, per-account sign-in policy and refresh-family sign-in queries on SQLite and
//! PostgreSQL: a credential id registered once across the server, a user's passkeys listed
//! and counted, a use recorded (counter, backup state), deletion only by the owner; the
//! account's policy combined with the user's; a family's `amr` kept for its refreshes.

use tollgate_core::model::{SignInPolicy, StoredPasskey};
use tollgate_core::store::Store;

use tollgate_testkit::Backend;
use tollgate_testkit::fixtures::{open_with_account, open_with_user, user};
use tollgate_testkit::on_both_backends;

fn passkey(id: &str, user: &tollgate_core::model::User, at: i64) -> StoredPasskey {
    StoredPasskey {
        credential_id: id.to_owned(),
        user_sid: user.sid.clone(),
        user_handle: "6f1c4a2e-0000-4000-8000-000000000001".to_owned(),
        name: "Laptop".to_owned(),
        passkey: r#"{"cred":{"counter":0}}"#.to_owned(),
        backup_eligible: false,
        backup_state: false,
        sign_count: 0,
        created_at: at,
        last_used_at: None,
    }
}

async fn passkey_queries(backend: Backend) {
    let Some((store, _dir, rng, a)) = open_with_account(backend).await else {
        return;
    };
    let u = user(&a.sid, &rng, "keys@example.com");
    let v = user(&a.sid, &rng, "other@example.com");
    store.insert_user(&u).await.expect("user");
    store.insert_user(&v).await.expect("user");

    assert!(store.passkeys(&u.sid).await.expect("none").is_empty());
    let first = passkey("Y3JlZC0x", &u, 10);
    assert!(store.insert_passkey(&first).await.expect("insert"));
    let second = StoredPasskey {
        name: "Phone".into(),
        ..passkey("Y3JlZC0y", &u, 20)
    };
    assert!(store.insert_passkey(&second).await.expect("insert"));
    // A credential id is registered once, to anyone.
    let stolen = passkey("Y3JlZC0x", &v, 30);
    assert!(!store.insert_passkey(&stolen).await.expect("duplicate"));
    assert!(store.passkeys(&v.sid).await.expect("none").is_empty());

    let listed = store.passkeys(&u.sid).await.expect("list");
    assert_eq!(listed, vec![first.clone(), second.clone()], "oldest first");
    assert_eq!(
        store.passkey("Y3JlZC0x").await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(store.passkey("unknown").await.expect("get"), None);
    let settings = store.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(settings.passkeys, 2);
    assert!(settings.has_second_factor() && settings.second_factor_due());

    // A use stores the new counter, backup state and credential.
    let used = StoredPasskey {
        passkey: r#"{"cred":{"counter":7}}"#.into(),
        sign_count: 7,
        backup_eligible: true,
        backup_state: true,
        ..first.clone()
    };
    store.passkey_used(&used, 40).await.expect("used");
    let read = store
        .passkey("Y3JlZC0x")
        .await
        .expect("get")
        .expect("there");
    assert_eq!(
        read,
        StoredPasskey {
            last_used_at: Some(40),
            ..used
        }
    );

    // Only the owner deletes.
    assert!(
        !store
            .delete_passkey(&v.sid, "Y3JlZC0x")
            .await
            .expect("not theirs")
    );
    assert!(
        store
            .delete_passkey(&u.sid, "Y3JlZC0x")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_passkey(&u.sid, "Y3JlZC0x")
            .await
            .expect("gone")
    );
    assert_eq!(store.passkeys(&u.sid).await.expect("list"), vec![second]);

    // Deleting the user takes their passkeys along.
    assert!(store.delete_user(&u.sid, 50).await.expect("delete user"));
    assert_eq!(store.passkey("Y3JlZC0y").await.expect("get"), None);
}

async fn account_policy_queries(backend: Backend) {
    let Some((store, _dir, rng, a, u)) = open_with_user(backend, "policy@example.com").await else {
        return;
    };
    let s: &dyn Store = store.as_ref();

    assert_eq!(
        s.account_sign_in_policy(&a.sid).await.expect("default"),
        SignInPolicy::Optional
    );
    assert!(
        s.set_account_sign_in_policy(&a.sid, SignInPolicy::Required, 5)
            .await
            .expect("set")
    );
    assert_eq!(
        s.account_sign_in_policy(&a.sid).await.expect("read"),
        SignInPolicy::Required
    );
    let settings = s.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(
        (
            settings.policy,
            settings.account_policy,
            settings.user_policy
        ),
        (
            SignInPolicy::Required,
            SignInPolicy::Required,
            SignInPolicy::Optional
        )
    );
    assert!(settings.second_factor_due(), "enrolment is due");

    // A user's `password` relaxes an account's `optional`, never its `required`.
    s.set_sign_in_policy(&u.sid, SignInPolicy::Password, 6)
        .await
        .expect("user policy");
    let settings = s.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(settings.policy, SignInPolicy::Required);
    s.set_account_sign_in_policy(&a.sid, SignInPolicy::Optional, 7)
        .await
        .expect("set");
    let settings = s.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(settings.policy, SignInPolicy::Password);
    // The account's `password` holds unless the user's own setting is stricter.
    s.set_account_sign_in_policy(&a.sid, SignInPolicy::Password, 8)
        .await
        .expect("set");
    s.set_sign_in_policy(&u.sid, SignInPolicy::Required, 9)
        .await
        .expect("user policy");
    let settings = s.sign_in_settings(&u.sid).await.expect("settings");
    assert_eq!(settings.policy, SignInPolicy::Required);

    // An unknown account is not silently accepted.
    let nobody = tollgate_core::ids::AccountSid::generate(&rng).expect("rng");
    assert!(
        !s.set_account_sign_in_policy(&nobody, SignInPolicy::Required, 10)
            .await
            .expect("unknown")
    );

    // A refresh family keeps the sign-in's methods.
    let amr = vec!["hwk".to_owned()];
    s.insert_family_authn("family-1", &amr)
        .await
        .expect("family authn");
    assert_eq!(
        s.family_authn("family-1").await.expect("read"),
        Some(amr.clone())
    );
    assert_eq!(s.family_authn("family-2").await.expect("read"), None);
}

on_both_backends!(passkey_queries, account_policy_queries);
