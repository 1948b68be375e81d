//! The tracker's state: who provides which swarm, our own swarms, the
//! catalogue of public shares, and where sync with each trusted peer
//! stands. Pure data, owned by the tracker task (`task.rs`).
//!
//! Bounded: at most `limits.tracker_swarms` swarms with at most
//! [`MAX_PROVIDERS`] providers each (the longest unheard goes first), and
//! at most `limits.catalogue_entries` entries (the oldest goes first).

use std::collections::HashMap;

use tokio::sync::mpsc;
use warren_proto::content::{ContentId, SwarmId};
use warren_proto::tracker::{MAX_ANNOUNCE, MAX_PROVIDERS, MAX_SYNC_ITEMS, SignedEntry, SyncItem};
use warren_proto::{NodeId, SignedNodeRecord};

/// Providers not heard of for this long are forgotten, seconds.
const PROVIDER_TTL: u64 = 3600;

#[derive(Debug, Default)]
struct Providers {
    /// node → (last heard, unix; change sequence number).
    nodes: HashMap<NodeId, (u64, u64)>,
}

/// The tracker state.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    providers: HashMap<SwarmId, Providers>,
    /// Our own swarms: true when private.
    local: HashMap<SwarmId, bool>,
    /// Public shares: entry and its change sequence number.
    catalogue: HashMap<ContentId, (SignedEntry, u64)>,
    /// Last change sequence number handed out.
    pub(super) seq: u64,
    /// Per trusted peer: where our sync from it stands.
    pub(super) synced: HashMap<NodeId, u64>,
    /// Downloads waiting for providers.
    pub(super) watchers: HashMap<SwarmId, Vec<mpsc::Sender<Vec<SignedNodeRecord>>>>,
}

impl Tracker {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records that `node` provides `swarm` as of `seen_at`.
    pub(super) fn add_provider(
        &mut self,
        swarm: SwarmId,
        node: NodeId,
        seen_at: u64,
        max_swarms: usize,
    ) -> bool {
        if !self.providers.contains_key(&swarm) && self.providers.len() >= max_swarms {
            // Full: forget the swarm heard of least recently.
            let oldest = self
                .providers
                .iter()
                .map(|(s, p)| (*s, p.nodes.values().map(|(t, _)| *t).max().unwrap_or(0)))
                .min_by_key(|(_, t)| *t)
                .map(|(s, _)| s);
            if let Some(s) = oldest {
                self.providers.remove(&s);
            }
        }
        let seq = self.seq + 1;
        let p = self.providers.entry(swarm).or_default();
        match p.nodes.get(&node) {
            Some((t, _)) if *t >= seen_at => return false,
            _ => {}
        }
        if !p.nodes.contains_key(&node) && p.nodes.len() >= MAX_PROVIDERS {
            if let Some(oldest) = p.nodes.iter().min_by_key(|(_, (t, _))| *t).map(|(n, _)| *n) {
                p.nodes.remove(&oldest);
            }
        }
        p.nodes.insert(node, (seen_at, seq));
        self.seq = seq;
        true
    }

    /// Forgets providers not heard of for [`PROVIDER_TTL`].
    pub(crate) fn expire(&mut self, now: u64) {
        for p in self.providers.values_mut() {
            p.nodes.retain(|_, (t, _)| *t + PROVIDER_TTL > now);
        }
        self.providers.retain(|_, p| !p.nodes.is_empty());
        for w in self.watchers.values_mut() {
            w.retain(|tx| !tx.is_closed());
        }
        self.watchers.retain(|_, w| !w.is_empty());
    }

    /// Our swarms to announce to a peer (private ones only if trusted).
    pub(crate) fn announcement(&self, trusted: bool) -> Vec<SwarmId> {
        self.local
            .iter()
            .filter(|(_, private)| trusted || !**private)
            .map(|(s, _)| *s)
            .take(MAX_ANNOUNCE)
            .collect()
    }

    /// Changes after `since`, oldest first, at most one page.
    pub(super) fn changes_after(&self, since: u64) -> (Vec<(u64, SyncItem)>, bool) {
        let mut all: Vec<(u64, SyncItem)> = Vec::new();
        for (e, seq) in self.catalogue.values() {
            if *seq > since {
                all.push((*seq, SyncItem::Entry(e.clone())));
            }
        }
        for (swarm, p) in &self.providers {
            for (node, (seen_at, seq)) in &p.nodes {
                if *seq > since {
                    all.push((
                        *seq,
                        SyncItem::Provider {
                            swarm: *swarm,
                            node: *node,
                            seen_at: *seen_at,
                        },
                    ));
                }
            }
        }
        all.sort_by_key(|(s, _)| *s);
        let more = all.len() > MAX_SYNC_ITEMS;
        all.truncate(MAX_SYNC_ITEMS);
        (all, more)
    }

