//! The state of an onion transport, as `status` reports it.

use serde::{Deserialize, Serialize};

/// Tor's bootstrap progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInfo {
    /// 0..=100.
    pub percent: u8,
    /// What Tor is doing, in its words.
    pub phase: String,
    /// Why it is stuck, if it says so.
    pub blocked: Option<String>,
}

/// Everything an onion transport reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TorStatus {
    /// Bootstrap progress (none before the first attempt).
    pub bootstrap: Option<BootstrapInfo>,
    /// The onion address of the node's service once it is launched.
    pub onion_address: Option<String>,
    /// Result of the last reachability check; none before the first.
    pub onion_reachable: Option<bool>,
    /// When the last check ended (unix seconds).
    pub last_check: Option<u64>,
    /// The last failure (bootstrap, launch or check), in words.
    pub last_failure: Option<String>,
    /// When the last failure happened (unix seconds).
    pub last_failure_at: Option<u64>,
    /// How many times the service was (re)launched.
    pub launches: u32,
    /// Why the node is not online yet, for people; none once reachable.
    pub not_online_because: Option<String>,
}
