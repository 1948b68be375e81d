//! One transfer connection of a download: fetches the pieces the download
//! assigns it, block by block, keeping a bounded number of requests in
//! flight; verifies each finished piece; hands it to the writer.
//!
//! A piece is hashed as its blocks arrive (they come in the order they
//! were asked for), so a finished piece is checked on this task without a
//! hand-off to another thread; a piece whose blocks came out of order is
//! hashed whole when it is complete. Nothing of a piece reaches the writer
//! before its hash matched.
//!
//! State owned here: the in-flight requests and the pieces being assembled
//! (at most the two the download assigns at once, so memory per connection
//! is bounded by two pieces).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use warren_proto::files::{FileMsg, MAX_BLOCK, RejectReason};

use super::{ConnEvent, Shared, WriteJob};
use crate::FilesError;
use crate::bitmap::Bitmap;
use crate::direct::AlignedBuf;
use crate::transfer::{Received, Receiver, Sender};
use warren_proto::content::{PieceHasher, piece_hash};

/// What the download tells a connection.
#[derive(Debug)]
pub(crate) enum ToConn {
    /// Fetch this piece.
    Assign(u32),
    /// Stop fetching this piece (another connection finished it).
    Cancel(u32),
}

struct Piece {
    /// The bytes so far; its capacity is the piece's length, aligned for
    /// the writer's direct I/O.
    buf: AlignedBuf,
    /// The piece's length.
    len: u32,
    /// Offset of the next block to ask for.
    next: u32,
    received: u32,
    /// The hash of `buf` so far, while every block came in order.
    hasher: Option<PieceHasher>,
}

impl Piece {
    fn new(len: u32) -> Piece {
        Piece {
            buf: AlignedBuf::with_capacity(len as usize),
            len,
            next: 0,
            received: 0,
            hasher: Some(PieceHasher::new()),
        }
    }

    /// Puts a block in place: appended and hashed when it is the next in
    /// order, else copied where it belongs (and the piece is hashed whole
    /// at the end).
    fn put(&mut self, offset: usize, data: &[u8]) {
        let end = offset + data.len();
        if offset == self.buf.len() {
            self.buf.extend_from_slice(data);
            if let Some(h) = &mut self.hasher {
                h.update(data);
            }
        } else {
            self.hasher = None;
            if self.buf.len() < end {
                self.buf.resize(end);
            }
            self.buf.as_mut_slice()[offset..end].copy_from_slice(data);
        }
        self.received += data.len() as u32;
    }

    fn complete(&self) -> bool {
        self.received == self.len
    }
}

/// Runs a connection whose provider has answered `Opened`: reads its
/// bitfield, then serves the download's assignments until either side ends.
pub(crate) async fn run(
    id: u64,
    tx: Sender,
    mut rx: Receiver,
    early: Vec<FileMsg>,
    mut cmds: mpsc::Receiver<ToConn>,
    shared: Arc<Shared>,
) {
    let events = shared.events.clone();
    let mut conn = Conn {
        id,
        tx: &tx,
        shared: &shared,
        pieces: BTreeMap::new(),
        inflight: HashMap::new(),
        has: Bitmap::new(shared.pieces),
        ready: false,
    };
    let mut end = FilesError::Cancelled;
    for m in early {
        if let Err(e) = conn.on_message(m).await {
            end = e;
            break;
        }
    }
    if matches!(end, FilesError::Cancelled) {
        end = conn.run(&mut rx, &mut cmds).await;
    }
    let _ = events.send(ConnEvent::Closed { conn: id, why: end }).await;
}

struct Conn<'a> {
    id: u64,
    tx: &'a Sender,
    shared: &'a Shared,
    pieces: BTreeMap<u32, Piece>,
    /// (piece, offset) → when it was requested, and how long it is.
    inflight: HashMap<(u32, u32), (Instant, u32)>,
    has: Bitmap,
    ready: bool,
}

