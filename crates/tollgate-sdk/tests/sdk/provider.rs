use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tollgate_sdk::TokenProvider;

use crate::*;

/// A server (kept running), an app, and a provider for it behind a counting proxy that
/// answers the first `throttle` token requests with 429.
struct Proxied {
    _server: Tollgate,
    app: App,
    proxy: String,
    count: Arc<AtomicUsize>,
    provider: TokenProvider,
}

async fn proxied(throttle: usize) -> Proxied {
    let t = tollgate().await;
    let app = t.app(|_| {}).await;
    let (proxy, count) = counting_proxy(t.base.clone(), throttle).await;
    let provider = TokenProvider::builder(&proxy)
        .client_credentials(&app.id, &app.secret)
        .build()
        .unwrap();
    Proxied {
        _server: t,
        app,
        proxy,
        count,
        provider,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_caches_and_flies_once() {
    let Proxied {
        _server,
        app,
        proxy,
        count,
        provider,
    } = proxied(0).await;
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let p = provider.clone();
        tasks.push(tokio::spawn(async move {
            p.token().await.unwrap().secret().to_owned()
        }));
    }
    let mut tokens = std::collections::HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap());
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one request for 1,000 callers"
    );
    assert_eq!(tokens.len(), 1);
    provider.token().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1, "cached");
    // A margin longer than the lifetime means every call renews.
    let eager = TokenProvider::builder(&proxy)
        .client_credentials(&app.id, &app.secret)
        .renew_before_expiry(Duration::from_secs(7200))
        .build()
        .unwrap();
    eager.token().await.unwrap();
    eager.token().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 3, "renewed inside the margin");
    assert!(
        !format!("{provider:?}").contains(&app.secret),
        "Debug redacts the secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_retries_429_honouring_retry_after() {
    let p = proxied(1).await;
    p.provider.token().await.unwrap();
    assert_eq!(p.count.load(Ordering::SeqCst), 2, "one 429, then the token");
}
