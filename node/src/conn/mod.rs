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

mod codec;
mod handle;
mod handshake;
mod ratelimit;
mod router;
mod run;
mod session;

pub use codec::{CodecError, FrameCodec, Outgoing};
pub use handle::{ConnHandle, Direction, Dropped, Outboxes};
pub(crate) use handshake::FramedStream;
pub use ratelimit::TokenBucket;
pub(crate) use router::{ProtocolHandler, Router};
pub(crate) use session::{ConnCtx, dial_outbound, dial_transfer, is_failure, serve_inbound};

use warren_proto::msg::CloseReason;

/// Why a connection or handshake failed.
#[derive(Debug, thiserror::Error)]
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
