//! SQLite's one grant writer: a thread driving rusqlite synchronously.
//!
//! sqlx runs every SQLite connection on its own worker thread, so each statement is a hand-off
//! there and back; a rotation took seven of them on the one writer connection, and the
//! hand-offs, not SQLite, set the ceiling. Here one writer thread owns a write connection and
//! commits whatever is queued as one transaction (group commit): each job runs under its own
//! savepoint, so a job that fails leaves nothing behind, and every job is answered only after
//! the transaction holding it committed. The grant reads run there too (see `read`).

use std::sync::mpsc;

use rusqlite::Connection;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{copy_err, sqlite_pragmas};

/// Jobs committed in one transaction at most; enough to absorb every request in flight.
const MAX_BATCH: usize = 512;

/// One caller's work in a batch.
trait Task: Send {
    /// Runs inside the batch's transaction; says whether it succeeded (a failed job is rolled
    /// back alone) and how to answer its caller once the batch's fate is known.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish);
    /// Answers without running: the batch could not start.
    fn fail(self: Box<Self>, e: &StoreError);
}

type Finish = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

struct Call<F, T> {
    f: F,
    answer: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Task for Call<F, T>
where
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish) {
        let Call { f, answer } = *self;
        let result = f(conn);
        let ok = result.is_ok();
        let finish: Finish = Box::new(move |commit| {
            let outcome = match commit {
                Ok(()) => result,
                Err(e) => Err(copy_err(e)),
            };
            // A caller that gave up (its request was cancelled) needs no answer.
            let _ = answer.send(outcome);
        });
        (ok, finish)
    }

    fn fail(self: Box<Self>, e: &StoreError) {
        let _ = self.answer.send(Err(copy_err(e)));
    }
}

pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Box<dyn Task>>,
    /// Dropped with the store, which stops the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

impl SqliteWriter {
    /// Opens the writer thread and the first reader on an already migrated database file.
    pub fn open(path: &str) -> StoreResult<Self> {
        let writer = connection(path)?;
        // The writer never checkpoints: a checkpoint ends in an fsync, and every rotation
        // queued behind it would wait for the disk. A thread of its own does it instead.
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .map_err(sqlite_err)?;
        let checkpoints = connection(path)?;
        // A TRUNCATE checkpoint holds the write lock while it waits for readers: a long reader
        // (a backup) must make it give up and retry, not stall every grant write for seconds.
        checkpoints
            .busy_timeout(CHECKPOINT_PATIENCE)
            .map_err(sqlite_err)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Task>>();
        let (stop, stopped) = mpsc::channel::<()>();
        let start = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(|_| ())
                .map_err(|e| StoreError::Backend(format!("cannot start {name}: {e}")))
        };
        start(
            "tollgate-sqlite-writer",
            Box::new(move || write_loop(&writer, &rx)),
        )?;
        start(
            "tollgate-sqlite-checkpoint",
            Box::new(move || checkpoint_loop(&checkpoints, &stopped)),
        )?;
        Ok(SqliteWriter {
            jobs: tx,
            _checkpointer: stop,
        })
    }

    /// Runs `f` in the next group-committed transaction; answers after that commit.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let task: Box<dyn Task> = Box::new(Call { f, answer });
        self.jobs.send(task).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Reads on the writer's connection, after the writes queued before it. Its page cache
    /// stays warm, where a separate reader's cache is dropped whenever another connection
    /// commits, which made reading there dearer than the hand-off to this thread.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.write(f).await
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".into())
}

fn connection(path: &str) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(sqlite_err)?;
    conn.execute_batch(sqlite_pragmas!()).map_err(sqlite_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn write_loop(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn Task>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(task) => batch.push(task),
                Err(_) => break,
            }
        }
        commit_batch(conn, batch);
    }
}

/// How often committed WAL frames are copied into the database file. Not domain time: only
/// how far the WAL may grow between copies.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How long a TRUNCATE checkpoint waits for the writer and the readers before it gives up
/// until the next round.
const CHECKPOINT_PATIENCE: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL frames (64 MiB of 4 KiB pages) past which the checkpointer waits for readers to move
/// on and truncates the WAL. Under steady reads and writes a PASSIVE checkpoint copies frames
/// but never finds the moment the WAL can start over, and the file grew until the disk was
/// full; a TRUNCATE checkpoint holds writers back only while it finishes.
const WAL_LIMIT_FRAMES: i64 = 16_384;

