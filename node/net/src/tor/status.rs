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

/// How many failures [`TorStatus::recent_failures`] keeps.
pub(crate) const RECENT_FAILURES: usize = 8;

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
    /// The last few failures, oldest first (at most eight), so
    /// an outage stays visible after a later, different failure.
    #[serde(default)]
    pub recent_failures: Vec<String>,
    /// How many times the service was (re)launched.
    pub launches: u32,
    /// Why the node is not online yet, for people; none once reachable.
    pub not_online_because: Option<String>,
}

impl TorStatus {
    /// Records `failure` at `now` as the last one and in the bounded history.
    pub fn record_failure(&mut self, failure: String, now: u64) {
        if self.recent_failures.len() >= RECENT_FAILURES {
            self.recent_failures.remove(0);
        }
        self.recent_failures.push(failure.clone());
        self.last_failure = Some(failure);
        self.last_failure_at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_history_is_bounded_and_keeps_the_newest() {
        let mut s = TorStatus::default();
        for i in 0..20 {
            s.record_failure(format!("failure {i}"), i);
        }
        assert_eq!(s.recent_failures.len(), RECENT_FAILURES);
        assert_eq!(s.recent_failures.first().unwrap(), "failure 12");
        assert_eq!(s.last_failure.as_deref(), Some("failure 19"));
        assert_eq!(s.last_failure_at, Some(19));
    }
}
