//! Choosing whom to dial, and backing off from those who do not answer.

use std::time::Duration;

use tokio::time::Instant;
use warren_proto::{NodeId, PeerAddr};

use super::actor::Actor;
use crate::conn::{Direction, dial_outbound};

/// Reconnect state for one node.
#[derive(Debug, Clone)]
pub(crate) struct DialState {
    pub(crate) failures: u32,
    pub(crate) next_attempt: Instant,
    pub(crate) last_error: Option<String>,
}

/// Exponential backoff with jitter: `base · 2^(failures-1)`, capped at
/// `max`, times a random factor in [0.5, 1.5).
pub(crate) fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    exp.min(max).mul_f64(0.5 + fastrand::f64())
}

impl Actor {
    pub(crate) fn dial_due(&self, id: &NodeId, now: Instant) -> bool {
        *id != self.own_id()
            && !self.conns.contains_key(id)
            && !self.dialing.contains(id)
            && !self.banned(id)
            && self
                .dial_state
                .get(id)
                .is_none_or(|s| s.next_attempt <= now)
    }

    /// The address to dial `id` at: as given (trust, bootstrap) if our
    /// transport can use it, else the first usable hint of its record.
    pub(crate) fn dial_addr(&self, id: &NodeId, given: Option<PeerAddr>) -> Option<PeerAddr> {
        let t = &self.ctx.transport;
        if let Some(a) = given.filter(|a| t.can_dial(&a.hint)) {
            return Some(a);
        }
        let entry = self.peers.get(id)?;
        let hint = entry
            .record
            .get()
            .record
            .hints
            .iter()
            .find(|h| t.can_dial(h))?;
        Some(PeerAddr::new(*id, *hint))
    }

    /// Starts dials: trusted nodes always, then bootstrap nodes and known
    /// peers while below the outbound target; never more than
    /// `max_concurrent_dials` at once.
    pub(crate) fn schedule_dials(&mut self) {
        let now = Instant::now();
        let limit = self.cfg.limits.max_concurrent_dials;
        let outbound = self
            .conns
            .values()
            .filter(|c| c.handle.direction == Direction::Outbound)
            .count();
        let target = self.cfg.discovery.target_outbound;

        let mut picks: Vec<PeerAddr> = Vec::new();
        let mut room = limit.saturating_sub(self.dialing.len());
        let mut wanted = target.saturating_sub(outbound + self.dialing.len());

        let trusted: Vec<PeerAddr> = self.trust.values().map(|t| t.addr).collect();
        for addr in trusted {
            if room == 0 {
                break;
            }
            if self.dial_due(&addr.id, now) {
                if let Some(a) = self.dial_addr(&addr.id, Some(addr)) {
                    picks.push(a);
                    room -= 1;
                    wanted = wanted.saturating_sub(1);
                }
            }
        }
        let seeds: Vec<PeerAddr> = self.seeds.clone();
        for addr in seeds {
            if room == 0 || wanted == 0 {
                break;
            }
            if self.dial_due(&addr.id, now) && !picks.iter().any(|p| p.id == addr.id) {
                if let Some(a) = self.dial_addr(&addr.id, Some(addr)) {
                    picks.push(a);
                    room -= 1;
                    wanted -= 1;
                }
            }
        }
        if room > 0 && wanted > 0 {
            // Known peers: those reached before first (most recent first),
            // then the rest in random order.
            let mut candidates: Vec<(Option<u64>, u64, NodeId)> = self
                .peers
                .iter()
                .filter(|(id, e)| e.record.is_live(self.now_unix()) && self.dial_due(id, now))
                .map(|(id, e)| (e.last_connected, fastrand::u64(..), *id))
                .collect();
            candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, _, id) in candidates {
                if room == 0 || wanted == 0 {
                    break;
                }
                if picks.iter().any(|p| p.id == id) {
                    continue;
                }
                if let Some(a) = self.dial_addr(&id, None) {
                    picks.push(a);
                    room -= 1;
                    wanted -= 1;
                }
            }
        }
        for addr in picks {
            self.dialing.insert(addr.id);
            self.tasks.spawn(dial_outbound(addr, self.ctx.clone()));
        }
    }

    /// Records a failure to reach `id` and schedules the next attempt.
    pub(crate) fn dial_failed(&mut self, id: NodeId, error: String) {
        let d = &self.cfg.discovery;
        let (base, max) = (
            Duration::from_secs(d.reconnect_base_secs),
            Duration::from_secs(d.reconnect_max_secs),
        );
        let s = self.dial_state.entry(id).or_insert(DialState {
            failures: 0,
            next_attempt: Instant::now(),
            last_error: None,
        });
        s.failures = s.failures.saturating_add(1);
        s.next_attempt = Instant::now() + backoff(base, max, s.failures);
        s.last_error = Some(error);
    }

    /// After a clean close: wait the base delay before dialing again.
    pub(crate) fn dial_rest(&mut self, id: NodeId) {
        let base = Duration::from_secs(self.cfg.discovery.reconnect_base_secs);
        self.dial_state.insert(
            id,
            DialState {
                failures: 0,
                next_attempt: Instant::now() + base,
                last_error: None,
            },
        );
    }

    /// Forgets reconnect state for nodes we no longer know.
    pub(crate) fn prune_dial_state(&mut self) {
        let Actor {
            dial_state,
            peers,
            trust,
            seeds,
            conns,
            ..
        } = self;
        dial_state.retain(|id, _| {
            peers.get(id).is_some()
                || trust.contains_key(id)
                || conns.contains_key(id)
                || seeds.iter().any(|s| s.id == *id)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_and_is_capped() {
        let (b, m) = (Duration::from_secs(2), Duration::from_secs(300));
        for _ in 0..100 {
            let d1 = backoff(b, m, 1);
            assert!(d1 >= Duration::from_secs(1) && d1 < Duration::from_secs(3));
            let d4 = backoff(b, m, 4);
            assert!(d4 >= Duration::from_secs(8) && d4 < Duration::from_secs(24));
            let d30 = backoff(b, m, 30);
            assert!(d30 >= Duration::from_secs(150) && d30 < Duration::from_secs(450));
        }
    }
}
