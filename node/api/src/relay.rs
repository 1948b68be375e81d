//! The relay as `status --json`, `warren relay status` and the panel's
//! Relay page show it.

use serde::{Deserialize, Serialize};

/// The box's relay at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayStatus {
    /// Whether the owner turned the relay on (`relay.enabled`).
    pub enabled: bool,
    /// Whether tor relays now (its ORPort is open).
    pub relaying: bool,
    /// Why it does not relay while enabled, or what went wrong, in words.
    pub problem: Option<String>,
    /// The ORPort, as configured.
    pub or_port: String,
    /// The relay's nickname.
    pub nickname: String,
    /// Its RSA identity fingerprint (40 hex digits), once tor is a relay.
    pub fingerprint: Option<String>,
    /// tor's reachability self-test of the ORPort succeeded.
    pub reachable: bool,
    /// What to do about reachability, in words (none: nothing).
    pub reachability_advice: Option<String>,
    /// Its flags in tor's current consensus (empty: not listed yet).
    pub flags: Vec<String>,
    /// The rate in force, bytes per second (0: not relaying).
    pub rate: u64,
    /// The burst in force, bytes per second.
    pub burst: u64,
    /// Whether the schedule's window is open now (always, without one).
    pub in_schedule: bool,
    /// Circuits carried for others since tor started (ntor handshakes).
    pub circuits: u64,
    /// What UPnP did for the ORPort, in words (none: not tried).
    pub upnp: Option<String>,
    /// Bytes relayed since 00:00 UTC (the larger of read and written).
    pub bytes_today: u64,
    /// Bytes relayed in each of the last 24 hours, oldest first; the last
    /// is the hour under way.
    pub hours: Vec<u64>,
    /// Bytes relayed in each of the last 30 days, oldest first; the last
    /// is today.
    pub days: Vec<u64>,
    /// The month's allowance.
    pub accounting: Accounting,
}

/// The monthly allowance (`relay.monthly_gib`), counted as tor's
/// `AccountingRule max` counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// Start of the period, unix seconds.
    pub period_start: u64,
    /// End of the period (the next start), unix seconds.
    pub period_end: u64,
    /// Bytes read by tor while relaying in this period.
    pub read: u64,
    /// Bytes written by tor while relaying in this period.
    pub written: u64,
    /// The allowance, bytes (0: none).
    pub max: u64,
    /// Whether it is used up (the relay waits for the next period).
    pub exhausted: bool,
}

impl Accounting {
    /// What counts against the allowance: the larger of read and written.
    pub fn used(&self) -> u64 {
        self.read.max(self.written)
    }
}

/// A peer's relay claim, checked (`warren relay check`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayCheck {
    /// The node (its onion address).
    pub node: String,
    /// Its relay's fingerprint.
    pub fingerprint: String,
    /// The relay's nickname, derived from the claim.
    pub nickname: String,
    /// The relay's flags in this node's consensus.
    pub flags: Vec<String>,
    /// The claim holds: signed by the node, the relay listed Running under
    /// the nickname only the node could have chosen.
    pub verified: bool,
}
