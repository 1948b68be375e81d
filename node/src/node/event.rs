//! What connection tasks tell the node task, and what it answers.

use tokio::sync::oneshot;
use warren_proto::{NodeId, Verified};

use crate::conn::{ConnHandle, Ended};
use warren_proto::msg::CloseReason;

/// An event for the node task.
///
/// Queue policy (see `limits.node_inbox`): `Connected`, `Disconnected` and
/// `DialFailed` are sent with `send().await` (they must not be lost, and the
/// node task never waits on a connection, so this cannot deadlock);
/// `Records`, `GetPeers` and `Misbehaved` use `try_send` and are dropped and
/// counted when the inbox is full.
#[derive(Debug)]
pub(crate) enum NodeEvent {
    /// A handshake completed; the node answers whether to keep the connection.
    Connected {
        handle: ConnHandle,
        record: Box<Verified>,
        reply: oneshot::Sender<Admission>,
    },
    /// An admitted connection ended.
    Disconnected {
        conn_id: u64,
        peer: NodeId,
        ended: Ended,
    },
    /// A dial or its handshake failed.
    DialFailed { target: NodeId, error: String },
    /// Checked records a peer sent.
    Records {
        from: NodeId,
        records: Vec<Verified>,
    },
    /// A peer asked for records.
    GetPeers { conn: ConnHandle, max: u8 },
    /// A peer sent too many invalid records; ban it.
    Misbehaved { peer: NodeId },
    /// A tracker message from a peer.
    Tracker {
        conn: ConnHandle,
        msg: Box<warren_proto::tracker::TrackerMsg>,
    },
}

/// The node's answer to `Connected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Keep the connection.
    Admit,
    /// Close it, telling the peer why.
    Refuse(CloseReason),
}