impl Conn<'_> {
    async fn report(&self, ev: ConnEvent) -> Result<(), FilesError> {
        self.shared
            .events
            .send(ev)
            .await
            .map_err(|_| FilesError::Cancelled)
    }

    async fn run(&mut self, rx: &mut Receiver, cmds: &mut mpsc::Receiver<ToConn>) -> FilesError {
        match self.serve(rx, cmds).await {
            Ok(()) => FilesError::Cancelled,
            Err(e) => e,
        }
    }

    async fn serve(
        &mut self,
        rx: &mut Receiver,
        cmds: &mut mpsc::Receiver<ToConn>,
    ) -> Result<(), FilesError> {
        let timeout = self.shared.request_timeout;
        loop {
            self.fill().await?;
            let oldest = self.inflight.values().map(|(t, _)| *t).min();
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(ToConn::Assign(p)) => {
                        self.pieces.insert(p, Piece::new(self.shared.piece_len(p) as u32));
                    }
                    Some(ToConn::Cancel(p)) => self.cancel(p).await?,
                    None => return Ok(()),
                },
                msg = rx.receive() => match msg? {
                    Received::Block { piece, offset, data } => self.on_block(piece, offset, &data).await?,
                    Received::Msg(m) => self.on_message(m).await?,
                },
                () = async { tokio::time::sleep_until(oldest.unwrap_or_else(Instant::now) + timeout).await }, if oldest.is_some() => {
                    return Err(FilesError::Transfer(format!("no answer to a request for {} s", timeout.as_secs())));
                }
            }
        }
    }

    async fn on_message(&mut self, msg: FileMsg) -> Result<(), FilesError> {
        match msg {
            FileMsg::Bitfield { first, bits } => {
                self.has.merge_wire(first, bits.as_slice());
                // The bitfield comes in chunks; the last one is short.
                let covered = u64::from(first) + bits.len() as u64 * 8;
                if !self.ready && covered >= u64::from(self.shared.pieces) {
                    self.ready = true;
                    self.report(ConnEvent::Ready {
                        conn: self.id,
                        has: self.has.clone(),
                    })
                    .await?;
                }
                Ok(())
            }
            FileMsg::Have { piece } => {
                if piece < self.shared.pieces && !self.has.get(piece) {
                    self.has.set(piece);
                    if self.ready {
                        self.report(ConnEvent::Have {
                            conn: self.id,
                            piece,
                        })
                        .await?;
                    }
                }
                Ok(())
            }
            FileMsg::Block {
                piece,
                offset,
                data,
            } => self.on_block(piece, offset, data.as_slice()).await,
            FileMsg::Reject {
                piece,
                offset,
                reason,
            } => self.on_reject(piece, offset, reason).await,
            _ => Err(warren_proto::Error::Unexpected("unexpected message from a provider").into()),
        }
    }

    /// Keeps up to `max_inflight` block requests outstanding.
    async fn fill(&mut self) -> Result<(), FilesError> {
        let max = self.shared.max_inflight;
        for (&p, piece) in self.pieces.iter_mut() {
            while self.inflight.len() < max && piece.next < piece.len {
                let len = (piece.len - piece.next).min(MAX_BLOCK);
                self.tx
                    .send(FileMsg::Request {
                        piece: p,
                        offset: piece.next,
                        len,
                    })
                    .await?;
                self.inflight.insert((p, piece.next), (Instant::now(), len));
                piece.next += len;
            }
        }
        Ok(())
    }

    async fn on_block(&mut self, p: u32, offset: u32, data: &[u8]) -> Result<(), FilesError> {
        let Some((_, asked)) = self.inflight.remove(&(p, offset)) else {
            // Cancelled requests may still arrive; anything else was never asked for.
            if self.pieces.contains_key(&p) || p >= self.shared.pieces {
                return Err(warren_proto::Error::Unexpected("a block nobody asked for").into());
            }
            return Ok(());
        };
        let Some(piece) = self.pieces.get_mut(&p) else {
            return Ok(());
        };
        if data.len() != asked as usize || offset as usize + data.len() > piece.len as usize {
            return Err(warren_proto::Error::Unexpected("a block of the wrong size").into());
        }
        piece.put(offset as usize, data);
        crate::metrics::Metrics::add(
            &self.shared.files.counters().transfers.bytes_downloaded,
            data.len() as u64,
        );
        // While the box is too hot, blocks are asked for no faster than the
        // thermal cap allows.
        let wait = self
            .shared
            .files
            .thermal_wait(crate::Work::Download, data.len());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if piece.complete() {
            let Some(piece) = self.pieces.remove(&p) else {
                return Ok(());
            };
            let expected = self.shared.content.hashes[p as usize];
            let (ok, buf) = match piece.hasher {
                Some(h) => (h.finish() == expected, piece.buf),
                // Out of order: hashed whole, off this task.
                None => {
                    let buf = piece.buf;
                    tokio::task::spawn_blocking(move || {
                        (piece_hash(buf.as_slice()) == expected, buf)
                    })
                    .await
                    .map_err(FilesError::from)?
                }
            };
            if !ok {
                self.report(ConnEvent::Bad {
                    conn: self.id,
                    piece: p,
                })
                .await?;
                return Err(FilesError::Proto(warren_proto::Error::HashMismatch(
                    "piece",
                )));
            }
            let job = WriteJob {
                piece: p,
                offset: u64::from(p) * u64::from(self.shared.piece_size),
                data: buf,
            };
            self.report(ConnEvent::Verified {
                conn: self.id,
                piece: p,
            })
            .await?;
            self.shared
                .writes
                .send(job)
                .await
                .map_err(|_| FilesError::Cancelled)?;
        }
        Ok(())
    }

    async fn on_reject(
        &mut self,
        p: u32,
        offset: u32,
        reason: RejectReason,
    ) -> Result<(), FilesError> {
        if self.inflight.remove(&(p, offset)).is_none() {
            return Ok(());
        }
        match reason {
            RejectReason::BadRange => {
                Err(warren_proto::Error::Unexpected("our request was out of range").into())
            }
            // The provider's copy no longer matches: try it again later.
            RejectReason::Unavailable(why) => {
                self.drop_piece(p).await?;
                Err(FilesError::Unavailable(why))
            }
            RejectReason::NotHave | RejectReason::Busy => {
                // Give the piece back; the download reassigns it.
                self.drop_piece(p).await?;
                if reason == RejectReason::Busy {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                self.report(ConnEvent::Released {
                    conn: self.id,
                    piece: p,
                })
                .await
            }
        }
    }

    async fn drop_piece(&mut self, p: u32) -> Result<(), FilesError> {
        self.pieces.remove(&p);
        let stale: Vec<(u32, u32)> = self
            .inflight
            .keys()
            .filter(|(q, _)| *q == p)
            .copied()
            .collect();
        for (q, o) in stale {
            self.inflight.remove(&(q, o));
            self.tx
                .send(FileMsg::Cancel {
                    piece: q,
                    offset: o,
                })
                .await?;
        }
        Ok(())
    }

    async fn cancel(&mut self, p: u32) -> Result<(), FilesError> {
        if self.pieces.contains_key(&p) {
            self.drop_piece(p).await?;
        }
        Ok(())
    }
}
