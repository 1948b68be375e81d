//! The tracker task: answers and learns from the tracker channel, serves
//! the files service's commands, and keeps its state fresh (expiry,
//! re-announcing, syncing with trusted peers).
//!
//! It waits on the peer layer only for records (`NodeHandle::records`,
//! `learn`, `address_of`); the peer layer never waits on it, and mirror
//! requests are handed to the files registry without waiting, so no two
//! tasks wait on each other.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};
use warren_peers::{ConnectedPeer, NodeHandle, PeerMessage};
use warren_proto::content::SwarmId;
use warren_proto::msg::Message;
use warren_proto::tracker::{MAX_PROVIDERS, SignedEntry, SyncItem, TrackerMsg};
use warren_proto::{BoundedVec, NodeId, Role, SignedNodeRecord};

use super::state::Tracker;
use super::{Cmd, Pending, Setup};
use crate::conn::{ConnCtx, ConnHandle};
use crate::metrics::Metrics;

/// Seconds between re-announcements of our own swarms.
pub(super) const ANNOUNCE_EVERY: u64 = 300;
/// Seconds between sync requests to each trusted peer.
pub(super) const SYNC_EVERY: u64 = 10;
/// Seconds between expiries of providers not heard of.
const EXPIRE_EVERY: u64 = 60;

struct Task {
    state: Tracker,
    peers: NodeHandle,
    ctx: Arc<ConnCtx>,
    files: crate::FilesHandle,
    max_swarms: usize,
    max_entries: usize,
    /// The peers connected now, as last seen.
    conns: Arc<Vec<ConnectedPeer>>,
    /// Their connections' ids: a new one is announced to.
    seen: HashSet<u64>,
}

/// Runs the tracker until the node shuts down.
pub async fn run(pending: Pending, setup: Setup) {
    let Pending {
        mut cmds,
        mut peer_rx,
        peer_tx,
    } = pending;
    // Only the peer layer sends peer messages.
    drop(peer_tx);
    let mut connected = setup.peers.connected();
    let mut task = Task {
        state: Tracker::default(),
        peers: setup.peers,
        ctx: setup.ctx,
        files: setup.files,
        max_swarms: setup.max_swarms,
        max_entries: setup.max_entries,
        conns: Arc::default(),
        seen: HashSet::new(),
    };
    let shutdown = task.ctx.shutdown.clone();
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    task.on_connected(connected.borrow_and_update().clone());
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(cmd) = cmds.recv() => task.on_cmd(cmd).await,
            Ok(()) = connected.changed() => {
                let now = connected.borrow_and_update().clone();
                task.on_connected(now);
            }
            _ = tick.tick() => {
                task.on_tick(ticks);
                ticks += 1;
            }
            Some(m) = peer_rx.recv() => task.on_message(m).await,
        }
    }
}

/// Sends one tracker message on a peer connection; whether it was queued
/// (a full outbox or a closed connection drops it).
fn send(conn: &ConnHandle, msg: TrackerMsg) -> bool {
    conn.send(Message::Tracker(msg)).is_ok()
}

/// Answers a peer's request; one dropped is counted (`outbox_drops`).
fn answer(m: &Metrics, conn: &ConnHandle, msg: TrackerMsg) {
    if !send(conn, msg) {
        Metrics::inc(&m.net.outbox_drops);
    }
}

impl Task {
    fn own_id(&self) -> NodeId {
        self.ctx.keypair.id()
    }

