//! Response bodies: small ones in memory, file bytes streamed from a
//! share's plaintext through a bounded channel (the reader waits while the
//! browser is slow, so a download holds a few chunks of memory at most).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::files::source::PieceSource;

/// Bytes read from disk per chunk.
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

    /// `len` bytes of `source` from content offset `from`, read on blocking
    /// threads. A read error ends the body early (the browser sees a short
    /// transfer and can resume it).
    pub(crate) fn stream(source: Arc<dyn PieceSource>, from: u64, len: u64) -> Body {
        let (tx, rx) = mpsc::channel(AHEAD);
        tokio::spawn(async move {
            let mut at = from;
            let end = from + len;
            while at < end {
                let n = (end - at).min(CHUNK as u64) as usize;
                let src = source.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; n];
                    src.read(at, &mut buf).map(|()| buf)
                })
                .await;
                let chunk = match read {
                    Ok(Ok(buf)) => Ok(Bytes::from(buf)),
                    Ok(Err(e)) => Err(std::io::Error::other(e.to_string())),
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                };
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
                at += n as u64;
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
