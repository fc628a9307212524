//! The one implementation of [`Store`](tollgate_core::store::Store), one module per group of
//! its narrow traits: cold paths call the table modules with the pools,
//! the grant hot path calls the backend's grant groups, and every operation is metered.

use tollgate_core::store::{Store, StoreError, StoreResult};

use crate::sql::Db;

mod directory;
mod grants;
mod people;

/// The cold paths' pools and the grant groups of one backend.
pub(crate) struct SqlStore<G> {
    pub(crate) db: Db,
    pub(crate) grants: G,
}

impl<G: crate::grants::Grants> Store for SqlStore<G> {}

/// Times one store operation and counts its failures, by operation and kind of failure.
async fn metered<T>(
    op: &'static str,
    f: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let start = std::time::Instant::now();
    let result = f.await;
    metrics::histogram!("tollgate_store_operation_duration_seconds", "op" => op)
        .record(start.elapsed().as_secs_f64());
    if let Err(e) = &result {
        let kind = match e {
            StoreError::Conflict(_) => "conflict",
            StoreError::Backend(_) => "backend",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Corrupt(_) => "corrupt",
        };
        metrics::counter!("tollgate_store_errors_total", "op" => op, "kind" => kind).increment(1);
    }
    result
}
