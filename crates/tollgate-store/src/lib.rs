//! SQLite (embedded default) and PostgreSQL behind one implementation of [`Store`].
//!
//! The cold paths run through sqlx's `Any` driver, so a statement is written once where the
//! two databases agree (both take `$n` placeholders, `RETURNING` and `ON CONFLICT`); each
//! table group lives in its own module. The grant hot path is `grants`: one narrow trait per
//! grant group, implemented once per backend; the store is generic over the implementation
//! `connect` picks, so the hot path pays no dynamic dispatch.

mod accounts;
pub mod backup;
mod changes;
mod clients;
mod connect;
mod email_tokens;
mod grants;
mod keys;
mod leases;
pub mod migrate;
mod passkeys;
mod refresh;
mod registrations;
mod resources;
mod revocations;
mod rows;
mod sessions;
mod sign_in;
mod sql;
mod statements;
mod store;
mod users;

use std::sync::Arc;

use tollgate_core::Clock;
use tollgate_core::store::{Store, StoreResult};

/// Opens (and migrates) the store a database URL names: `sqlite://…` or `postgres://…`.
/// Change-log rows are stamped with `clock`.
pub async fn open(url: &str, clock: Arc<dyn Clock>) -> StoreResult<Arc<dyn Store>> {
    connect::connect(url, clock).await
}
