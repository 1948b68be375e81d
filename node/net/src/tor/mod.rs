//! What the onion transports share: the private-network file, the status
//! they report, and the self-check that keeps the onion service reachable;
//! and C tor's relay role.

mod client_auth;
pub mod network;
mod reach;
pub mod relay;
mod status;

pub use client_auth::ClientAuthKey;
pub use network::TorNetwork;
pub use reach::{ReachPolicy, Reachability};
pub use status::{BootstrapInfo, TorStatus};

/// The onion virtual port that answers reachability probes: a stream to it
/// is accepted and closed by the transport itself, so a node can check its
/// own service end to end without its peer code seeing the probe.
pub const PROBE_PORT: u16 = 1;

/// The onion virtual port of the web gateway: `http://<onion>/s/<token>`
/// in Tor Browser.
pub const WEB_PORT: u16 = 80;
