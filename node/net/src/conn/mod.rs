//! Connections: handshake, then one task per peer that owns its state.
//!
//! ```text
//!  stream ──► handshake ──► Connected event ──► node admits? ──► run_connection
//!                                                                   │
//!           reader half: frames → rate limit → decode → events ◄────┤
//!           writer half: control queue first, then normal queue ◄───┘
//! ```
//!
//! The reader owns the per-peer state (rate limiter, misbehaviour score,
//! keepalive timers). The writer owns the write half and the outboxes. Both
//! end together; the node learns of the end through a `Disconnected` event.

mod accept;
mod codec;
mod config;
mod event;
mod handle;
mod handshake;
mod ratelimit;
mod router;
mod run;
mod service;
mod session;

pub use accept::accept_loop;
pub use codec::{CodecError, FrameCodec, Outgoing, Payload};
pub use config::ConnConfig;
pub use event::{Admission, NodeEvent};
pub use handle::{ConnHandle, Direction, Dropped, Outboxes};
pub use handshake::FramedStream;
pub use ratelimit::TokenBucket;
pub use router::{ProtocolHandler, Router};
pub use service::{ServiceConn, ServiceHandler, dial_service};
use session::serve_inbound;
pub use session::{ConnCtx, dial_outbound, dial_transfer, is_failure};

use warren_proto::msg::CloseReason;

/// Why a connection or handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The peer sent bad bytes or failed a check.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// The stream failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer took too long.
    #[error("timed out")]
    Timeout,
    /// The stream ended early.
    #[error("stream closed")]
    Closed,
    /// The node is shutting down.
    #[error("shutting down")]
    Shutdown,
    /// The transport could not reach the peer.
    #[error("dial: {0}")]
    Dial(#[from] crate::transport::TransportError),
    /// The dial did not connect within `ConnConfig::dial_timeout`.
    #[error("dial timed out")]
    DialTimeout,
    /// The handshake after a dial failed (what went wrong inside).
    #[error("handshake: {0}")]
    Handshake(#[source] Box<ConnError>),
    /// Closed to make room for another connection (a full pool).
    #[error("closed for another connection (every slot was taken)")]
    Busy,
}

impl ConnError {
    /// A short stable name for counters.
    pub fn label(&self) -> &'static str {
        match self {
            ConnError::Proto(e) => e.label(),
            ConnError::Io(_) => "io",
            ConnError::Timeout => "timeout",
            ConnError::Closed => "closed",
            ConnError::Shutdown => "shutdown",
            ConnError::Dial(_) => "dial",
            ConnError::DialTimeout => "dial_timeout",
            ConnError::Busy => "busy",
            ConnError::Handshake(e) => e.label(),
        }
    }
}

impl From<CodecError> for ConnError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Proto(p) => ConnError::Proto(p),
            CodecError::Io(io) => ConnError::Io(io),
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// We closed it, for this reason.
    Local(CloseReason),
    /// The peer closed it, for this reason.
    Remote(CloseReason),
    /// The stream ended without a Close message.
    Eof,
    /// An error (its counter label).
    Error(&'static str),
}
