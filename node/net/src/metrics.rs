//! Counters: what the node did and what it refused.
//!
//! Every drop, refusal and error is counted here, so a flood shows up as
//! numbers in `status` instead of log lines.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Monotonic counters, shared by every task of one node.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $($(#[$doc])* pub $name: AtomicU64,)*
            rejected: Mutex<BTreeMap<&'static str, u64>>,
        }

        /// A point-in-time copy of [`Metrics`].
        #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
            /// Refused input by reason (see `warren_proto::Error::label`).
            pub rejected: BTreeMap<String, u64>,
        }

        impl Metrics {
            /// Copies every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                let rejected = self
                    .rejected
                    .lock()
                    .expect(crate::HELD)
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), *v))
                    .collect();
                MetricsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* rejected }
            }
        }
    };
}

counters! {
    /// Inbound streams accepted by a transport.
    streams_accepted,
    /// Inbound streams dropped at once because every slot was taken.
    streams_dropped_overload,
    /// Inbound handshakes answered with peers and `Busy`.
    busy_redirects,
    /// Pending handshakes cut off to make room for newer dialers.
    handshakes_evicted,
    /// Handshakes completed.
    handshakes_ok,
    /// Handshakes that failed (bad bytes, bad proof, timeout).
    handshakes_failed,
    /// Outbound dials that failed before a handshake.
    dials_failed,
    /// Frames received after the handshake.
    frames_in,
    /// Frames sent.
    frames_out,
    /// Payload bytes received.
    bytes_in,
    /// Payload bytes sent.
    bytes_out,
    /// Connections closed because the peer broke the protocol.
    protocol_violations,
    /// Outgoing messages dropped because a peer's outbox was full.
    outbox_drops,
    /// Events dropped because the node's inbox was full.
    inbox_drops,
    /// Peer-exchange requests ignored as too frequent.
    get_peers_throttled,
    /// Peer records accepted (new or newer).
    records_accepted,
    /// Peer records received again, unchanged (normal with gossip).
    records_duplicate,
    /// Peer records refused (bad, stale, expired, table full).
    records_rejected,
    /// Connections closed for misbehaviour, then banned.
    peers_banned,
    /// Times a peer was throttled by its rate limit.
    rate_limited,
    /// Piece bytes received on transfer connections.
    bytes_downloaded,
    /// Piece bytes sent on transfer connections.
    bytes_uploaded,
    /// Pieces verified against their hash.
    pieces_verified,
    /// Pieces that failed verification (their provider is dropped).
    pieces_bad,
    /// Block requests refused because a downloader had too many queued.
    upload_busy,
    /// Upload sessions closed to make room for a newcomer (the one silent
    /// the longest, or the same identity's own past its share).
    uploads_evicted,
    /// Store transactions committed.
    store_commits,
    /// Keys written or deleted by store commits.
    store_writes,
    /// Providers learned from trusted nodes' trackers (sync), new or newer.
    tracker_synced_providers,
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one refused input under `label`.
    pub fn reject(&self, label: &'static str) {
        {
            let mut m = self.rejected.lock().expect(crate::HELD);
            *m.entry(label).or_default() += 1;
        }
    }
}