/// PASSIVE never blocks the writer or a reader; what it cannot copy now it copies next time.
fn checkpoint_loop(conn: &Connection, stop: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        match bounded_checkpoint(conn, WAL_LIMIT_FRAMES) {
            Ok(n) => metrics::gauge!("tollgate_sqlite_wal_frames").set(n as f64),
            Err(e) => tracing::debug!(error = %e, "SQLite checkpoint did not run"),
        }
    }
}

/// Frames left to copy below which the TRUNCATE goes ahead, and how many more PASSIVE rounds
/// may run first to get there.
const CATCH_UP_FRAMES: i64 = 256;
const CATCH_UP_ROUNDS: usize = 4;

/// A PASSIVE checkpoint, then a TRUNCATE one when the WAL is longer than `limit` frames.
/// A TRUNCATE holds back writers while it copies what is left and syncs the file, so PASSIVE
/// rounds (which hold back no one) first copy what was written during the previous one,
/// until little is left.
fn bounded_checkpoint(conn: &Connection, limit: i64) -> rusqlite::Result<i64> {
    let (mut frames, mut copied) = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")?;
    if frames <= limit {
        return Ok(frames);
    }
    for _ in 0..CATCH_UP_ROUNDS {
        if frames - copied <= CATCH_UP_FRAMES {
            break;
        }
        (frames, copied) = checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)")?;
    }
    checkpoint(conn, "PRAGMA wal_checkpoint(TRUNCATE)").map(|(frames, _)| frames)
}

/// Runs one checkpoint; the frames the WAL holds after it (its length) and how many of them
/// are copied into the database.
fn checkpoint(conn: &Connection, sql: &str) -> rusqlite::Result<(i64, i64)> {
    // The answer is (busy, frames in the WAL, frames copied to the database).
    conn.query_row(sql, [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
}

fn commit_batch(conn: &Connection, batch: Vec<Box<dyn Task>>) {
    metrics::histogram!("tollgate_store_group_commit_size").record(batch.len() as f64);
    // IMMEDIATE takes the write lock up front, so the busy timeout covers waiting for a
    // writer in another process or on the sqlx pool.
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        for task in batch {
            task.fail(&e);
        }
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    for task in batch {
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            task.fail(&e);
            continue;
        }
        let (ok, finish) = task.run(conn);
        if !ok {
            // Best effort: if even this fails the COMMIT below fails and everything is undone.
            let _ = exec(conn, "ROLLBACK TO job");
        }
        let _ = exec(conn, "RELEASE job");
        finishes.push(finish);
    }
    let commit = exec(conn, "COMMIT");
    if commit.is_err() {
        let _ = exec(conn, "ROLLBACK");
    }
    for finish in finishes {
        finish(commit.as_ref().map(|_| ()));
    }
}

fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(sqlite_err)
}

/// The same classification as `sql::backend_err`: busy, locked, read-only, I/O, full and
/// cannot-open mean unavailable (answer 503, retry); a unique violation is a conflict.
pub(crate) fn sqlite_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::ReadOnly
            | C::SystemIoFailure
            | C::DiskFull
            | C::CannotOpen => StoreError::Unavailable(e.to_string()),
            C::ConstraintViolation
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(e.to_string())
            }
            _ => StoreError::Backend(e.to_string()),
        },
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{bounded_checkpoint, connection};

    /// Writes that leave the WAL long: a PASSIVE checkpoint copies them but keeps the file,
    /// and the bound empties it once it is past the limit.
    #[test]
    fn a_wal_past_the_limit_is_truncated() {
        let dir = std::env::temp_dir().join(format!("tollgate-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal.db");
        let path = path.to_str().unwrap();
        let writer = connection(path).unwrap();
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT);")
            .unwrap();
        let checkpoints = connection(path).unwrap();
        for i in 0..50 {
            writer
                .execute("INSERT INTO t (v) VALUES (?1)", [format!("{i:0>2000}")])
                .unwrap();
        }
        let under = bounded_checkpoint(&checkpoints, 1_000).unwrap();
        assert!(under >= 50, "the WAL keeps its frames: {under}");
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        assert!(wal > 0);
        assert_eq!(bounded_checkpoint(&checkpoints, 10).unwrap(), 0);
        assert_eq!(std::fs::metadata(format!("{path}-wal")).unwrap().len(), 0);
        let rows: i64 = writer
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 50);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
