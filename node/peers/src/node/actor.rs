//! The node task: owns the peer table, the connection registry, trust,
//! bans and dial state. Everything else talks to it through its two inboxes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval};
use tokio_util::task::TaskTracker;
use warren_proto::msg::{CloseReason, MAX_PEERS_PER_MESSAGE, PeerMsg};
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
    pub(crate) tracker: super::tracker::Tracker,
    /// Where trusted boxes' mirror requests go (the files service).
    pub(crate) mirrors: Option<Arc<dyn super::MirrorRequests>>,
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
                    Metrics::inc(&self.ctx.metrics.outbox_drops);
                }
            }
            NodeEvent::Misbehaved { peer } => self.ban(peer).await,
            // The connection layer forwards the tracker channel only.
            NodeEvent::Message { conn, msg } => {
                if let warren_proto::msg::Message::Tracker(msg) = *msg {
                    self.on_tracker(conn, msg).await
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
            Metrics::inc(&self.ctx.metrics.outbox_drops);
        }
        let pex = self
            .cfg
            .discovery
            .pex_interval()
            .mul_f64(0.75 + fastrand::f64() / 2.0);
        self.announce_to(&handle);
        self.catalogue_to(&handle);
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
            .iter()
            .map(|(id, c)| super::ConnectedPeer {
                id: *id,
                direction: c.handle.direction,
                trusted: self.trust.contains_key(id),
                role: self
                    .peers
                    .get(id)
                    .map_or(Role::Member, |e| e.record.get().record.role),
            })
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
