//! Serving a transfer connection: a downloader asks for one swarm's
//! manifest, piece table and blocks.
//!
//! The session owns its request queue (bounded by `files.max_queued_requests`;
//! beyond that a request is refused with `Busy`) and at most one verified
//! piece: blocks are cut from whole pieces that matched their hash
//! (`verified.rs`), up to [`READ_BATCH`] per turn, in order. A piece that
//! no longer matches is never sent: the request is refused with
//! `Unavailable` (version 3; `NotHave` for older peers) and the session
//! ends.

use std::collections::VecDeque;
use std::time::Duration;

use warren_proto::BoundedBytes;
use warren_proto::BoundedVec;
use warren_proto::ProtocolVersion;
use warren_proto::files::{
    FileMsg, MAX_BITFIELD, MAX_BLOCK, MAX_HASHES, MAX_MANIFEST_CHUNK, RejectReason, Unavailable,
};
use warren_proto::handshake::Established;
use warren_proto::msg::CloseReason;

use super::FilesError;
use super::bitmap::Bitmap;
use super::registry::{FilesHandle, Found, Served};
use super::slots::UploadSlot;
use super::transfer::{self, Sender};
use super::verified::Piece;
use crate::conn::{ConnCtx, FramedStream};
use crate::metrics::Metrics;

/// Requests read from disk in one go.
const READ_BATCH: usize = 16;
/// How long a downloader may take to say which swarm it wants (it has
/// just finished the handshake on the same stream).
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a transfer connection may stay silent.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a session keeps its last piece once nobody asks for it.
const PIECE_IDLE: Duration = Duration::from_secs(2);

/// The files service's inbound side, registered with the connection
/// layer's router for `Purpose::Transfer`: each transfer connection is
/// served in an upload slot (see `slots.rs`).
pub struct UploadService(pub FilesHandle);

#[async_trait::async_trait]
impl crate::conn::ProtocolHandler for UploadService {
    async fn accept(&self, framed: FramedStream, est: Established, ctx: std::sync::Arc<ConnCtx>) {
        let (files, slot, evicted) = self.0.upload_slot(est.peer.id());
        if evicted {
            Metrics::inc(&self.0.counters().transfers.uploads_evicted);
        }
        serve(framed, est, files, &ctx, slot).await
    }
}

/// Serves one inbound transfer connection until it ends.
pub(crate) async fn serve(
    framed: FramedStream,
    est: Established,
    files: FilesHandle,
    ctx: &ConnCtx,
    slot: UploadSlot,
) {
    let (tx, mut rx) = transfer::split(framed, est.version);
    let session = async {
        let swarm = match tokio::time::timeout(OPEN_TIMEOUT, rx.recv()).await {
            Ok(Ok(FileMsg::Open { swarm })) => swarm,
            Ok(Ok(_)) => return Err(FilesError::Transfer("expected Open".into())),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(FilesError::Transfer("no Open within 15 s".into())),
        };
        slot.touch();
        let typed = est.version >= ProtocolVersion::V3;
        let served = match files.lookup(swarm).await {
            Some(Found::Served(s)) => *s,
            Some(Found::Unavailable { health }) if typed => {
                if let Some(why) = health.refusal() {
                    tx.send(FileMsg::Unavailable { why }).await?;
                    return Ok(());
                }
                tx.send(FileMsg::Unknown).await?;
                return Ok(());
            }
            _ => {
                tx.send(FileMsg::Unknown).await?;
                return Ok(());
            }
        };
        Session {
            tx: tx.clone(),
            served,
            typed,
            queue: VecDeque::new(),
            max_queue: files.max_queued_requests(),
            piece: None,
            piece_used: tokio::time::Instant::now(),
            files: &files,
            slot: &slot,
        }
        .run(&mut rx)
        .await
    };
    let result = tokio::select! {
        r = session => r,
        () = slot.evicted() => Err(FilesError::Evicted),
    };
    match result {
        Ok(()) => tx.close(CloseReason::Normal),
        Err(e) => {
            tracing::debug!(peer = %est.peer.id().short(), error = %e, "upload session ended");
            match e {
                FilesError::Proto(_) => {
                    Metrics::inc(&ctx.metrics.net.protocol_violations);
                    tx.close(CloseReason::ProtocolViolation);
                }
                // Our copy changed: the refusal is queued; say goodbye.
                FilesError::Fault(_) => tx.close(CloseReason::Normal),
                FilesError::Evicted => tx.close(CloseReason::Busy),
                _ => {}
            }
        }
    }
}

struct Session<'a> {
    tx: Sender,
    served: Served,
    /// The peer speaks version 3: refusals are typed.
    typed: bool,
    queue: VecDeque<(u32, u32, u32)>,
    max_queue: usize,
    /// The last piece read and verified (blocks of one piece are usually
    /// asked for one after another), and when it was last used: it is let
    /// go after [`PIECE_IDLE`] so that an idle downloader holds no memory.
    piece: Option<Piece>,
    piece_used: tokio::time::Instant,
    files: &'a FilesHandle,
    slot: &'a UploadSlot,
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
                    self.slot.touch();
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
                () = tokio::time::sleep_until(self.piece_used + PIECE_IDLE), if self.piece.is_some() => {
                    self.piece = None;
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
                    Metrics::inc(&self.files.counters().transfers.upload_busy);
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

    /// Sends up to READ_BATCH queued blocks, each cut from its verified
    /// piece.
    async fn serve_batch(&mut self, have: &Bitmap) -> Result<(), FilesError> {
        for _ in 0..READ_BATCH {
            let Some((piece, offset, len)) = self.queue.pop_front() else {
                break;
            };
            let piece_len = self.served.content.manifest.piece_len(u64::from(piece));
            let refuse = if !have.get(piece) {
                Some(RejectReason::NotHave)
            } else if len == 0 || len > MAX_BLOCK || u64::from(offset) + u64::from(len) > piece_len
            {
                Some(RejectReason::BadRange)
            } else {
                None
            };
            if let Some(reason) = refuse {
                self.tx
                    .send(FileMsg::Reject {
                        piece,
                        offset,
                        reason,
                    })
                    .await?;
                continue;
            }
            if self.piece.as_ref().is_none_or(|p| p.index != piece) {
                // One piece in memory per session: let go of the last one
                // before waiting for room for the next.
                self.piece = None;
                match self.served.pieces.piece(piece).await {
                    Ok(p) => self.piece = Some(p),
                    Err(e) => return self.refuse(piece, offset, e).await,
                }
            }
            let Some(p) = &self.piece else { continue };
            self.piece_used = tokio::time::Instant::now();
            // Shared with the piece, not copied.
            let data = p.bytes.slice(offset as usize..(offset + len) as usize);
            let wait = self.files.upload_wait(data.len());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Metrics::add(
                &self.files.counters().transfers.bytes_uploaded,
                data.len() as u64,
            );
            self.tx.send_block(piece, offset, data).await?;
        }
        Ok(())
    }

    /// A piece could not be read as it should be: refuse the request, and
    /// end the session (every later piece may be just as wrong).
    async fn refuse(&mut self, piece: u32, offset: u32, e: FilesError) -> Result<(), FilesError> {
        let why = match &e {
            FilesError::Fault(f) => f.health().refusal().unwrap_or(Unavailable::Changed),
            _ => Unavailable::Changed,
        };
        let reason = if self.typed {
            RejectReason::Unavailable(why)
        } else {
            RejectReason::NotHave
        };
        self.tx
            .send(FileMsg::Reject {
                piece,
                offset,
                reason,
            })
            .await?;
        Err(e)
    }
}
