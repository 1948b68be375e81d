//! The download's writer: verified pieces into the output files, made
//! durable in batches, reported back only once durable.
//!
//! It runs on one blocking thread of its own for the whole download
//! ([`spawn`]): each write and sync happens there, in place, with no
//! hand-off to another thread per piece.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::FilesError;
use crate::bitmap::Bitmap;
use crate::direct::AlignedBuf;
use crate::output::Output;

/// Bytes written before a sync is forced.
const SYNC_BYTES: u64 = 64 << 20;
/// Longest a written piece waits for its sync.
const SYNC_EVERY: Duration = Duration::from_secs(2);

/// A verified piece to write.
#[derive(Debug)]
pub(crate) struct WriteJob {
    pub(crate) piece: u32,
    pub(crate) offset: u64,
    /// The piece, aligned for direct I/O.
    pub(crate) data: AlignedBuf,
}

/// What the writer reports.
#[derive(Debug)]
pub(crate) enum Durable {
    /// These pieces are on disk; `written` bytes in all so far.
    Pieces(Vec<u32>, u64),
    /// Writing failed; nothing more will be written.
    Failed(FilesError),
}

/// Starts the writer on a blocking thread of its own; the handle ends when
/// the job queue closes and the last batch is synced (see [`run`]).
pub(crate) fn spawn(
    out: Output,
    have: Bitmap,
    jobs: mpsc::Receiver<WriteJob>,
    report: mpsc::Sender<Durable>,
) -> tokio::task::JoinHandle<()> {
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || rt.block_on(run(out, have, jobs, report)))
}

/// Writes jobs until the job queue closes; the last batch is synced then.
/// `have` is what was durable before; a file whose pieces are all durable
/// gets its own name once they are synced. Blocks its thread on every
/// write and sync: run it through [`spawn`].
async fn run(
    mut out: Output,
    have: Bitmap,
    mut jobs: mpsc::Receiver<WriteJob>,
    report: mpsc::Sender<Durable>,
) {
    let mut written = have.clone();
    let mut durable = have;
    let mut pending: Vec<u32> = Vec::new();
    let mut pending_bytes = 0u64;
    let mut due: Option<Instant> = None;
    loop {
        let job = tokio::select! {
            j = jobs.recv() => j,
            () = async { tokio::time::sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                if !sync(&mut out, &mut pending, &mut durable, &report).await {
                    return;
                }
                pending_bytes = 0;
                due = None;
                continue;
            }
        };
        let Some(job) = job else {
            let _ = sync(&mut out, &mut pending, &mut durable, &report).await;
            return;
        };
        // In the endgame a piece may arrive twice: it is written once.
        if written.get(job.piece) {
            continue;
        }
        let mut data = job.data;
        let len = data.len() as u64;
        if let Err(e) = out.write(job.offset, data.as_mut_slice()) {
            // What was written before (a full disk stops at some piece)
            // is kept: synced and reported, so the download resumes there.
            if sync(&mut out, &mut pending, &mut durable, &report).await {
                let _ = report.send(Durable::Failed(e)).await;
            }
            return;
        }
        written.set(job.piece);
        pending.push(job.piece);
        pending_bytes += len;
        due.get_or_insert(Instant::now() + SYNC_EVERY);
        if pending_bytes >= SYNC_BYTES {
            if !sync(&mut out, &mut pending, &mut durable, &report).await {
                return;
            }
            pending_bytes = 0;
            due = None;
        }
    }
}

/// Syncs what is pending and reports it durable; false when that failed
/// (the failure is reported and nothing more may be written).
async fn sync(
    out: &mut Output,
    pending: &mut Vec<u32>,
    durable: &mut Bitmap,
    report: &mpsc::Sender<Durable>,
) -> bool {
    if pending.is_empty() {
        return true;
    }
    for p in pending.iter() {
        durable.set(*p);
    }
    match out.sync().and_then(|()| out.finish(durable)) {
        Ok(()) => {
            let _ = report
                .send(Durable::Pieces(std::mem::take(pending), out.written))
                .await;
            true
        }
        Err(e) => {
            let _ = report.send(Durable::Failed(e)).await;
            false
        }
    }
}
