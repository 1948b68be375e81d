//! Every node a tracker: who provides which swarm, the catalogue of public
//! shares, and incremental mirroring of both between trusted nodes.
//!
//! Owned by the node task (it needs the peer table, trust and the
//! connections). Bounded: at most `limits.tracker_swarms` swarms with at
//! most [`MAX_PROVIDERS`] providers each (the longest unheard goes first),
//! and at most `limits.catalogue_entries` entries (the oldest goes first).
//!
//! Private swarms: their ids are secrets (only link holders can compute
//! them), so a node announces its private swarms to trusted peers only, and
//! mirrors (sync) to trusted peers only. Anyone who names a swarm in
//! `WhoHas` already knows it, so answering is safe.

use std::collections::HashMap;

use tokio::sync::mpsc;
use warren_proto::content::{ContentId, SwarmId};
use warren_proto::tracker::{
    MAX_ANNOUNCE, MAX_PROVIDERS, MAX_SYNC_ITEMS, SignedEntry, SyncItem, TrackerMsg,
};
use warren_proto::{BoundedVec, NodeId, PeerAddr, SignedNodeRecord};

use super::actor::Actor;

/// Where a trusted box's request to mirror a swarm goes: the files
/// service, which decides whether to keep a copy.
pub trait MirrorRequests: Send + Sync + std::fmt::Debug + 'static {
    /// `from` (a trusted node, reachable at that address) asks this node
    /// to keep a copy of `swarm`, `size` bytes. Never waits: a request
    /// that finds no room is dropped.
    fn mirror_request(&self, from: PeerAddr, swarm: SwarmId, size: u64);
}
use crate::conn::ConnHandle;
use crate::metrics::Metrics;

/// Providers not heard of for this long are forgotten, seconds.
const PROVIDER_TTL: u64 = 3600;
/// Seconds between re-announcements of our own swarms.
pub(crate) const ANNOUNCE_EVERY: u64 = 300;
/// Seconds between sync requests to each trusted peer.
pub(crate) const SYNC_EVERY: u64 = 10;
/// Provider updates queued per watching download. Full: dropped (the
/// download asks again later).
pub(crate) const WATCH_QUEUE: usize = 8;

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
    seq: u64,
    /// Per trusted peer: where our sync from it stands.
    synced: HashMap<NodeId, u64>,
    /// Downloads waiting for providers.
    watchers: HashMap<SwarmId, Vec<mpsc::Sender<Vec<SignedNodeRecord>>>>,
}

