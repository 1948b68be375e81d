//! The peer table: every node we hold a checked record for, bounded.
//!
//! When the table is full a new record may only replace an entry that has
//! never been reached; nodes we have connected to, trusted nodes and
//! connected nodes are never evicted for strangers. A flood of fresh
//! identities (each paid for with proof of work) can therefore churn only
//! the unproven part of the table.

use std::collections::HashMap;

use warren_proto::{NodeId, SignedNodeRecord, Verified};

/// One known node.
#[derive(Debug, Clone)]
pub(crate) struct PeerEntry {
    /// Its newest checked record.
    pub(crate) record: Verified,
    /// When we last completed a handshake with it (unix seconds).
    pub(crate) last_connected: Option<u64>,
    /// `last_connected` as last written to the store.
    pub(crate) persisted_connected: Option<u64>,
}

/// What [`PeerTable::upsert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// A node we did not know; the id of an evicted entry, if any.
    New { evicted: Option<NodeId> },
    /// A newer record for a known node.
    Updated,
    /// The very record already held (gossip often brings it twice).
    Duplicate,
    /// Older than the record held: a replay.
    Stale,
    /// The table is full of entries that may not be evicted.
    Full,
}

/// Known nodes, at most `cap`.
#[derive(Debug)]
pub(crate) struct PeerTable {
    entries: HashMap<NodeId, PeerEntry>,
    cap: usize,
}

impl PeerTable {
    pub(crate) fn new(cap: usize) -> Self {
        PeerTable {
            entries: HashMap::with_capacity(cap.min(4096)),
            cap,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn get(&self, id: &NodeId) -> Option<&PeerEntry> {
        self.entries.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &NodeId) -> Option<&mut PeerEntry> {
        self.entries.get_mut(id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&NodeId, &PeerEntry)> {
        self.entries.iter()
    }

    pub(crate) fn remove(&mut self, id: &NodeId) -> Option<PeerEntry> {
        self.entries.remove(id)
    }

    /// Adds or refreshes a record. `protected` says which ids may not be
    /// evicted (trusted or connected nodes).
    pub(crate) fn upsert(
        &mut self,
        record: Verified,
        protected: impl Fn(&NodeId) -> bool,
    ) -> Upsert {
        let id = record.id();
        if let Some(e) = self.entries.get_mut(&id) {
            if record == e.record {
                return Upsert::Duplicate;
            }
            if record.newer_than(&e.record).is_err() {
                return Upsert::Stale;
            }
            e.record = record;
            return Upsert::Updated;
        }
        let mut evicted = None;
        if self.entries.len() >= self.cap {
            // Worst first: never connected, then oldest record.
            let victim = self
                .entries
                .iter()
                .filter(|(id, e)| e.last_connected.is_none() && !protected(id))
                .min_by_key(|(_, e)| e.record.get().record.issued_at)
                .map(|(id, _)| *id);
            match victim {
                Some(v) => {
                    self.entries.remove(&v);
                    evicted = Some(v);
                }
                None => return Upsert::Full,
            }
        }
        self.entries.insert(
            id,
            PeerEntry {
                record,
                last_connected: None,
                persisted_connected: None,
            },
        );
        Upsert::New { evicted }
    }

    /// Restores an entry read from the store.
    pub(crate) fn restore(&mut self, record: Verified, last_connected: Option<u64>) -> bool {
        if self.entries.len() >= self.cap {
            return false;
        }
        let e = PeerEntry {
            record,
            last_connected,
            persisted_connected: last_connected,
        };
        self.entries.insert(e.record.id(), e);
        true
    }

    /// Drops records expired at `now`, except protected ones; returns their ids.
    pub(crate) fn remove_expired(
        &mut self,
        now: u64,
        protected: impl Fn(&NodeId) -> bool,
    ) -> Vec<NodeId> {
        let gone: Vec<NodeId> = self
            .entries
            .iter()
            .filter(|(id, e)| !e.record.is_live(now) && !protected(id))
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            self.entries.remove(id);
        }
        gone
    }

    /// Up to `max` live records chosen at random, without `exclude`.
    pub(crate) fn sample(
        &self,
        max: usize,
        exclude: Option<NodeId>,
        now: u64,
    ) -> Vec<SignedNodeRecord> {
        let mut live: Vec<&PeerEntry> = self
            .entries
            .values()
            .filter(|e| e.record.is_live(now) && Some(e.record.id()) != exclude)
            .collect();
        fastrand::shuffle(&mut live);
        live.into_iter()
            .take(max)
            .map(|e| e.record.get().clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_proto::{Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services};

    fn rec(n: u8, issued_at: u64) -> Verified {
        let kp = Keypair::from_seed(&[n; 32]);
        NodeRecord {
            id: kp.id(),
            role: Role::Member,
            services: Services::PEER_EXCHANGE,
            hints: heapless::Vec::new(),
            issued_at,
            expires_at: issued_at + 1000,
            pow_nonce: 0,
        }
        .sign(&kp)
        .unwrap()
        .verify(
            issued_at,
            &RecordPolicy {
                difficulty: Difficulty::new(0).unwrap(),
                max_validity: 5000,
                max_clock_skew: 0,
            },
        )
        .unwrap()
    }

    #[test]
    fn full_table_evicts_only_unproven_entries() {
        let mut t = PeerTable::new(2);
        assert_eq!(
            t.upsert(rec(1, 100), |_| false),
            Upsert::New { evicted: None }
        );
        assert_eq!(
            t.upsert(rec(2, 200), |_| false),
            Upsert::New { evicted: None }
        );
        // Node 1 has been reached; node 2 not: node 2 goes.
        t.get_mut(&rec(1, 0).id()).unwrap().last_connected = Some(5);
        assert_eq!(
            t.upsert(rec(3, 300), |_| false),
            Upsert::New {
                evicted: Some(rec(2, 0).id())
            }
        );
        // Now 1 is proven and 3 is protected: nothing may go.
        let three = rec(3, 0).id();
        assert_eq!(t.upsert(rec(4, 400), |id| *id == three), Upsert::Full);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn only_newer_records_update() {
        let mut t = PeerTable::new(4);
        t.upsert(rec(1, 100), |_| false);
        assert_eq!(t.upsert(rec(1, 100), |_| false), Upsert::Duplicate);
        assert_eq!(t.upsert(rec(1, 50), |_| false), Upsert::Stale);
        assert_eq!(t.upsert(rec(1, 150), |_| false), Upsert::Updated);
    }

    #[test]
    fn expiry_spares_protected_entries() {
        let mut t = PeerTable::new(4);
        t.upsert(rec(1, 100), |_| false);
        t.upsert(rec(2, 100), |_| false);
        let one = rec(1, 0).id();
        let gone = t.remove_expired(5000, |id| *id == one);
        assert_eq!(gone, vec![rec(2, 0).id()]);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t.sample(10, None, 5000).len(),
            0,
            "expired records are never handed out"
        );
    }
}
