#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod board;
pub mod control;
pub mod daemon;
mod error;
pub mod relay;

pub use error::{Error, Refusal, Result};

/// What every `Mutex` of the daemon's `lock().expect` says: no code panics
/// while holding one of them (each guards a value that is set, taken or
/// cloned in place), so a poisoned lock is a bug, and says so.
pub(crate) const HELD: &str = "a lock of the daemon is poisoned: no code panics while holding one";
// The layer below, under the names the daemon has always used.
pub use warren_api::{config, logging};
pub use warren_files as files;
pub use warren_files::gateway;
pub use warren_mail as mail;
pub use warren_net::{clock, conn, fair, tor, transport, web};
pub use warren_panel as panel;
pub use warren_peers::{identity, store};

/// The node's counters: each layer's group, and all of them as `status`
/// shows them ([`metrics::MetricsSnapshot`]).
pub mod metrics {
    pub use warren_api::MetricsSnapshot;
    pub use warren_files::{FilesCounters, TrackerCounts, TransferCounts};
    pub use warren_net::metrics::*;
    pub use warren_peers::store::{StoreCounters, StoreCounts};
}
