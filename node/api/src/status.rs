//! What `warren status --json` adds to the peer layer's status: the
//! daemon's other services (the web gateway, the panel, the board).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warren_files::{TrackerCounts, TransferCounts};
use warren_net::metrics::NetCounts;
use warren_peers::store::StoreCounts;

/// The node at a glance (`warren status --json`): the peer layer's status
/// with what the daemon's other services add.
pub type Status = warren_peers::Status<StatusExtras, MetricsSnapshot>;

/// What the daemon adds to the peer layer's status, written between
/// `listen` and `online`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusExtras {
    /// The base of browser links to this node's shares (`http://<onion>`
    /// on Tor, a loopback address on TCP); none without a web gateway.
    pub gateway_url: Option<String>,
    /// Where the owner's panel answers on this machine (`http://127.0.0.1:…`);
    /// none when it is off or could not listen.
    #[serde(default)]
    pub panel_url: Option<String>,
    /// The box's board: LED pattern, temperature, watchdog, pairing mode,
    /// factory reset (none without board support).
    #[serde(default)]
    pub board: Option<BoardStatus>,
    /// Messages: conversations, unread, the outbox; on a box, the
    /// mailboxes held, their bytes and quota (none if the mail service did
    /// not answer).
    #[serde(default)]
    pub mail: Option<warren_mail::MailStatus>,
    /// The relay (none: the transport cannot relay).
    #[serde(default)]
    pub relay: Option<crate::relay::RelayStatus>,
}

/// The board as `status --json` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BoardStatus {
    /// `pi` or `sim`.
    pub kind: String,
    /// What the board is, in words: the Pi's model from its device tree
    /// (`Raspberry Pi 3 Model B Rev 1.2`), or `simulated board`.
    #[serde(default)]
    pub model: String,
    /// The LED's pattern (`starting`, `bootstrapping`, `online`,
    /// `degraded`, `pairing`, `reset`, `error`, `off`).
    pub led: String,
    /// Why the LED shows what it shows, in words.
    pub led_because: String,
    /// SoC temperature, °C, at the last reading.
    pub temperature_c: Option<f32>,
    /// Whether the supply voltage is too low (none: not reported).
    pub under_voltage: Option<bool>,
    /// `fed`, `withheld` (the last liveness check failed), `expired` (a
    /// real board would have reset) or `off`.
    pub watchdog: String,
    /// Core tasks that did not answer the last liveness check.
    pub unresponsive: Vec<String>,
    /// Whether the box is too hot and throttles transfers and disk work.
    pub throttled: bool,
    /// Whether free disk space is below `board.disk_low_percent`.
    pub disk_low: bool,
    /// Until when pairing mode is on (unix seconds).
    pub pairing_until: Option<u64>,
    /// Where the panel answers on the local network during pairing mode:
    /// the first of `pairing_urls` that is an address.
    pub pairing_url: Option<String>,
    /// Every place the pairing page opens on the local network during
    /// pairing mode: `http://warren-xxxx.local:PORT/pair` when announced,
    /// then each of the box's addresses.
    #[serde(default)]
    pub pairing_urls: Vec<String>,
    /// `idle`, `armed` (a long press asked; hold again to confirm),
    /// `confirming` or `wiping`.
    pub reset: String,
    /// A board part that failed, in words.
    pub fault: Option<String>,
}

/// Which press `warren board press` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Press {
    /// Pressed and released at once.
    Short,
    /// Held past the long-press time.
    Long,
}

/// Every counter of the node, as `status` shows them (`metrics`): the
/// network's, the files service's transfers, the store's, the tracker's,
/// then the refused input by reason — one flat object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// The network layer's.
    #[serde(flatten)]
    pub net: NetCounts,
    /// The files service's transfers.
    #[serde(flatten)]
    pub transfers: TransferCounts,
    /// The store writer's.
    #[serde(flatten)]
    pub store: StoreCounts,
    /// The files service's tracker.
    #[serde(flatten)]
    pub tracker: TrackerCounts,
    /// Refused input by reason (see `warren_proto::Error::label`).
    pub rejected: BTreeMap<String, u64>,
}

impl MetricsSnapshot {
    /// The peer layer's counters with the files service's beside them.
    pub fn new(
        peers: warren_peers::PeerMetrics,
        transfers: TransferCounts,
        tracker: TrackerCounts,
    ) -> MetricsSnapshot {
        MetricsSnapshot {
            net: peers.net,
            transfers,
            store: peers.store,
            tracker,
            rejected: peers.rejected,
        }
    }
}
