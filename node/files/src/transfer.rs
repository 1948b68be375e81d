//! A transfer connection as a pair of simple halves: a writer task fed
//! through a bounded queue, and a reader that answers keepalives itself.

use bytes::Bytes;
use futures::stream::SplitStream;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use warren_proto::ProtocolVersion;
use warren_proto::files::FileMsg;
use warren_proto::frame::{Channel, Priority};
use warren_proto::msg::{CloseReason, ControlMsg, Message};

use super::FilesError;
use crate::conn::{FramedStream, Outgoing, Payload};

/// Frames queued for the writer. Full: the sender waits (backpressure from
/// the network to whoever produces the data).
const WRITE_QUEUE: usize = 64;
/// Bytes the writer gathers in its buffer before it writes them out
/// (tokio-util's default is 8 KiB: a write per block).
const WRITE_GATHER: usize = 256 * 1024;

/// A files message as it arrives: a block keeps its bytes where they were
/// read, shared with the frame, not copied.
#[derive(Debug)]
pub(crate) enum Received {
    /// `FileMsg::Block`.
    Block {
        /// The piece.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// The bytes (at most `MAX_BLOCK`).
        data: Bytes,
    },
    /// Any other files message.
    Msg(FileMsg),
}

/// The sending half. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Sender {
    tx: mpsc::Sender<Outgoing>,
}

/// The receiving half.
pub(crate) struct Receiver {
    stream: SplitStream<FramedStream>,
    tx: mpsc::Sender<Outgoing>,
    version: ProtocolVersion,
}

/// Splits a transfer connection; the writer task ends when every sender is
/// dropped (after flushing) or the stream fails.
pub(crate) fn split(mut framed: FramedStream, version: ProtocolVersion) -> (Sender, Receiver) {
    framed.set_backpressure_boundary(WRITE_GATHER);
    let (mut sink, stream) = framed.split();
    let (tx, mut rx) = mpsc::channel::<Outgoing>(WRITE_QUEUE);
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.feed(m).await.is_err() {
                return;
            }
            // Flush only when nothing else is waiting (and the buffer
            // writes itself out past WRITE_GATHER): blocks go out in as
            // few writes as possible.
            if rx.is_empty() && sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    (
        Sender { tx: tx.clone() },
        Receiver {
            stream,
            tx,
            version,
        },
    )
}

fn outgoing(msg: FileMsg) -> Outgoing {
    let priority = match msg {
        FileMsg::Block { .. } => Priority::Bulk,
        _ => Priority::Normal,
    };
    Outgoing {
        channel: Channel::Files,
        priority,
        payload: Message::Files(msg).encode().into(),
    }
}

impl Sender {
    /// Queues a message; fails once the connection is gone.
    pub(crate) async fn send(&self, msg: FileMsg) -> Result<(), FilesError> {
        self.tx
            .send(outgoing(msg))
            .await
            .map_err(|_| FilesError::Transfer("connection closed".into()))
    }

    /// Queues a block of a piece; its bytes are copied once, into the
    /// write buffer.
    pub(crate) async fn send_block(
        &self,
        piece: u32,
        offset: u32,
        data: Bytes,
    ) -> Result<(), FilesError> {
        let head = warren_proto::files::block_head(piece, offset, data.len())?;
        self.tx
            .send(Outgoing {
                channel: Channel::Files,
                priority: Priority::Bulk,
                payload: Payload::Parts { head, tail: data },
            })
            .await
            .map_err(|_| FilesError::Transfer("connection closed".into()))
    }

    /// Tells the peer why we close, best effort.
    pub(crate) fn close(&self, reason: CloseReason) {
        let m = Message::Control(ControlMsg::Close { reason });
        let _ = self.tx.try_send(Outgoing {
            channel: Channel::Control,
            priority: Priority::Control,
            payload: m.encode().into(),
        });
    }
}

impl Receiver {
    /// The next files message. Pings are answered here; a Close, the end of
    /// the stream, or any other channel ends the connection with an error.
    pub(crate) async fn recv(&mut self) -> Result<FileMsg, FilesError> {
        match self.receive().await? {
            Received::Msg(m) => Ok(m),
            Received::Block {
                piece,
                offset,
                data,
            } => Ok(FileMsg::Block {
                piece,
                offset,
                data: warren_proto::BoundedBytes::new(data.to_vec())
                    .map_err(|_| FilesError::Transfer("block".into()))?,
            }),
        }
    }

    /// [`Receiver::recv`], with a block's bytes left in the frame.
    pub(crate) async fn receive(&mut self) -> Result<Received, FilesError> {
        loop {
            let (header, payload) = match self.stream.next().await {
                Some(Ok(f)) => f,
                Some(Err(e)) => return Err(FilesError::Transfer(format!("bad frame: {e}"))),
                None => return Err(FilesError::Transfer("connection closed".into())),
            };
            if header.channel == Channel::Files
                && Channel::Files.since() <= self.version
                && let Some((piece, offset, at)) = warren_proto::files::block_in_place(&payload)
            {
                return Ok(Received::Block {
                    piece,
                    offset,
                    data: payload.slice(at),
                });
            }
            match Message::decode(self.version, header.channel, &payload)? {
                Message::Files(m) => return Ok(Received::Msg(m)),
                Message::Control(ControlMsg::Ping { nonce }) => {
                    let pong = Message::Control(ControlMsg::Pong { nonce });
                    let out = Outgoing {
                        channel: Channel::Control,
                        priority: Priority::Control,
                        payload: pong.encode().into(),
                    };
                    let _ = self.tx.try_send(out);
                }
                Message::Control(ControlMsg::Pong { .. }) => {}
                Message::Control(ControlMsg::Close { reason }) => {
                    return Err(FilesError::Transfer(format!(
                        "closed by the peer: {reason:?}"
                    )));
                }
                _ => {
                    return Err(warren_proto::Error::Unexpected(
                        "only files and control on a transfer connection",
                    )
                    .into());
                }
            }
        }
    }
}
