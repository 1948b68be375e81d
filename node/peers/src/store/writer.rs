//! The store writer: one task that owns the pending batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::{Change, Db, Table};
use crate::metrics::Metrics;

use crate::{Error, Result};

warren_net::counters! {
    /// The store writer's counters.
    StoreCounters,
    /// A point-in-time copy of [`StoreCounters`].
    StoreCounts {
        /// Store transactions committed.
        store_commits,
        /// Keys written or deleted by store commits.
        store_writes,
    }
}

enum Cmd {
    Put(Table, Vec<u8>, Option<Vec<u8>>),
    Flush(oneshot::Sender<Result<()>>),
}

/// Handle to the writer task. Cheap to clone; the task commits what is
/// pending and stops when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct StoreWriter {
    // Full policy: wait. Writes are never dropped; the writer task never
    // waits on anyone, so waiting here cannot deadlock.
    tx: mpsc::Sender<Cmd>,
}

impl StoreWriter {
    /// Queues `value` under `key`.
    pub async fn put(&self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        let _ = self.tx.send(Cmd::Put(table, key, Some(value))).await;
    }

    /// Queues the removal of `key`.
    pub async fn delete(&self, table: Table, key: Vec<u8>) {
        let _ = self.tx.send(Cmd::Put(table, key, None)).await;
    }

    /// Commits everything queued so far and waits until it is durable.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Flush(tx))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }
}

/// Starts the writer task for `db`.
///
/// Pending changes are committed `interval` after the first of them arrives,
/// at once when `max_pending` distinct keys are waiting, on `flush`, and when
/// the last handle is dropped (the returned task then ends).
pub fn spawn_writer(
    db: Db,
    queue: usize,
    interval: Duration,
    max_pending: usize,
    metrics: Arc<StoreCounters>,
) -> (StoreWriter, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue);
    let task = tokio::spawn(run(db, rx, interval, max_pending, metrics));
    (StoreWriter { tx }, task)
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Cmd>,
    interval: Duration,
    max_pending: usize,
    metrics: Arc<StoreCounters>,
) {
    // Coalesced by key: the last write to a key wins. Bounded by
    // `max_pending`, which forces a commit.
    let mut pending: BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let cmd = tokio::select! {
            cmd = rx.recv() => cmd,
            () = async { if let Some(d) = deadline { sleep_until(d).await } else { std::future::pending().await } } => {
                commit(&db, &mut pending, &metrics).await.ok();
                deadline = None;
                continue;
            }
        };
        match cmd {
            Some(Cmd::Put(table, key, value)) => {
                pending.insert((table, key), value);
                if pending.len() >= max_pending {
                    commit(&db, &mut pending, &metrics).await.ok();
                    deadline = None;
                } else if deadline.is_none() {
                    deadline = Some(Instant::now() + interval);
                }
            }
            Some(Cmd::Flush(reply)) => {
                let r = commit(&db, &mut pending, &metrics).await;
                deadline = None;
                let _ = reply.send(r);
            }
            None => {
                commit(&db, &mut pending, &metrics).await.ok();
                return;
            }
        }
    }
}

async fn commit(
    db: &Db,
    pending: &mut BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>,
    metrics: &StoreCounters,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let changes: Vec<Change> = std::mem::take(pending)
        .into_iter()
        .map(|((t, k), v)| (t, k, v))
        .collect();
    let n = changes.len() as u64;
    let db = db.clone();
    let result = tokio::task::spawn_blocking(move || db.apply(&changes))
        .await
        .unwrap_or_else(|e| Err(Error::Task(e)));
    match &result {
        Ok(()) => {
            Metrics::inc(&metrics.store_commits);
            Metrics::add(&metrics.store_writes, n);
        }
        // Peer data is soft state and is learned again; the batch is
        // dropped rather than retried forever against a full disk. A
        // caller that must know (flush) gets the error.
        Err(e) => tracing::error!(error = %e, dropped = n, "store commit failed"),
    }
    result
}