    /// Providers known for `swarm`.
    pub(crate) fn providers_of(&self, swarm: &SwarmId) -> Vec<NodeId> {
        self.providers
            .get(swarm)
            .map(|p| p.nodes.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The catalogue, newest first.
    pub(crate) fn catalogue(&self) -> Vec<SignedEntry> {
        let mut v: Vec<SignedEntry> = self.catalogue.values().map(|(e, _)| e.clone()).collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.entry.published_at));
        v
    }

    /// Adds a checked entry; true if it was new or newer.
    pub(super) fn add_entry(&mut self, e: SignedEntry, max: usize) -> bool {
        let id = e.entry.content;
        if let Some((held, _)) = self.catalogue.get(&id) {
            if held.entry.published_at >= e.entry.published_at {
                return false;
            }
        } else if self.catalogue.len() >= max {
            let oldest = self
                .catalogue
                .iter()
                .min_by_key(|(_, (e, _))| e.entry.published_at)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) if self.catalogue[&k].0.entry.published_at < e.entry.published_at => {
                    self.catalogue.remove(&k);
                }
                _ => return false,
            }
        }
        let seq = self.next_seq();
        self.catalogue.insert(id, (e, seq));
        true
    }

    /// A local swarm is provided (or, with `None`, no longer).
    pub(crate) fn set_local(&mut self, swarm: SwarmId, private: Option<bool>) {
        match private {
            Some(p) => {
                self.local.insert(swarm, p);
            }
            None => {
                self.local.remove(&swarm);
            }
        }
    }

    /// A download wants providers of `swarm`.
    pub(crate) fn watch(&mut self, swarm: SwarmId, tx: mpsc::Sender<Vec<SignedNodeRecord>>) {
        self.watchers.entry(swarm).or_default().push(tx);
    }

    /// Whether the swarm is one of ours.
    pub(crate) fn is_local(&self, swarm: &SwarmId) -> bool {
        self.local.contains_key(swarm)
    }

    /// Where sync from `peer` stands.
    pub(crate) fn synced_from(&self, peer: &NodeId) -> u64 {
        self.synced.get(peer).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_proto::Keypair;

    fn node(n: u8) -> NodeId {
        Keypair::from_seed(&[n; 32]).id()
    }

    #[test]
    fn providers_are_bounded_and_expire() {
        let mut t = Tracker::default();
        let s = SwarmId([1; 32]);
        for n in 0..40u8 {
            t.add_provider(s, node(n), 100 + u64::from(n), 10);
        }
        assert_eq!(
            t.providers_of(&s).len(),
            MAX_PROVIDERS,
            "the least recently heard are dropped"
        );
        assert!(
            !t.add_provider(s, node(39), 50, 10),
            "older news changes nothing"
        );
        for i in 0..20u8 {
            t.add_provider(SwarmId([i + 10; 32]), node(1), 1000 + u64::from(i), 10);
        }
        assert!(t.providers.len() <= 10);
        t.expire(100_000);
        assert!(t.providers.is_empty());
    }

    #[test]
    fn sync_pages_follow_the_change_sequence() {
        let mut t = Tracker::default();
        for i in 0..40u8 {
            t.add_provider(SwarmId([i; 32]), node(1), 10, 100);
        }
        let (page, more) = t.changes_after(0);
        assert_eq!(page.len(), MAX_SYNC_ITEMS);
        assert!(more);
        let next = page.last().unwrap().0;
        let (rest, _) = t.changes_after(next);
        assert!(rest.iter().all(|(s, _)| *s > next));
        let (none, more) = t.changes_after(t.seq);
        assert!(none.is_empty() && !more);
        // A refresh moves an item to the end of the sequence.
        t.add_provider(SwarmId([0; 32]), node(1), 20, 100);
        let (latest, _) = t.changes_after(t.seq - 1);
        assert!(
            matches!(&latest[0].1, SyncItem::Provider { swarm, seen_at: 20, .. } if *swarm == SwarmId([0; 32]))
        );
    }

    #[test]
    fn private_swarms_are_announced_to_trusted_peers_only() {
        let mut t = Tracker::default();
        t.set_local(SwarmId([1; 32]), Some(false));
        t.set_local(SwarmId([2; 32]), Some(true));
        assert_eq!(t.announcement(false), vec![SwarmId([1; 32])]);
        assert_eq!(t.announcement(true).len(), 2);
    }
}
