//! Serving a transfer connection: a downloader asks for one swarm's
//! manifest, piece table and blocks.
//!
//! The session owns its request queue (bounded by `files.max_queued_requests`;
//! beyond that a request is refused with `Busy`). Blocks are read on a
//! blocking thread in batches of up to [`READ_BATCH`], and sent in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use warren_proto::BoundedBytes;
use warren_proto::BoundedVec;
use warren_proto::files::{
    FileMsg, MAX_BITFIELD, MAX_BLOCK, MAX_HASHES, MAX_MANIFEST_CHUNK, RejectReason,
};
use warren_proto::handshake::Established;
use warren_proto::msg::CloseReason;

use super::FilesError;
use super::bitmap::Bitmap;
use super::registry::{FilesHandle, Served};
use super::transfer::{self, Sender};
use crate::conn::{ConnCtx, FramedStream};
use crate::metrics::Metrics;

/// Requests read from disk in one go.
const READ_BATCH: usize = 16;
/// How long a downloader may take to say which swarm it wants.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a transfer connection may stay silent.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);

/// Serves one inbound transfer connection until it ends.
pub(crate) async fn serve(
    framed: FramedStream,
    est: Established,
    files: FilesHandle,
    ctx: &ConnCtx,
    _slot: OwnedSemaphorePermit,
) {
    let (tx, mut rx) = transfer::split(framed, est.version);
    let result = async {
        let swarm = match tokio::time::timeout(OPEN_TIMEOUT, rx.recv()).await {
            Ok(Ok(FileMsg::Open { swarm })) => swarm,
            Ok(Ok(_)) => return Err(FilesError::Transfer("expected Open".into())),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(FilesError::Transfer("no Open within 30 s".into())),
        };
        let Some(served) = files.lookup(swarm).await else {
            tx.send(FileMsg::Unknown).await?;
            return Ok(());
        };
        Session {
            tx: tx.clone(),
            served,
            queue: VecDeque::new(),
            max_queue: files.max_queued_requests(),
            ctx,
            files: &files,
        }
        .run(&mut rx)
        .await
    }
    .await;
    match result {
        Ok(()) => tx.close(CloseReason::Normal),
        Err(e) => {
            tracing::debug!(peer = %est.peer.id().short(), error = %e, "upload session ended");
            if matches!(e, FilesError::Proto(_)) {
                Metrics::inc(&ctx.metrics.protocol_violations);
                tx.close(CloseReason::ProtocolViolation);
            }
        }
    }
}

struct Session<'a> {
    tx: Sender,
    served: Served,
    queue: VecDeque<(u32, u32, u32)>,
    max_queue: usize,
    ctx: &'a ConnCtx,
    files: &'a FilesHandle,
}

