//! The node task: owns the peer table, the connection registry, trust,
//! bans and dial state. Everything else talks to it through its two inboxes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval};
use tokio_util::task::TaskTracker;
use warren_proto::msg::{CloseReason, MAX_PEERS_PER_MESSAGE, PeerMsg};
use warren_proto::tracker::TrackerMsg;
use warren_proto::{BoundedVec, NodeId, PeerAddr, Role, SignedNodeRecord, TransportHint, Verified};

use super::commands::NodeCmd;
use super::dial::DialState;
use super::peers::PeerTable;
use super::persist::TrustEntry;
use crate::config::PeersConfig;
use crate::conn::{Admission, NodeEvent};
use crate::conn::{ConnCtx, ConnHandle, Direction, Ended};
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::store::StoreWriter;

/// A live, admitted connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) handle: ConnHandle,
    pub(crate) next_pex: Instant,
}

/// The node task's state.
pub(crate) struct Actor {
    pub(crate) ctx: Arc<ConnCtx>,
    pub(crate) cfg: PeersConfig,
    pub(crate) identity: Identity,
    pub(crate) role: Role,
    pub(crate) hints: Vec<TransportHint>,
    pub(crate) own_tx: watch::Sender<SignedNodeRecord>,
    pub(crate) busy_tx: watch::Sender<Arc<Vec<SignedNodeRecord>>>,
    /// Tells the inbound tasks who is trusted (see `ConnCtx::trusted`).
    pub(crate) trusted_tx: watch::Sender<Arc<HashSet<NodeId>>>,
    /// The peers with a live connection, for the services above.
    pub(crate) connected_tx: watch::Sender<Arc<Vec<super::ConnectedPeer>>>,
    pub(crate) peers: PeerTable,
    pub(crate) conns: HashMap<NodeId, Conn>,
    pub(crate) dialing: HashSet<NodeId>,
    pub(crate) dial_state: HashMap<NodeId, DialState>,
    pub(crate) seeds: Vec<PeerAddr>,
    pub(crate) trust: HashMap<NodeId, TrustEntry>,
    pub(crate) bans: HashMap<NodeId, Instant>,
    pub(crate) push: Vec<(SignedNodeRecord, NodeId)>,
    pub(crate) store: StoreWriter,
    pub(crate) tasks: TaskTracker,
    pub(crate) started: Instant,
    /// Where the tracker channel's messages go (the files service's
    /// tracker); none: dropped.
    pub(crate) tracker: Option<mpsc::Sender<super::PeerMessage>>,
    /// The store writer's counters, for `status`.
    pub(crate) store_counters: Arc<crate::store::StoreCounters>,
}

impl Actor {
    pub(crate) fn own_id(&self) -> NodeId {
        self.identity.keypair.id()
    }

    pub(crate) fn now_unix(&self) -> u64 {
        self.ctx.clock.unix_now()
    }

