//! Warren's lowest daemon layer: how bytes get between nodes, and nothing
//! about what they carry.
//!
//! - [`transport`]: the [`transport::Transport`] trait (listen, dial, dial on
//!   a path of its own) and its capabilities ([`transport::Host`],
//!   [`transport::OnionHost`]); TCP, in-memory, arti and C tor.
//! - [`tor`]: Tor's state as the node reports it, reachability checks,
//!   restricted-discovery client keys, private Tor network files.
//! - [`conn`]: connections — the handshake, framed channels, one task per
//!   peer connection reporting to the peer table, the accept loop under its
//!   caps, and the inbound [`conn::Router`] by which services take the
//!   connections opened for them.
//! - [`clock`]: the one place wall-clock time is read.
//! - [`metrics`]: the node's counters.
//! - [`fair`] and [`web`]: pools that share a listener's connections fairly
//!   between clients (closing the silent for newcomers), and the HTTP/1
//!   server loop the gateway and the panel run on them.
//!
//! It depends on `warren-proto` only; no service (peers, files, the panel)
//! and not the daemon may be imported here — cargo enforces it.

#![forbid(unsafe_code)]

pub mod clock;
pub mod conn;
mod error;
pub mod fair;
pub mod metrics;
pub mod tor;
pub mod transport;
pub mod web;

pub use error::{Error, Result};

/// What every `Mutex` of this crate's `lock().expect` says: no code
/// panics while holding one of them (each guards a plain value that is set
/// or copied in place), so a poisoned lock is a bug, and says so.
pub(crate) const HELD: &str = "a lock of warren-net is poisoned: no code panics while holding one";