    fn now(&self) -> u64 {
        self.ctx.clock.unix_now()
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Provide(swarm, private) => {
                self.state.set_local(swarm, private);
                let Some(private) = private else { return };
                for p in self.conns.iter().filter(|p| !private || p.trusted) {
                    let msg = TrackerMsg::Announce {
                        swarms: BoundedVec::truncating([swarm]),
                    };
                    send(&p.conn, msg);
                }
            }
            Cmd::Publish(entry) => match SignedEntry::sign(entry, &self.ctx.keypair) {
                Ok(signed) => self.on_publish(signed, None),
                Err(e) => tracing::warn!(error = %e, "catalogue entry not signed"),
            },
            Cmd::WhoHas(swarm, private, tx) => self.who_has(swarm, private, tx).await,
            Cmd::Catalogue(reply) => {
                let _ = reply.send(self.state.catalogue());
            }
            Cmd::AskMirror(swarm, size, reply) => {
                let _ = reply.send(self.ask_mirror(swarm, size));
            }
            Cmd::Ping(reply) => {
                let _ = reply.send(());
            }
        }
    }

    /// The connected peers changed: new connections hear our swarms and
    /// our public shares.
    fn on_connected(&mut self, now: Arc<Vec<ConnectedPeer>>) {
        for p in now.iter().filter(|p| !self.seen.contains(&p.conn.conn_id)) {
            self.announce_to(p);
            self.catalogue_to(&p.conn);
        }
        self.seen = now.iter().map(|p| p.conn.conn_id).collect();
        self.conns = now;
    }

    /// Periodic work: expiry, re-announcing, syncing with trusted peers.
    fn on_tick(&mut self, tick: u64) {
        if tick % EXPIRE_EVERY == 0 {
            let now = self.now();
            self.state.expire(now);
        }
        if tick % ANNOUNCE_EVERY == 0 {
            for p in self.conns.iter() {
                self.announce_to(p);
            }
        }
        if tick % SYNC_EVERY == 0 {
            for p in self.conns.iter().filter(|p| p.trusted) {
                let since = self.state.synced_from(&p.id);
                send(&p.conn, TrackerMsg::SyncGet { since });
            }
        }
    }

    /// Handles a tracker message from a peer connection.
    async fn on_message(&mut self, m: PeerMessage) {
        let PeerMessage { from, msg } = m;
        let metrics = Arc::clone(&self.ctx.metrics);
        let now = self.now();
        match msg {
            TrackerMsg::Announce { swarms } => {
                for s in swarms.into_vec() {
                    if self.state.add_provider(s, from.id, now, self.max_swarms) {
                        self.notify_watchers(&s).await;
                    }
                }
            }
            TrackerMsg::WhoHas { swarm } => {
                let providers = BoundedVec::truncating(self.provider_records(&swarm).await);
                answer(
                    &metrics,
                    &from.conn,
                    TrackerMsg::Providers { swarm, providers },
                );
            }
            TrackerMsg::Providers { swarm, providers } => {
                let good = self
                    .peers
                    .learn(providers.into_vec(), from.id)
                    .await
                    .unwrap_or_default();
                let mut learned = false;
                for id in good {
                    learned |= self.state.add_provider(swarm, id, now, self.max_swarms);
                }
                if learned {
                    self.notify_watchers(&swarm).await;
                }
            }
            TrackerMsg::Publish { entry } => self.on_publish(entry, Some(from.id)),
            TrackerMsg::SyncGet { since } => {
                if !from.trusted {
                    metrics.reject("sync_from_untrusted");
                    return;
                }
                let (items, more) = self.state.changes_after(since);
                let next = items
                    .last()
                    .map(|(s, _)| *s)
                    .unwrap_or(since.min(self.state.seq));
                let items = BoundedVec::truncating(items.into_iter().map(|(_, i)| i));
                answer(
                    &metrics,
                    &from.conn,
                    TrackerMsg::SyncPage { items, next, more },
                );
            }
            TrackerMsg::SyncPage { items, next, more } => {
                if !from.trusted {
                    metrics.reject("sync_from_untrusted");
                    return;
                }
                for item in items.into_vec() {
                    self.on_sync_item(item, now).await;
                }
                self.state.synced.insert(from.id, next);
                if more {
                    answer(&metrics, &from.conn, TrackerMsg::SyncGet { since: next });
                }
            }
            TrackerMsg::Mirror { swarm, size } => {
                if !from.trusted {
                    metrics.reject("mirror_from_untrusted");
                    return;
                }
                match self.peers.address_of(from.id).await {
                    Ok(Some(at)) => self.files.mirror_request(at, swarm, size),
                    Ok(None) => metrics.reject("mirror_from_unreachable"),
                    Err(_) => {}
                }
            }
        }
    }

    /// One item of a trusted peer's sync page.
    async fn on_sync_item(&mut self, item: SyncItem, now: u64) {
        match item {
            SyncItem::Entry(e) => {
                // Not passed on unasked: mirrors learn it by syncing.
                if e.verify().is_ok() {
                    self.state.add_entry(e, self.max_entries);
                } else {
                    self.ctx.metrics.reject("bad_catalogue_signature");
                }
            }
            SyncItem::Provider {
                swarm,
                node,
                seen_at,
            } => {
                if node != self.own_id()
                    && self
                        .state
                        .add_provider(swarm, node, seen_at.min(now), self.max_swarms)
                {
                    Metrics::inc(&self.files.counters().tracker.tracker_synced_providers);
                    self.notify_watchers(&swarm).await;
                }
            }
        }
    }

    /// A public share to add to the catalogue and pass on (from a peer, or
    /// ours with `from` = `None`).
    fn on_publish(&mut self, entry: SignedEntry, from: Option<NodeId>) {
        if entry.verify().is_err() {
            self.ctx.metrics.reject("bad_catalogue_signature");
            return;
        }
        if !self.state.add_entry(entry.clone(), self.max_entries) {
            return;
        }
        let publisher = entry.entry.publisher;
        for p in self
            .conns
            .iter()
            .filter(|p| Some(p.id) != from && p.id != publisher)
        {
            let msg = TrackerMsg::Publish {
                entry: entry.clone(),
            };
            send(&p.conn, msg);
        }
    }

    /// Records of the providers of `swarm` we can vouch for (ours included).
    async fn provider_records(&self, swarm: &SwarmId) -> Vec<SignedNodeRecord> {
        let mut ids = Vec::new();
        if self.state.is_local(swarm) {
            ids.push(self.own_id());
        }
        ids.extend(self.state.providers_of(swarm));
        let mut out = self.peers.records(ids).await.unwrap_or_default();
        out.truncate(MAX_PROVIDERS);
        out
    }

    async fn notify_watchers(&mut self, swarm: &SwarmId) {
        if !self.state.watchers.contains_key(swarm) {
            return;
        }
        let records = self.provider_records(swarm).await;
        if let Some(ws) = self.state.watchers.get_mut(swarm) {
            ws.retain(|tx| !tx.is_closed());
            for tx in ws.iter() {
                // Full: the download asks again on its own schedule.
                let _ = tx.try_send(records.clone());
            }
        }
    }

    /// Asks the connected trusted boxes to mirror `swarm`; the ones asked.
    fn ask_mirror(&self, swarm: SwarmId, size: u64) -> Vec<NodeId> {
        self.conns
            .iter()
            .filter(|p| p.role == Role::Box && p.trusted)
            .filter(|p| send(&p.conn, TrackerMsg::Mirror { swarm, size }))
            .map(|p| p.id)
            .collect()
    }

    /// Announces our swarms to one connection (private ones if trusted).
    fn announce_to(&self, p: &ConnectedPeer) {
        let swarms = self.state.announcement(p.trusted);
        if !swarms.is_empty() {
            let swarms = BoundedVec::truncating(swarms);
            send(&p.conn, TrackerMsg::Announce { swarms });
        }
    }

    /// Sends every public catalogue entry we published to a connection.
    fn catalogue_to(&self, conn: &ConnHandle) {
        let own = self.own_id();
        for entry in self
            .state
            .catalogue()
            .into_iter()
            .filter(|e| e.entry.publisher == own)
        {
            send(conn, TrackerMsg::Publish { entry });
        }
    }

    /// Asks connected peers who has `swarm` (trusted ones only for private
    /// swarms) and registers `tx` for what they say.
    async fn who_has(
        &mut self,
        swarm: SwarmId,
        private: bool,
        tx: mpsc::Sender<Vec<SignedNodeRecord>>,
    ) {
        let known = self.provider_records(&swarm).await;
        if !known.is_empty() {
            let _ = tx.try_send(known);
        }
        self.state.watch(swarm, tx);
        for p in self.conns.iter().filter(|p| !private || p.trusted) {
            send(&p.conn, TrackerMsg::WhoHas { swarm });
        }
    }
}
