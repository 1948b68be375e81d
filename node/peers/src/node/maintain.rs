//! The node task's bookkeeping: learning records, bans, the periodic tick.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use warren_proto::msg::{CloseReason, MAX_PEERS_PER_MESSAGE, PeerMsg};
use warren_proto::{BoundedVec, NodeId, Verified};

use super::actor::Actor;
use super::peers::Upsert;
use super::persist::StoredPeer;
use crate::metrics::Metrics;
use crate::store::Table;

/// Records waiting to be pushed to connected peers. Full: dropped and
/// counted (the periodic exchange catches up).
const PUSH_QUEUE: usize = MAX_PEERS_PER_MESSAGE;
/// How often a peer's `last_connected` time is written at most, seconds.
const PERSIST_CONNECTED_EVERY: u64 = 3600;

impl Actor {
    /// Takes a checked record into the table; news is pushed to peers.
    pub(crate) async fn learn(&mut self, record: Verified, from: Option<NodeId>) {
        let id = record.id();
        let m = Arc::clone(&self.ctx.metrics);
        if id == self.own_id() || self.banned(&id) {
            return;
        }
        let signed = record.get().clone();
        let trust = &self.trust;
        let conns = &self.conns;
        let outcome = self
            .peers
            .upsert(record, |i| trust.contains_key(i) || conns.contains_key(i));
        match outcome {
            Upsert::New { evicted } => {
                Metrics::inc(&m.net.records_accepted);
                if let Some(gone) = evicted {
                    self.store
                        .delete(Table::Peers, gone.as_bytes().to_vec())
                        .await;
                }
            }
            Upsert::Updated => Metrics::inc(&m.net.records_accepted),
            Upsert::Duplicate => {
                Metrics::inc(&m.net.records_duplicate);
                return;
            }
            Upsert::Stale => {
                Metrics::inc(&m.net.records_rejected);
                m.reject("stale");
                return;
            }
            Upsert::Full => {
                Metrics::inc(&m.net.records_rejected);
                m.reject("table_full");
                return;
            }
        }
        self.persist_peer(id).await;
        if self.push.len() < PUSH_QUEUE {
            self.push.push((signed, from.unwrap_or(id)));
        } else {
            Metrics::inc(&m.net.outbox_drops);
        }
    }

    /// Bans `peer` for `limits.ban_secs`, closes its connection and forgets it.
    pub(crate) async fn ban(&mut self, peer: NodeId) {
        let until = Instant::now() + Duration::from_secs(self.cfg.limits.ban_secs);
        if self.bans.len() >= self.cfg.limits.max_bans && !self.bans.contains_key(&peer) {
            // Full: forget the ban that ends first.
            if let Some(first) = self.bans.iter().min_by_key(|(_, t)| **t).map(|(id, _)| *id) {
                self.bans.remove(&first);
            }
        }
        self.bans.insert(peer, until);
        tracing::warn!(peer = %peer.short(), "peer banned for sending invalid records");
        if let Some(c) = self.conns.get(&peer) {
            c.handle.close(CloseReason::Misbehaving);
        }
        if !self.trust.contains_key(&peer) && self.peers.remove(&peer).is_some() {
            self.store
                .delete(Table::Peers, peer.as_bytes().to_vec())
                .await;
        }
    }

    /// Once a second: record refresh, expiry, peer exchange, pushes, dials.
    pub(crate) async fn on_tick(&mut self, n: u64) {
        let now = self.now_unix();
        self.refresh_own_record(now);
        if n % 10 == 0 {
            let gone = {
                let (trust, conns) = (&self.trust, &self.conns);
                self.peers
                    .remove_expired(now, |i| trust.contains_key(i) || conns.contains_key(i))
            };
            for id in gone {
                self.store
                    .delete(Table::Peers, id.as_bytes().to_vec())
                    .await;
            }
            let t = Instant::now();
            self.bans.retain(|_, until| *until > t);
            self.prune_dial_state();
        }
        if n % 5 == 0 {
            let sample = self.peers.sample(MAX_PEERS_PER_MESSAGE, None, now);
            self.busy_tx.send_replace(Arc::new(sample));
        }
        self.exchange_and_push();
        self.schedule_dials();
    }

    fn refresh_own_record(&mut self, now: u64) {
        let current = self.own_tx.borrow().record.clone();
        let half = (current.expires_at - current.issued_at) / 2;
        if now < current.issued_at.saturating_add(half) {
            return;
        }
        let validity = self.cfg.community.record_validity_secs;
        match self
            .identity
            .record(self.role, current.services, &self.hints, now, validity)
        {
            Ok(fresh) => {
                tracing::debug!("own record re-issued");
                self.own_tx.send_replace(fresh.clone());
                let own = self.own_id();
                if self.push.len() < PUSH_QUEUE {
                    self.push.push((fresh, own));
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot re-issue own record"),
        }
    }

    /// Asks peers whose turn it is for records, and pushes news to all.
    fn exchange_and_push(&mut self) {
        let now = Instant::now();
        let every = self.cfg.discovery.pex_interval();
        let pushes = std::mem::take(&mut self.push);
        let m = &self.ctx.metrics;
        for (peer, c) in self.conns.iter_mut() {
            if c.next_pex <= now {
                c.next_pex = now + every.mul_f64(0.75 + fastrand::f64() / 2.0);
                if c.handle
                    .send_peers(PeerMsg::GetPeers {
                        max: MAX_PEERS_PER_MESSAGE as u8,
                    })
                    .is_err()
                {
                    Metrics::inc(&m.net.outbox_drops);
                }
            }
            if pushes.is_empty() {
                continue;
            }
            let records = BoundedVec::truncating(
                pushes
                    .iter()
                    .filter(|(r, from)| from != peer && r.id() != *peer)
                    .map(|(r, _)| r.clone()),
            );
            if !records.is_empty() && c.handle.send_peers(PeerMsg::Peers { records }).is_err() {
                Metrics::inc(&m.net.outbox_drops);
            }
        }
    }

    /// Writes the table entry of `id` (record and `last_connected`) to the store.
    async fn persist_peer(&mut self, id: NodeId) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        e.persisted_connected = e.last_connected;
        let stored = StoredPeer {
            record: e.record.get().clone(),
            last_connected: e.last_connected,
        };
        let value = warren_proto::encode(&stored);
        self.store
            .put(Table::Peers, id.as_bytes().to_vec(), value)
            .await;
    }

    /// Writes `last_connected` for `peer` if the stored value is old.
    pub(crate) async fn persist_connected(&mut self, peer: NodeId) {
        let Some(e) = self.peers.get(&peer) else {
            return;
        };
        let (Some(t), old) = (e.last_connected, e.persisted_connected) else {
            return;
        };
        if old.is_some_and(|o| t < o + PERSIST_CONNECTED_EVERY) {
            return;
        }
        self.persist_peer(peer).await;
    }

    /// On shutdown: write every `last_connected` that changed.
    pub(crate) async fn persist_connected_times(&mut self) {
        let changed: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, e)| {
                e.last_connected.is_some() && e.last_connected != e.persisted_connected
            })
            .map(|(id, _)| *id)
            .collect();
        for id in changed {
            self.persist_peer(id).await;
        }
    }
}
