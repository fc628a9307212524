//! PostgreSQL connections for the grant hot path, outside sqlx's pool.
//!
//! sqlx's pool pings a connection when it hands it out and again when it takes it back, so one
//! statement cost three round trips, and on loopback the kernel's work for each round trip
//! was the largest cost of a refresh. Here a connection is checked out and back in with no
//! ping; one that failed is dropped instead of being put back, and one that sat idle long
//! enough to have gone stale (a database restart, say) is pinged before use.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::backend_err;

/// Open at once at most; the sqlx pool keeps its own 16 for everything else.
const MAX_CONNECTIONS: usize = 12;
/// A connection idle longer than this is pinged before use.
const STALE_AFTER: Duration = Duration::from_secs(1);
/// How long a request waits for a connection before answering 503: never a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct PgConns {
    url: String,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    slots: std::sync::Arc<Semaphore>,
}

/// A checked-out connection. Dropped without [`Hot::done`] (an error, a cancelled request),
/// the connection is closed rather than reused: its state is unknown.
pub(crate) struct Hot<'a> {
    pub conn: AnyConnection,
    owner: &'a PgConns,
    _slot: OwnedSemaphorePermit,
}

impl Hot<'_> {
    /// Puts the connection back for the next caller.
    pub fn done(self) {
        if let Ok(mut idle) = self.owner.idle.lock() {
            idle.push((self.conn, Instant::now()));
        }
    }
}

impl PgConns {
    pub fn new(url: &str) -> Self {
        PgConns {
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
            slots: std::sync::Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }

    pub async fn get(&self) -> StoreResult<Hot<'_>> {
        let slot = tokio::time::timeout(ACQUIRE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("no database connection free".into()))?
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        loop {
            let pooled = self.idle.lock().map_err(|_| poisoned())?.pop();
            let Some((mut conn, since)) = pooled else {
                break;
            };
            if since.elapsed() < STALE_AFTER || conn.ping().await.is_ok() {
                return Ok(Hot {
                    conn,
                    owner: self,
                    _slot: slot,
                });
            }
            // Stale: drop it and try the next one, or open a fresh one.
        }
        let conn = tokio::time::timeout(ACQUIRE_TIMEOUT, AnyConnection::connect(&self.url))
            .await
            .map_err(|_| StoreError::Unavailable("connecting to the database timed out".into()))?
            .map_err(backend_err)?;
        Ok(Hot {
            conn,
            owner: self,
            _slot: slot,
        })
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("the connection list is poisoned".into())
}
