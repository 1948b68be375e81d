//! Counters: what the node did and what it refused.
//!
//! Every drop, refusal and error is counted here, so a flood shows up as
//! numbers in `status` instead of log lines.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Defines a group of monotonic counters: `$counters`, one `AtomicU64` per
/// name, shared by the tasks that count, and `$counts`, a point-in-time
/// copy (serialized with the names as keys, in the order given), with
/// `$counters::snapshot`. Each layer defines its own group (the network's
/// here, the store's in `warren-peers`, the files service's in
/// `warren-files`); `status` shows them side by side.
#[macro_export]
macro_rules! counters {
    (
        $(#[$cdoc:meta])* $counters:ident, $(#[$sdoc:meta])* $counts:ident {
            $($(#[$doc:meta])* $name:ident),* $(,)?
        }
    ) => {
        $(#[$cdoc])*
        #[derive(Debug, Default)]
        pub struct $counters {
            $($(#[$doc])* pub $name: ::std::sync::atomic::AtomicU64,)*
        }

        $(#[$sdoc])*
        #[derive(Debug, Clone, Default, ::serde::Serialize, ::serde::Deserialize, PartialEq, Eq)]
        pub struct $counts {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl $counters {
            /// Copies every counter.
            pub fn snapshot(&self) -> $counts {
                $counts { $($name: self.$name.load(::std::sync::atomic::Ordering::Relaxed),)* }
            }
        }
    };
}

crate::counters! {
    /// The network layer's counters (see [`Metrics`], which holds them
    /// with the refusals by reason).
    NetCounters,
    /// A point-in-time copy of [`NetCounters`].
    NetCounts {
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
}}

/// The network layer's counters and the input it refused, by reason;
/// shared by every task of one node.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The counters.
    pub net: NetCounters,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Copies the network counters (the refusals: [`Metrics::rejected`]).
    pub fn snapshot(&self) -> NetCounts {
        self.net.snapshot()
    }

    /// Refused input by reason (see `warren_proto::Error::label`).
    pub fn rejected(&self) -> BTreeMap<String, u64> {
        self.rejected
            .lock()
            .expect(crate::HELD)
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect()
    }

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
