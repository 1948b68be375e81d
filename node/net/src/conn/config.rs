//! What the connection layer is configured with: its timeouts and its
//! share of the node's limits. The daemon fills it from `[discovery]` and
//! `[limits]` (see `warren.example.toml` for each key's meaning and
//! default).

use std::time::Duration;

/// Timeouts and caps of the connection layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnConfig {
    /// How long a handshake may take (`discovery.handshake_timeout_secs`).
    pub handshake_timeout: Duration,
    /// How long a dial may take before the handshake starts
    /// (`discovery.dial_timeout_secs`).
    pub dial_timeout: Duration,
    /// Silence before a keepalive ping (`discovery.ping_interval_secs`).
    pub ping_interval: Duration,
    /// Silence before the connection is closed (`discovery.idle_timeout_secs`).
    pub idle_timeout: Duration,
    /// Inbound peer connections at once (`limits.max_inbound`); a quarter
    /// of them (at least one) only trusted nodes may take.
    pub max_inbound: usize,
    /// Handshakes in progress at once (`limits.max_pending_handshakes`).
    pub max_pending_handshakes: usize,
    /// Busy redirects in progress at once (`limits.max_busy_redirects`).
    pub max_busy_redirects: usize,
    /// Control frames queued per peer (`limits.outbox_control`).
    pub outbox_control: usize,
    /// Service frames queued per peer (`limits.outbox_normal`).
    pub outbox_normal: usize,
    /// Frames per second a peer may send (`limits.peer_frames_per_sec`).
    pub peer_frames_per_sec: u32,
    /// Frames a peer may send in a burst (`limits.peer_frame_burst`).
    pub peer_frame_burst: u32,
    /// Least time between two `GetPeers` a peer may send
    /// (`limits.get_peers_min_interval_secs`).
    pub get_peers_min_interval: Duration,
    /// Invalid records a peer may send before it is dropped and banned
    /// (`limits.misbehavior_limit`).
    pub misbehavior_limit: u32,
}
