//! The one implementation of [`Store`](tollgate_core::store::Store), one module per group of
//! its narrow traits: cold paths call the table modules with the pools,
//! the grant hot path calls the backend's grant groups, and every operation is metered.

use tollgate_core::store::{Store, StoreError, StoreResult};

use crate::sql::Db;

/// Implements one of the store's traits on [`SqlStore`]. A listed method forwards its
/// arguments to the function of the same name in a table module (`module::name`, given the
/// pools first) or in the backend's grant groups (`grants.name`), metered under that name;
/// methods that do more are written out in the braces.
macro_rules! forward {
    (impl $trait:ident; $($entries:tt)*) => {
        forward! { impl $trait {} $($entries)* }
    };
    (impl $trait:ident { $($item:item)* } $($entries:tt)*) => {
        forward! { @fns $trait [$($item)*] $($entries)* }
    };
    (@fns $trait:ident [$($done:tt)*]
        grants.$name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; $($rest:tt)*
    ) => {
        forward! { @fns $trait [$($done)*
            async fn $name(&self, $($arg: $ty),*) -> tollgate_core::store::StoreResult<$ret> {
                $crate::store::metered(stringify!($name), self.grants.$name($($arg),*)).await
            }
        ] $($rest)* }
    };
    (@fns $trait:ident [$($done:tt)*]
        $module:ident::$name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; $($rest:tt)*
    ) => {
        forward! { @fns $trait [$($done)*
            async fn $name(&self, $($arg: $ty),*) -> tollgate_core::store::StoreResult<$ret> {
                $crate::store::metered(stringify!($name), $module::$name(&self.db, $($arg),*)).await
            }
        ] $($rest)* }
    };
    (@fns $trait:ident [$($done:tt)*]) => {
        #[async_trait::async_trait]
        impl<G: $crate::grants::Grants> $trait for $crate::store::SqlStore<G> {
            $($done)*
        }
    };
}

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