    pub(crate) fn banned(&self, id: &NodeId) -> bool {
        self.bans
            .get(id)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Runs until shutdown. Control commands and the maintenance tick are
    /// served before peer events, so a flood of events cannot starve them.
    pub(crate) async fn run(
        mut self,
        mut cmds: mpsc::Receiver<NodeCmd>,
        mut events: mpsc::Receiver<NodeEvent>,
    ) {
        let mut tick = interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        let shutdown = self.ctx.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(cmd) = cmds.recv() => self.on_cmd(cmd).await,
                _ = tick.tick() => {
                    self.on_tick(ticks).await;
                    ticks += 1;
                }
                Some(ev) = events.recv() => self.on_event(ev).await,
            }
        }
        for c in self.conns.values() {
            c.handle.close(CloseReason::Shutdown);
        }
        self.persist_connected_times().await;
    }

    async fn on_event(&mut self, ev: NodeEvent) {
        match ev {
            NodeEvent::Connected {
                handle,
                record,
                reply,
            } => {
                let answer = self.admit(handle, *record).await;
                let _ = reply.send(answer);
            }
            NodeEvent::Disconnected {
                conn_id,
                peer,
                ended,
            } => {
                if self
                    .conns
                    .get(&peer)
                    .is_some_and(|c| c.handle.conn_id == conn_id)
                {
                    self.conns.remove(&peer);
                    self.publish_connected();
                    tracing::info!(peer = %peer.short(), ?ended, "peer disconnected");
                    if crate::conn::is_failure(&ended) {
                        self.dial_failed(peer, describe(&ended));
                    } else {
                        self.dial_rest(peer);
                    }
                }
            }
            NodeEvent::DialFailed { target, error } => {
                self.dialing.remove(&target);
                self.dial_failed(target, error);
            }
            NodeEvent::Records { from, records } => {
                for r in records {
                    self.learn(r, Some(from)).await;
                }
            }
            NodeEvent::GetPeers { conn, max } => {
                let max = usize::from(max).min(MAX_PEERS_PER_MESSAGE);
                let sample = self.peers.sample(max, Some(conn.peer), self.now_unix());
                let msg = PeerMsg::Peers {
                    records: BoundedVec::truncating(sample),
                };
                if conn.send_peers(msg).is_err() {
                    Metrics::inc(&self.ctx.metrics.net.outbox_drops);
                }
            }
            NodeEvent::Misbehaved { peer } => self.ban(peer).await,
            // The connection layer forwards the tracker channel only.
            NodeEvent::Message { conn, msg } => {
                if let warren_proto::msg::Message::Tracker(msg) = *msg {
                    self.forward_tracker(&conn, msg);
                }
            }
        }
    }

    /// Decides whether to keep a freshly authenticated connection.
    async fn admit(&mut self, handle: ConnHandle, record: Verified) -> Admission {
        let peer = handle.peer;
        if handle.direction == Direction::Outbound {
            self.dialing.remove(&peer);
        }
        if self.banned(&peer) {
            return Admission::Refuse(CloseReason::Misbehaving);
        }
        if let Some(existing) = self.conns.get(&peer) {
            // Two connections to one peer: both sides keep the one dialed
            // by the smaller id, so they agree without talking.
            if self.preferred(peer, handle.direction)
                && !self.preferred(peer, existing.handle.direction)
            {
                existing.handle.close(CloseReason::Duplicate);
            } else {
                return Admission::Refuse(CloseReason::Duplicate);
            }
        }
        tracing::info!(peer = %peer.short(), direction = ?handle.direction, "peer connected");
        if handle
            .send_peers(PeerMsg::GetPeers {
                max: MAX_PEERS_PER_MESSAGE as u8,
            })
            .is_err()
        {
            Metrics::inc(&self.ctx.metrics.net.outbox_drops);
        }
        let pex = self
            .cfg
            .discovery
            .pex_interval()
            .mul_f64(0.75 + fastrand::f64() / 2.0);
        self.conns.insert(
            peer,
            Conn {
                handle,
                next_pex: Instant::now() + pex,
            },
        );
        self.dial_state.remove(&peer);
        self.learn(record, Some(peer)).await;
        if let Some(e) = self.peers.get_mut(&peer) {
            e.last_connected = Some(self.ctx.clock.unix_now());
        }
        self.persist_connected(peer).await;
        self.publish_connected();
        Admission::Admit
    }

    /// Tells the services the peers connected now (sorted by id).
    pub(crate) fn publish_connected(&self) {
        let mut now: Vec<super::ConnectedPeer> = self
            .conns
            .values()
            .map(|c| self.connected_peer(&c.handle))
            .collect();
        now.sort_by_key(|p| *p.id.as_bytes());
        self.connected_tx.send_if_modified(|old| {
            if **old == now {
                return false;
            }
            *old = Arc::new(now);
            true
        });
    }

    /// How services see an admitted connection.
    fn connected_peer(&self, conn: &ConnHandle) -> super::ConnectedPeer {
        super::ConnectedPeer {
            id: conn.peer,
            direction: conn.direction,
            trusted: self.trust.contains_key(&conn.peer),
            role: self
                .peers
                .get(&conn.peer)
                .map_or(Role::Member, |e| e.record.get().record.role),
            conn: conn.clone(),
        }
    }

    /// Hands a tracker message from an admitted connection to the tracker
    /// (never waits: a full inbox drops it, counted in `inbox_drops`).
    fn forward_tracker(&self, conn: &ConnHandle, msg: TrackerMsg) {
        let Some(sink) = &self.tracker else { return };
        let admitted = self
            .conns
            .get(&conn.peer)
            .is_some_and(|c| c.handle.conn_id == conn.conn_id);
        if !admitted {
            return;
        }
        let from = self.connected_peer(conn);
        if sink.try_send(super::PeerMessage { from, msg }).is_err() {
            Metrics::inc(&self.ctx.metrics.net.inbox_drops);
        }
    }

    /// Whether a connection to `peer` in `direction` is the one both sides
    /// keep: the one dialed by the smaller id.
    fn preferred(&self, peer: NodeId, direction: Direction) -> bool {
        let own = self.own_id();
        let dialer = if direction == Direction::Outbound {
            own
        } else {
            peer
        };
        dialer == own.min(peer)
    }
}

fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Local(r) => format!("closed by us: {r:?}"),
        Ended::Remote(r) => format!("closed by peer: {r:?}"),
        Ended::Eof => "connection lost".into(),
        Ended::Error(e) => format!("error: {e}"),
    }
}
