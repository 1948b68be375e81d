//! Response bodies: small ones in memory, file bytes streamed from a
//! share's verified pieces through a bounded channel (the reader waits
//! while the browser is slow, so a download holds one piece and a few
//! chunks of memory at most).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

use warren_proto::seal::SealKey;

use crate::verified::{Piece, Verified};

/// Bytes per chunk handed to the connection.
const CHUNK: usize = 64 * 1024;
/// Chunks read ahead of the browser.
const AHEAD: usize = 4;

/// A response body.
pub(crate) enum Body {
    /// Everything at once (pages, notices; empty for HEAD).
    Full(Option<Bytes>),
    /// File bytes as they are read.
    Stream {
        rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
        left: u64,
    },
}

impl Body {
    /// A body of `s`.
    pub(crate) fn text(s: impl Into<String>) -> Body {
        Body::Full(Some(Bytes::from(s.into())))
    }

    /// No body.
    pub(crate) fn empty() -> Body {
        Body::Full(None)
    }

    /// `len` bytes of the content from content offset `from`, cut from
    /// verified pieces (`first` is the piece holding `from`, already
    /// verified), decrypted with `key` for a sealed share. A piece that no
    /// longer matches ends the body early with an error: its bytes are
    /// never sent.
    pub(crate) fn stream(
        pieces: Arc<Verified>,
        first: Piece,
        key: Option<SealKey>,
        from: u64,
        len: u64,
    ) -> Body {
        let (tx, rx) = mpsc::channel(AHEAD);
        let piece_size = u64::from(pieces.content().manifest.piece_size.max(1));
        tokio::spawn(async move {
            let mut at = from;
            let end = from + len;
            let mut next = Some(first);
            while at < end {
                let index = (at / piece_size) as u32;
                let piece = match next.take() {
                    Some(p) if p.index == index => p,
                    other => {
                        // One piece in memory: let go of the last first.
                        drop(other);
                        match pieces.piece(index).await {
                            Ok(p) => p,
                            Err(e) => {
                                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                                return;
                            }
                        }
                    }
                };
                let start = u64::from(index) * piece_size;
                let bytes = match &key {
                    Some(k) => {
                        let mut plain = piece.bytes.to_vec();
                        if let Err(e) = k.apply(start, &mut plain) {
                            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                            return;
                        }
                        Bytes::from(plain)
                    }
                    None => piece.bytes.clone(),
                };
                let a = (at - start) as usize;
                let b = (end.min(start + bytes.len() as u64) - start) as usize;
                let mut c = a;
                while c < b {
                    let d = (c + CHUNK).min(b);
                    if tx.send(Ok(bytes.slice(c..d))).await.is_err() {
                        return;
                    }
                    c = d;
                }
                at = start + b as u64;
            }
        });
        Body::Stream { rx, left: len }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream { rx, left } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    *left = left.saturating_sub(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) if *left > 0 => Poll::Ready(Some(Err(std::io::Error::other(
                    "the file could not be read to the end",
                )))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_none(),
            Body::Stream { left, .. } => *left == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream { left, .. } => SizeHint::with_exact(*left),
        }
    }
}
