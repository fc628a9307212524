//! Group commit on PostgreSQL: the grant writes in flight on one node (refresh rotations,
//! code redemptions, new refresh families) are sent as one statement and commit together, so
//! a busy node pays one round trip and one WAL flush for many grants instead of one each.
//!
//! `tollgate_grant_batch` (migration 0008) is one statement: a job that fails undoes the batch,
//! which then runs job by job so that only that one fails. Every caller is answered after its
//! statement, and so its commit, returned: a rotation still answers only after it is durable.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use tollgate_core::store::{StoreError, StoreResult};

use crate::hot::HotConnections;
use crate::sql::{backend_err, copy_err};

/// Jobs in one statement at most.
const MAX_BATCH: usize = 256;
/// Batches in flight at once. One: while it waits for its flush the next fills, and larger
/// batches cost the database less per job than more of them in parallel (measured).
const LANES: usize = 1;

/// What a job came to, as `tollgate_grant_batch` reports it.
pub(crate) struct Outcome {
    pub outcome: String,
    pub detail: Option<String>,
}

type Queued = (Value, oneshot::Sender<StoreResult<Outcome>>);

pub(crate) struct GrantBatches {
    queue: mpsc::UnboundedSender<Queued>,
}

impl GrantBatches {
    /// Starts the lanes; they stop when the store is dropped.
    pub fn start(hot: Arc<HotConnections>) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel::<Queued>();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..LANES {
            let (hot, jobs) = (hot.clone(), jobs.clone());
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                loop {
                    if jobs.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
                        return;
                    }
                    run(&hot, std::mem::take(&mut batch)).await;
                }
            });
        }
        GrantBatches { queue }
    }

    /// Queues one job (a JSON object with a `kind`) and waits for its committed outcome.
    pub async fn submit(&self, job: Value) -> StoreResult<Outcome> {
        let (answer, answered) = oneshot::channel();
        self.queue.send((job, answer)).map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}

async fn run(hot: &HotConnections, batch: Vec<Queued>) {
    metrics::histogram!("tollgate_store_group_commit_size").record(batch.len() as f64);
    let (jobs, answers): (Vec<Value>, Vec<_>) = batch.into_iter().unzip();
    match statement(hot, &jobs).await {
        Ok(rows) => answer_all(answers, rows),
        // A job failed, so nothing of the batch was written: run each alone, and only the
        // failing one fails. An unreachable database fails them all.
        Err(StoreError::Backend(_) | StoreError::Conflict(_)) if jobs.len() > 1 => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let outcome = statement(hot, std::slice::from_ref(&job))
                    .await
                    .and_then(|rows| rows.into_iter().next().ok_or_else(unanswered));
                let _ =
                    answer.send(outcome.map(|(_, outcome, detail)| Outcome { outcome, detail }));
            }
        }
        Err(e) => {
            for answer in answers {
                let _ = answer.send(Err(copy_err(&e)));
            }
        }
    }
}

fn answer_all(
    answers: Vec<oneshot::Sender<StoreResult<Outcome>>>,
    rows: Vec<(i32, String, Option<String>)>,
) {
    let mut answers: Vec<Option<_>> = answers.into_iter().map(Some).collect();
    for (n, outcome, detail) in rows {
        let slot = usize::try_from(n).ok().and_then(|i| answers.get_mut(i));
        if let Some(answer) = slot.and_then(Option::take) {
            let _ = answer.send(Ok(Outcome { outcome, detail }));
        }
    }
    for answer in answers.into_iter().flatten() {
        let _ = answer.send(Err(unanswered()));
    }
}

fn unanswered() -> StoreError {
    StoreError::Backend("a grant job went unanswered".into())
}

async fn statement(
    hot: &HotConnections,
    jobs: &[Value],
) -> StoreResult<Vec<(i32, String, Option<String>)>> {
    let mut c = hot.get().await?;
    let rows = sqlx::query_as("SELECT n, outcome, detail FROM tollgate_grant_batch($1::json)")
        .bind(serde_json::to_string(jobs).map_err(|e| StoreError::Backend(e.to_string()))?)
        .fetch_all(&mut c.conn)
        .await
        .map_err(backend_err)?;
    c.done();
    Ok(rows)
}

/// The job objects, field names as `tollgate_grant_batch` reads them.
pub(crate) fn rotate_job(
    old: &str,
    next: &tollgate_core::model::RefreshToken,
    at: i64,
    grace: i64,
) -> Value {
    json!({
        "kind": "rotate", "old": old, "next": next.digest.to_hex(), "family": next.family_id,
        "created": next.created_at, "expires": next.expires_at, "used": next.used_at,
        "at": at, "grace": grace,
    })
}
