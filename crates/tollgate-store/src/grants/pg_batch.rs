//! Group commit on PostgreSQL: the grant writes in flight on one node (refresh rotations,
//! code redemptions, new refresh families) are sent as one statement and commit together, so
//! a busy node pays one round trip and one WAL flush for many grants instead of one each.
//!
//! `tollgate_grant_batch` (migration 0008) is one statement: a job that fails undoes the batch,
//! which then runs job by job so that only that one fails. Every caller is answered after its
//! statement, and so its commit, returned: a rotation still answers only after it is durable.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};
use tollgate_core::store::{StoreError, StoreResult};

use super::jobs::{Job, Outcome};
use super::pg_conns::PgConns;
use crate::sql::{backend_err, copy_err};

/// Jobs in one statement at most.
const MAX_BATCH: usize = 256;
/// Batches in flight at once. One: while it waits for its flush the next fills, and larger
/// batches cost the database less per job than more of them in parallel (measured).
const LANES: usize = 1;

/// A row of `tollgate_grant_batch`: the job's place in the batch, its outcome and detail.
type Row = (i32, String, Option<String>);
/// The outcome and detail as they came; the caller reads them (`Outcome::from_batch_row`),
/// not the lane, so the lane only moves rows.
type Answer = oneshot::Sender<StoreResult<(String, Option<String>)>>;
type Queued = (Job, Answer);

pub(crate) struct GrantBatches {
    queue: mpsc::UnboundedSender<Queued>,
}

impl GrantBatches {
    /// Starts the lanes; they stop when the store is dropped.
    pub fn start(hot: Arc<PgConns>) -> Self {
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

    /// Queues one job and waits for its committed outcome.
    pub async fn submit(&self, job: Job) -> StoreResult<Outcome> {
        let (answer, answered) = oneshot::channel();
        self.queue.send((job, answer)).map_err(|_| closed())?;
        let (outcome, detail) = answered.await.map_err(|_| closed())??;
        Outcome::from_batch_row(&outcome, detail.as_deref())
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}

async fn run(hot: &PgConns, batch: Vec<Queued>) {
    metrics::histogram!("tollgate_store_group_commit_size").record(batch.len() as f64);
    let (jobs, answers): (Vec<Job>, Vec<_>) = batch.into_iter().unzip();
    match statement(hot, &jobs).await {
        Ok(rows) => answer_all(answers, rows),
        // A job failed, so nothing of the batch was written: run each alone, and only the
        // failing one fails. An unreachable database fails them all.
        Err(StoreError::Backend(_) | StoreError::Conflict(_)) if jobs.len() > 1 => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let outcome = statement(hot, std::slice::from_ref(&job))
                    .await
                    .and_then(|rows| rows.into_iter().next().ok_or_else(unanswered));
                let _ = answer.send(outcome.map(|(_, outcome, detail)| (outcome, detail)));
            }
        }
        Err(e) => {
            for answer in answers {
                let _ = answer.send(Err(copy_err(&e)));
            }
        }
    }
}

fn answer_all(answers: Vec<Answer>, rows: Vec<Row>) {
    let mut answers: Vec<Option<_>> = answers.into_iter().map(Some).collect();
    for (n, outcome, detail) in rows {
        let slot = usize::try_from(n).ok().and_then(|i| answers.get_mut(i));
        if let Some(answer) = slot.and_then(Option::take) {
            let _ = answer.send(Ok((outcome, detail)));
        }
    }
    for answer in answers.into_iter().flatten() {
        let _ = answer.send(Err(unanswered()));
    }
}

fn unanswered() -> StoreError {
    StoreError::Backend("a grant job went unanswered".into())
}

async fn statement(hot: &PgConns, jobs: &[Job]) -> StoreResult<Vec<Row>> {
    let mut c = hot.get().await?;
    let rows = sqlx::query_as("SELECT n, outcome, detail FROM tollgate_grant_batch($1::json)")
        .bind(serde_json::to_string(jobs).map_err(|e| StoreError::Backend(e.to_string()))?)
        .fetch_all(&mut c.conn)
        .await
        .map_err(backend_err)?;
    c.done();
    Ok(rows)
}