impl Session<'_> {
    async fn run(mut self, rx: &mut transfer::Receiver) -> Result<(), FilesError> {
        let content = self.served.content.clone();
        let manifest_len = content.bytes.len() as u32;
        self.tx
            .send(FileMsg::Opened {
                content: content.id,
                manifest_len,
                ticket: self.served.ticket.clone(),
            })
            .await?;
        let mut have_rx = self.served.have.clone();
        let mut sent: Bitmap = (**have_rx.borrow_and_update()).clone();
        self.send_bitfield(&sent).await?;
        // A finished download drops its sender: what it holds is final, and
        // it goes on being served.
        let mut growing = true;
        loop {
            tokio::select! {
                biased;
                msg = tokio::time::timeout(IDLE_TIMEOUT, rx.recv()) => {
                    let msg = msg.map_err(|_| FilesError::Transfer("idle".into()))??;
                    self.on_message(msg).await?;
                }
                changed = have_rx.changed(), if growing => {
                    if changed.is_err() {
                        growing = false;
                        continue;
                    }
                    let now: Bitmap = (**have_rx.borrow_and_update()).clone();
                    for i in 0..now.len() {
                        if now.get(i) && !sent.get(i) {
                            self.tx.send(FileMsg::Have { piece: i }).await?;
                        }
                    }
                    sent = now;
                }
                () = std::future::ready(()), if !self.queue.is_empty() => {
                    self.serve_batch(&sent).await?;
                }
            }
        }
    }

    async fn send_bitfield(&self, have: &Bitmap) -> Result<(), FilesError> {
        let wire = have.to_wire();
        for (k, chunk) in wire.chunks(MAX_BITFIELD).enumerate() {
            let first = (k * MAX_BITFIELD * 8) as u32;
            let bits = BoundedBytes::new(chunk.to_vec())
                .map_err(|_| FilesError::Transfer("bitfield".into()))?;
            self.tx.send(FileMsg::Bitfield { first, bits }).await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, msg: FileMsg) -> Result<(), FilesError> {
        let content = &self.served.content;
        match msg {
            FileMsg::GetManifest { offset } => {
                let start = (offset as usize).min(content.bytes.len());
                let end = (start + MAX_MANIFEST_CHUNK).min(content.bytes.len());
                let data = BoundedBytes::new(content.bytes[start..end].to_vec())
                    .map_err(|_| FilesError::Transfer("chunk".into()))?;
                self.tx.send(FileMsg::ManifestChunk { offset, data }).await
            }
            FileMsg::GetHashes { first, count } => {
                let start = (first as usize).min(content.hashes.len());
                let end = (start + usize::from(count).min(MAX_HASHES)).min(content.hashes.len());
                let hashes = BoundedVec::truncating(content.hashes[start..end].iter().copied());
                self.tx.send(FileMsg::Hashes { first, hashes }).await
            }
            FileMsg::Request { piece, offset, len } => {
                if self.queue.len() >= self.max_queue {
                    Metrics::inc(&self.ctx.metrics.upload_busy);
                    return self
                        .tx
                        .send(FileMsg::Reject {
                            piece,
                            offset,
                            reason: RejectReason::Busy,
                        })
                        .await;
                }
                self.queue.push_back((piece, offset, len));
                Ok(())
            }
            FileMsg::Cancel { piece, offset } => {
                self.queue
                    .retain(|(p, o, _)| !(*p == piece && *o == offset));
                Ok(())
            }
            _ => Err(
                warren_proto::Error::Unexpected("a provider-side message from a downloader").into(),
            ),
        }
    }

    /// Reads and sends up to READ_BATCH queued blocks.
    async fn serve_batch(&mut self, have: &Bitmap) -> Result<(), FilesError> {
        let manifest = &self.served.content.manifest;
        let mut reads = Vec::new();
        while reads.len() < READ_BATCH {
            let Some((piece, offset, len)) = self.queue.pop_front() else {
                break;
            };
            let piece_len = manifest.piece_len(u64::from(piece));
            if !have.get(piece) {
                self.tx
                    .send(FileMsg::Reject {
                        piece,
                        offset,
                        reason: RejectReason::NotHave,
                    })
                    .await?;
                continue;
            }
            if len == 0 || len > MAX_BLOCK || u64::from(offset) + u64::from(len) > piece_len {
                self.tx
                    .send(FileMsg::Reject {
                        piece,
                        offset,
                        reason: RejectReason::BadRange,
                    })
                    .await?;
                continue;
            }
            let at = u64::from(piece) * u64::from(manifest.piece_size) + u64::from(offset);
            reads.push((piece, offset, at, len));
        }
        if reads.is_empty() {
            return Ok(());
        }
        let source = Arc::clone(&self.served.source);
        let blocks = tokio::task::spawn_blocking(move || {
            reads
                .into_iter()
                .map(|(piece, offset, at, len)| {
                    let mut buf = vec![0u8; len as usize];
                    source.read(at, &mut buf).map(|()| (piece, offset, buf))
                })
                .collect::<Result<Vec<_>, FilesError>>()
        })
        .await
        .map_err(|e| FilesError::Transfer(format!("read task: {e}")))??;
        for (piece, offset, data) in blocks {
            let wait = self.files.upload_wait(data.len());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Metrics::add(&self.ctx.metrics.bytes_uploaded, data.len() as u64);
            let data = BoundedBytes::new(data).map_err(|_| FilesError::Transfer("block".into()))?;
            self.tx
                .send(FileMsg::Block {
                    piece,
                    offset,
                    data,
                })
                .await?;
        }
        Ok(())
    }
}
