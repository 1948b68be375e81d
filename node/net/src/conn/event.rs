//! What connection tasks tell the node task, and what it answers.

use tokio::sync::oneshot;
use warren_proto::{NodeId, Verified};

use super::{ConnHandle, Ended};
use warren_proto::msg::CloseReason;

/// An event for the node task.
///
/// Queue policy (see `limits.node_inbox`): `Connected`, `Disconnected` and
/// `DialFailed` are sent with `send().await` (they must not be lost, and the
/// node task never waits on a connection, so this cannot deadlock);
/// `Records`, `GetPeers`, `Misbehaved` and `Message` use `try_send` and are dropped and
/// counted when the inbox is full.
#[derive(Debug)]
pub enum NodeEvent {
    /// A handshake completed; the node answers whether to keep the connection.
    Connected {
        /// The connection's handle.
        handle: ConnHandle,
        /// The peer's checked record.
        record: Box<Verified>,
        /// Where the node answers.
        reply: oneshot::Sender<Admission>,
    },
    /// An admitted connection ended.
    Disconnected {
        /// The connection's number.
        conn_id: u64,
        /// Whom it was with.
        peer: NodeId,
        /// How it ended.
        ended: Ended,
    },
    /// A dial or its handshake failed.
    DialFailed {
        /// The node dialed.
        target: NodeId,
        /// Why, in words (for `warren peers`).
        error: String,
    },
    /// Checked records a peer sent.
    Records {
        /// The peer that sent them.
        from: NodeId,
        /// The records that passed every check.
        records: Vec<Verified>,
    },
    /// A peer asked for records.
    GetPeers {
        /// Where to answer.
        conn: ConnHandle,
        /// How many records at most.
        max: u8,
    },
    /// A peer sent too many invalid records; ban it.
    Misbehaved {
        /// The peer to ban.
        peer: NodeId,
    },
    /// A message for the layer above on a channel of its own (the
    /// tracker's): the connection layer checks and decodes it, and reads
    /// no further.
    Message {
        /// Where to answer.
        conn: ConnHandle,
        /// The message.
        msg: Box<warren_proto::msg::Message>,
    },
}

/// The node's answer to `Connected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Keep the connection.
    Admit,
    /// Close it, telling the peer why.
    Refuse(CloseReason),
}
