//! The handle other tasks use to talk to one connection.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use warren_proto::NodeId;
use warren_proto::frame::{Channel, Priority};
use warren_proto::msg::{CloseReason, ControlMsg, Message, PeerMsg};

use super::codec::Outgoing;

/// Which side opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// We dialed.
    Outbound,
    /// They dialed.
    Inbound,
}

/// A message could not be queued: the peer's outbox is full or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped;

/// A cheap, cloneable handle to a live connection.
///
/// Sends never wait: a full outbox drops the message (the caller counts it).
/// Control messages have their own queue, which the writer always empties
/// first, so keepalives and closes overtake everything else.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    /// Unique per connection within this node.
    pub conn_id: u64,
    /// The authenticated peer.
    pub peer: NodeId,
    /// Who dialed.
    pub direction: Direction,
    control: mpsc::Sender<Outgoing>,
    normal: mpsc::Sender<Outgoing>,
    cancel: CancellationToken,
    close_reason: Arc<Mutex<Option<CloseReason>>>,
}

/// The receiving ends owned by the connection task.
#[derive(Debug)]
pub struct Outboxes {
    /// Control frames (priority 0).
    pub control: mpsc::Receiver<Outgoing>,
    /// Service frames.
    pub normal: mpsc::Receiver<Outgoing>,
}

impl ConnHandle {
    /// A handle and the queues behind it.
    pub fn new(
        conn_id: u64,
        peer: NodeId,
        direction: Direction,
        control_cap: usize,
        normal_cap: usize,
    ) -> (ConnHandle, Outboxes) {
        let (ctx, crx) = mpsc::channel(control_cap);
        let (ntx, nrx) = mpsc::channel(normal_cap);
        let handle = ConnHandle {
            conn_id,
            peer,
            direction,
            control: ctx,
            normal: ntx,
            cancel: CancellationToken::new(),
            close_reason: Arc::new(Mutex::new(None)),
        };
        (
            handle,
            Outboxes {
                control: crx,
                normal: nrx,
            },
        )
    }

    /// Queues a control message.
    pub fn send_control(&self, msg: ControlMsg) -> Result<(), Dropped> {
        let m = Message::Control(msg);
        self.control
            .try_send(Outgoing {
                channel: Channel::Control,
                priority: Priority::Control,
                payload: m.encode().into(),
            })
            .map_err(|_| Dropped)
    }

    /// Queues a peer-exchange message.
    pub fn send_peers(&self, msg: PeerMsg) -> Result<(), Dropped> {
        let m = Message::Peers(msg);
        self.normal
            .try_send(Outgoing {
                channel: Channel::Peers,
                priority: Priority::Normal,
                payload: m.encode().into(),
            })
            .map_err(|_| Dropped)
    }

    /// Queues a message of the layer above on its own channel (the
    /// tracker's, on a peer connection), behind control frames.
    pub fn send(&self, msg: Message) -> Result<(), Dropped> {
        self.normal
            .try_send(Outgoing {
                channel: msg.channel(),
                priority: Priority::Normal,
                payload: msg.encode().into(),
            })
            .map_err(|_| Dropped)
    }

    /// Asks the connection to close, telling the peer `reason`.
    pub fn close(&self, reason: CloseReason) {
        {
            let mut r = self.close_reason.lock().expect(crate::HELD);
            r.get_or_insert(reason);
        }
        self.cancel.cancel();
    }

    /// Ends the connection without telling the peer why (it already knows,
    /// or the stream is gone).
    pub fn close_silently(&self) {
        self.cancel.cancel();
    }

    /// The reason given to [`close`](Self::close), if any.
    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.close_reason.lock().expect(crate::HELD)
    }

    /// Fires when the connection is asked to close.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Whether the connection was asked to close.
    pub fn is_closed(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
