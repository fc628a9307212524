use std::sync::Arc;
use std::sync::atomic::Ordering;

use tollgate_sdk::{TokenProvider, ValidationError, Validator};

use crate::*;

/// A provider for `app` holding a fresh DPoP key.
fn dpop_provider(t: &Tollgate, app: &App) -> TokenProvider {
    TokenProvider::builder(&t.base)
        .client_credentials(&app.id, &app.secret)
        .dpop(tollgate_sdk::DpopKey::generate().unwrap())
        .build()
        .unwrap()
}

/// RFC 9449 end to end: the provider obtains a DPoP-bound token (answering a nonce challenge),
/// the validator accepts it only as DPoP with a fresh proof of the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_bound_tokens_from_provider_to_validator() {
    let t = tollgate().await;
    let app = t.app(|s| s.require_dpop = true).await;
    let provider = dpop_provider(&t, &app);
    let token = provider.token().await.unwrap();
    assert_eq!(token.token_type, "DPoP");
    let validator = t.validator().await;
    let url = "https://api.example/messages";
    assert!(matches!(
        validator.validate(token.secret(), &[]).await,
        Err(ValidationError::InvalidToken(_))
    ));
    let proof = provider.dpop_proof("GET", url, &token).unwrap().unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&proof),
        method: "GET",
        url,
    };
    validator
        .validate_dpop(token.secret(), &[], &req)
        .await
        .unwrap();
    // A replayed proof, a proof for another URL, and another key's proof are refused.
    assert!(matches!(
        validator.validate_dpop(token.secret(), &[], &req).await,
        Err(ValidationError::InvalidDpopProof(_))
    ));
    let other = provider
        .dpop_proof("GET", "https://api.example/other", &token)
        .unwrap()
        .unwrap();
    let stranger = tollgate_sdk::DpopKey::generate().unwrap();
    let forged = stranger
        .proof("GET", url, Some(token.secret()), None)
        .unwrap();
    for (what, proof) in [("another URL", &other), ("another key", &forged)] {
        let req = tollgate_sdk::DpopRequest {
            proof: Some(proof),
            method: "GET",
            url,
        };
        assert!(
            matches!(
                validator.validate_dpop(token.secret(), &[], &req).await,
                Err(ValidationError::InvalidDpopProof(_))
            ),
            "{what}"
        );
    }
}

/// Two replicas of an API sharing one replay cache: a proof accepted at one is refused at the
/// other (each with its own in-memory default would accept it once more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_replay_cache_spans_validators() {
    struct Counting {
        inner: tollgate_sdk::MemoryReplayCache,
        calls: std::sync::atomic::AtomicUsize,
    }
    impl tollgate_sdk::ReplayCache for Counting {
        fn check_and_remember(&self, jti: &str, exp: i64) -> bool {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.check_and_remember(jti, exp)
        }
    }
    let t = tollgate().await;
    let app = t.app(|s| s.require_dpop = true).await;
    let provider = dpop_provider(&t, &app);
    let token = provider.token().await.unwrap();
    let shared = Arc::new(Counting {
        inner: tollgate_sdk::MemoryReplayCache::new(),
        calls: Default::default(),
    });
    let replica = || {
        Validator::discover(&t.base)
            .audience(&t.base)
            .replay_cache(shared.clone())
            .build()
    };
    let (one, two) = (replica().await.unwrap(), replica().await.unwrap());
    let url = "https://api.example/messages";
    let proof = provider.dpop_proof("GET", url, &token).unwrap().unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&proof),
        method: "GET",
        url,
    };
    one.validate_dpop(token.secret(), &[], &req).await.unwrap();
    assert!(matches!(
        two.validate_dpop(token.secret(), &[], &req).await,
        Err(ValidationError::InvalidDpopProof(m)) if m.contains("already used")
    ));
    assert_eq!(shared.calls.load(Ordering::SeqCst), 2);
    // Unshared, the second replica would have taken it.
    let fresh = provider.dpop_proof("GET", url, &token).unwrap().unwrap();
    let req = tollgate_sdk::DpopRequest {
        proof: Some(&fresh),
        method: "GET",
        url,
    };
    t.validator()
        .await
        .validate_dpop(token.secret(), &[], &req)
        .await
        .unwrap();
    t.validator()
        .await
        .validate_dpop(token.secret(), &[], &req)
        .await
        .unwrap();
}
