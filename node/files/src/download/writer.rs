//! The download's writer: verified pieces into the output files, made
//! durable in batches, reported back only once durable.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::FilesError;
use crate::bitmap::Bitmap;
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
    pub(crate) data: Vec<u8>,
}

/// What the writer reports.
#[derive(Debug)]
pub(crate) enum Durable {
    /// These pieces are on disk; `written` bytes in all so far.
    Pieces(Vec<u32>, u64),
    /// Writing failed; nothing more will be written.
    Failed(FilesError),
}

/// Writes jobs until the job queue closes; the last batch is synced then.
/// `have` is what was durable before; a file whose pieces are all durable
/// gets its own name once they are synced.
pub(crate) async fn run(
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
                match sync(out, &mut pending, &mut durable, &report).await {
                    Some(o) => out = o,
                    None => return,
                }
                pending_bytes = 0;
                due = None;
                continue;
            }
        };
        let Some(job) = job else {
            let _ = sync(out, &mut pending, &mut durable, &report).await;
            return;
        };
        // In the endgame a piece may arrive twice: it is written once.
        if written.get(job.piece) {
            continue;
        }
        let len = job.data.len() as u64;
        let r = tokio::task::spawn_blocking(move || {
            let r = out.write(job.offset, job.data);
            (out, r)
        })
        .await;
        let Ok((o, r)) = r else { return };
        out = o;
        if let Err(e) = r {
            // What was written before (a full disk stops at some piece)
            // is kept: synced and reported, so the download resumes there.
            if sync(out, &mut pending, &mut durable, &report)
                .await
                .is_some()
            {
                let _ = report.send(Durable::Failed(e)).await;
            }
            return;
        }
        written.set(job.piece);
        pending.push(job.piece);
        pending_bytes += len;
        due.get_or_insert(Instant::now() + SYNC_EVERY);
        if pending_bytes >= SYNC_BYTES {
            match sync(out, &mut pending, &mut durable, &report).await {
                Some(o) => out = o,
                None => return,
            }
            pending_bytes = 0;
            due = None;
        }
    }
}

async fn sync(
    mut out: Output,
    pending: &mut Vec<u32>,
    durable: &mut Bitmap,
    report: &mpsc::Sender<Durable>,
) -> Option<Output> {
    if pending.is_empty() {
        return Some(out);
    }
    let mut now = durable.clone();
    for p in pending.iter() {
        now.set(*p);
    }
    let (out, now, r) = tokio::task::spawn_blocking(move || {
        let r = out.sync().and_then(|()| out.finish(&now));
        (out, now, r)
    })
    .await
    .ok()?;
    *durable = now;
    match r {
        Ok(()) => {
            let _ = report
                .send(Durable::Pieces(std::mem::take(pending), out.written))
                .await;
            Some(out)
        }
        Err(e) => {
            let _ = report.send(Durable::Failed(e)).await;
            None
        }
    }
}