impl Tracker {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records that `node` provides `swarm` as of `seen_at`.
    fn add_provider(
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
    fn changes_after(&self, since: u64) -> (Vec<(u64, SyncItem)>, bool) {
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
    fn add_entry(&mut self, e: SignedEntry, max: usize) -> bool {
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

impl Actor {
    /// Handles a tracker message from a peer connection.
    pub(crate) async fn on_tracker(&mut self, conn: ConnHandle, msg: TrackerMsg) {
        let peer = conn.peer;
        let trusted = self.trust.contains_key(&peer);
        let now = self.now_unix();
        let max_swarms = self.cfg.limits.tracker_swarms;
        let m = std::sync::Arc::clone(&self.ctx.metrics);
        match msg {
            TrackerMsg::Announce { swarms } => {
                for s in swarms.into_vec() {
                    if self.tracker.add_provider(s, peer, now, max_swarms) {
                        self.notify_watchers(&s);
                    }
                }
            }
            TrackerMsg::WhoHas { swarm } => {
                let records = self.provider_records(&swarm);
                let reply = TrackerMsg::Providers {
                    swarm,
                    providers: BoundedVec::truncating(records),
                };
                if conn
                    .send(warren_proto::msg::Message::Tracker(reply))
                    .is_err()
                {
                    Metrics::inc(&m.outbox_drops);
                }
            }
            TrackerMsg::Providers { swarm, providers } => {
                let mut learned = false;
                for r in providers.into_vec() {
                    match r.verify(now, &self.ctx.policy) {
                        Ok(v) => {
                            let id = v.id();
                            if id != self.own_id() {
                                learned |= self.tracker.add_provider(swarm, id, now, max_swarms);
                                self.learn(v, Some(peer)).await;
                            }
                        }
                        Err(e) => {
                            Metrics::inc(&m.records_rejected);
                            m.reject(e.label());
                        }
                    }
                }
                if learned {
                    self.notify_watchers(&swarm);
                }
            }
            TrackerMsg::Publish { entry } => self.on_publish(entry, Some(peer)),
            TrackerMsg::SyncGet { since } => {
                if !trusted {
                    m.reject("sync_from_untrusted");
                    return;
                }
                let (items, more) = self.tracker.changes_after(since);
                let next = items
                    .last()
                    .map(|(s, _)| *s)
                    .unwrap_or(since.min(self.tracker.seq));
                let page = TrackerMsg::SyncPage {
                    items: BoundedVec::truncating(items.into_iter().map(|(_, i)| i)),
                    next,
                    more,
                };
                if conn
                    .send(warren_proto::msg::Message::Tracker(page))
                    .is_err()
                {
                    Metrics::inc(&m.outbox_drops);
                }
            }
            TrackerMsg::SyncPage { items, next, more } => {
                if !trusted {
                    m.reject("sync_from_untrusted");
                    return;
                }
                for item in items.into_vec() {
                    match item {
                        SyncItem::Entry(e) => {
                            // Not passed on unasked: mirrors learn it by syncing.
                            if e.verify().is_ok() {
                                let max = self.cfg.limits.catalogue_entries;
                                self.tracker.add_entry(e, max);
                            } else {
                                m.reject("bad_catalogue_signature");
                            }
                        }
                        SyncItem::Provider {
                            swarm,
                            node,
                            seen_at,
                        } => {
                            if node != self.own_id()
                                && self.tracker.add_provider(
                                    swarm,
                                    node,
                                    seen_at.min(now),
                                    max_swarms,
                                )
                            {
                                Metrics::inc(&m.tracker_synced_providers);
                                self.notify_watchers(&swarm);
                            }
                        }
                    }
                }
                self.tracker.synced.insert(peer, next);
                if more
                    && conn
                        .send(warren_proto::msg::Message::Tracker(TrackerMsg::SyncGet {
                            since: next,
                        }))
                        .is_err()
                {
                    Metrics::inc(&m.outbox_drops);
                }
            }
            TrackerMsg::Mirror { swarm, size } => {
                if !trusted {
                    m.reject("mirror_from_untrusted");
                    return;
                }
                let at = self.peers.get(&peer).and_then(|e| {
                    e.record
                        .get()
                        .record
                        .hints
                        .iter()
                        .find(|h| self.ctx.transport.can_dial(h))
                        .map(|h| PeerAddr::new(peer, *h))
                });
                match (&self.mirrors, at) {
                    (Some(mirrors), Some(at)) => mirrors.mirror_request(at, swarm, size),
                    (_, None) => m.reject("mirror_from_unreachable"),
                    _ => {}
                }
            }
        }
    }

    /// A public share to add to the catalogue and pass on (from a peer, or
    /// ours with `from` = `None`).
    pub(crate) fn on_publish(&mut self, entry: SignedEntry, from: Option<NodeId>) {
        if entry.verify().is_err() {
            self.ctx.metrics.reject("bad_catalogue_signature");
            return;
        }
        let max = self.cfg.limits.catalogue_entries;
        if !self.tracker.add_entry(entry.clone(), max) {
            return;
        }
        for (peer, c) in &self.conns {
            if Some(*peer) != from && *peer != entry.entry.publisher {
                let _ = c
                    .handle
                    .send(warren_proto::msg::Message::Tracker(TrackerMsg::Publish {
                        entry: entry.clone(),
                    }));
            }
        }
    }

    /// Records of the providers of `swarm` we can vouch for (ours included).
    fn provider_records(&self, swarm: &SwarmId) -> Vec<SignedNodeRecord> {
        let now = self.now_unix();
        let mut out = Vec::new();
        if self.tracker.is_local(swarm) {
            out.push(self.own_tx.borrow().clone());
        }
        for id in self.tracker.providers_of(swarm) {
            if let Some(e) = self.peers.get(&id) {
                if e.record.is_live(now) {
                    out.push(e.record.get().clone());
                }
            }
        }
        out.truncate(MAX_PROVIDERS);
        out
    }

    fn notify_watchers(&mut self, swarm: &SwarmId) {
        let records = self.provider_records(swarm);
        if let Some(ws) = self.tracker.watchers.get_mut(swarm) {
            ws.retain(|tx| !tx.is_closed());
            for tx in ws.iter() {
                // Full: the download asks again on its own schedule.
                let _ = tx.try_send(records.clone());
            }
        }
    }

    /// Asks the connected trusted boxes to mirror `swarm`; the ones asked.
    pub(crate) fn ask_mirror(&self, swarm: SwarmId, size: u64) -> Vec<NodeId> {
        let mut asked = Vec::new();
        for (peer, c) in &self.conns {
            let is_box = self
                .peers
                .get(peer)
                .is_some_and(|e| e.record.get().record.role == warren_proto::Role::Box);
            if is_box
                && self.trust.contains_key(peer)
                && c.handle
                    .send(warren_proto::msg::Message::Tracker(TrackerMsg::Mirror {
                        swarm,
                        size,
                    }))
                    .is_ok()
            {
                asked.push(*peer);
            }
        }
        asked
    }

    /// Announces our swarms to one connection.
    pub(crate) fn announce_to(&self, conn: &ConnHandle) {
        let trusted = self.trust.contains_key(&conn.peer);
        let swarms = self.tracker.announcement(trusted);
        if !swarms.is_empty() {
            let _ = conn.send(warren_proto::msg::Message::Tracker(TrackerMsg::Announce {
                swarms: BoundedVec::truncating(swarms),
            }));
        }
    }

    /// Sends every public catalogue entry we published to a connection.
    pub(crate) fn catalogue_to(&self, conn: &ConnHandle) {
        for e in self
            .tracker
            .catalogue()
            .into_iter()
            .filter(|e| e.entry.publisher == self.own_id())
        {
            let _ = conn.send(warren_proto::msg::Message::Tracker(TrackerMsg::Publish {
                entry: e,
            }));
        }
    }

    /// Asks connected peers who has `swarm` (trusted ones only for private
    /// swarms) and registers `tx` for what they say.
    pub(crate) fn who_has(
        &mut self,
        swarm: SwarmId,
        private: bool,
        tx: mpsc::Sender<Vec<SignedNodeRecord>>,
    ) {
        let known = self.provider_records(&swarm);
        if !known.is_empty() {
            let _ = tx.try_send(known);
        }
        self.tracker.watch(swarm, tx);
        for (peer, c) in &self.conns {
            if !private || self.trust.contains_key(peer) {
                let _ = c
                    .handle
                    .send(warren_proto::msg::Message::Tracker(TrackerMsg::WhoHas {
                        swarm,
                    }));
            }
        }
    }

    /// Periodic tracker work: expiry, re-announcing, syncing with trusted peers.
    pub(crate) fn tracker_tick(&mut self, tick: u64) {
        let now = self.now_unix();
        if tick % 60 == 0 {
            self.tracker.expire(now);
        }
        if tick % ANNOUNCE_EVERY == 0 {
            for c in self.conns.values() {
                self.announce_to(&c.handle);
            }
        }
        if tick % SYNC_EVERY == 0 {
            for (peer, c) in &self.conns {
                if self.trust.contains_key(peer) {
                    let since = self.tracker.synced_from(peer);
                    let _ =
                        c.handle
                            .send(warren_proto::msg::Message::Tracker(TrackerMsg::SyncGet {
                                since,
                            }));
                }
            }
        }
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
