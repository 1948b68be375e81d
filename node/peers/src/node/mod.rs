//! The peer layer's node: the peer table, discovery and trust, run by one
//! task (`actor`), and the handle to talk to it.
//!
//! | task | owns | talks to |
//! |---|---|---|
//! | node (`actor`) | peer table, connections, trust, bans, dial state | everyone, never waits on a connection or a service |
//! | accept loop | the listener, three semaphores | spawns connection tasks |
//! | connection (one per peer) | stream, rate limiter, misbehaviour score | node (events), peer (frames) |
//! | dial (one per attempt) | the dial and handshake | becomes a connection task |
//! | store writer | the pending batch | redb |

mod actor;
mod commands;
mod dial;
mod maintain;
mod peers;
mod persist;
mod status;
pub mod trust;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warren_proto::service::ServiceName;
use warren_proto::tracker::TrackerMsg;
use warren_proto::{NodeId, PeerAddr, Role, Services, SignedNodeRecord};

pub use status::{ConnectedPeer, NoExtras, PeerInfo, PeerMetrics, SeedStatus, Status, TrustInfo};

use crate::clock::SharedClock;
use crate::config::PeersConfig;
use crate::conn::{ConnCtx, Router, ServiceConn};
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::store::{Db, StoreWriter, spawn_writer};
use crate::transport::Transport;
use crate::{Error, Result};
use actor::Actor;
use commands::NodeCmd;

/// Control commands queued for the node task. Full: the caller waits.
const COMMAND_QUEUE: usize = 16;

/// A message on a peer connection's tracker channel, with the connection
/// it came on (as [`NodeHandle::connected`] lists it, trust as of now).
#[derive(Debug)]
pub struct PeerMessage {
    /// The sender.
    pub from: ConnectedPeer,
    /// What it sent.
    pub msg: TrackerMsg,
}

/// Everything the peer layer needs to start.
pub struct NodeOptions {
    /// Its configuration sections.
    pub config: PeersConfig,
    /// `member` or `box`.
    pub role: Role,
    /// Nodes to contact first (this node's own address is skipped).
    pub bootstrap: Vec<PeerAddr>,
    /// The node's key and proof of work.
    pub identity: Identity,
    /// The database.
    pub db: Db,
    /// How to reach peers.
    pub transport: Arc<dyn Transport>,
    /// Wall time.
    pub clock: SharedClock,
    /// The services that take inbound connections opened for them, by
    /// purpose (peer connections are the node's own).
    pub router: Router,
    /// Where the tracker channel's messages from admitted connections go
    /// (the files service's tracker); none: dropped. Never waited on: a
    /// full queue drops the message (counted in `inbox_drops`).
    pub tracker: Option<mpsc::Sender<PeerMessage>>,
}

/// A running node.
pub struct Node {
    handle: NodeHandle,
    transport: Arc<dyn Transport>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    actor: JoinHandle<()>,
    store: JoinHandle<()>,
    store_writer: StoreWriter,
    ctx: Arc<ConnCtx>,
}

/// A cheap, cloneable handle for asking a running node things.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    id: NodeId,
    cmds: mpsc::Sender<NodeCmd>,
    shutdown: CancellationToken,
    conn: Arc<ConnCtx>,
    connected: watch::Receiver<Arc<Vec<ConnectedPeer>>>,
}

impl Node {
    /// Starts listening and every task; returns once the node is up.
    ///
    /// # Errors
    /// A bad `[community]` section ([`Error::ConfigValue`]), a transport
    /// that cannot listen, a store that cannot be read.
    pub async fn start(opts: NodeOptions) -> Result<Node> {
        let NodeOptions {
            config,
            role,
            bootstrap,
            identity,
            db,
            transport,
            clock,
            router,
            tracker,
        } = opts;
        config.validate()?;
        let policy = config.community.policy()?;
        let metrics = Arc::new(Metrics::default());
        let store_counters = Arc::new(crate::store::StoreCounters::default());
        let (listener, hints) = transport.listen().await?;
        let transport_handle = transport.clone();
        let mut services = Services::PEER_EXCHANGE;
        if role == Role::Box {
            services = services.with(Services::MAILBOX).with(Services::SEED);
        }
        let now = clock.unix_now();
        let own = identity.record(
            role,
            services,
            &hints,
            now,
            config.community.record_validity_secs,
        )?;
        let (own_tx, own_rx) = watch::channel(own);
        let (busy_tx, busy_rx) = watch::channel(Arc::new(Vec::new()));
        let (ev_tx, ev_rx) = mpsc::channel(config.limits.node_inbox);
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let (store, store_task) = spawn_writer(
            db.clone(),
            config.limits.store_queue,
            Duration::from_secs(config.store.commit_interval_secs),
            config.limits.store_max_pending,
            store_counters.clone(),
        );

        let (peers, stale) = persist::load_peers(&db, now, &policy, config.limits.max_known_peers)?;
        for key in stale {
            store.delete(crate::store::Table::Peers, key).await;
        }
        let trust = persist::load_trust(&db)?;
        let (trusted_tx, trusted_rx) = watch::channel(Arc::new(trust.keys().copied().collect()));
        let (connected_tx, connected_rx) = watch::channel(Arc::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let ctx = Arc::new(ConnCtx {
            router,
            keypair: identity.keypair.clone(),
            own_record: own_rx,
            busy_sample: busy_rx,
            trusted: trusted_rx,
            policy,
            clock,
            metrics,
            events: ev_tx,
            transport,
            config: config.conn_config(),
            shutdown: shutdown.clone(),
            next_conn_id: AtomicU64::new(1),
            extra: false,
        });
        let id = identity.keypair.id();
        let seeds: Vec<PeerAddr> = bootstrap.into_iter().filter(|a| a.id != id).collect();
        let shown: Vec<String> = hints
            .iter()
            .map(|h| PeerAddr::new(id, *h).to_string())
            .collect();
        tracing::info!(id = %id, addresses = ?shown, known = peers.len(), trusted = trust.len(), "node starting");
        let actor = Actor {
            ctx: ctx.clone(),
            cfg: config,
            identity,
            role,
            hints,
            own_tx,
            busy_tx,
            trusted_tx,
            connected_tx,
            peers,
            conns: HashMap::new(),
            dialing: HashSet::new(),
            dial_state: HashMap::new(),
            seeds,
            trust,
            bans: HashMap::new(),
            push: Vec::new(),
            store: store.clone(),
            tasks: tasks.clone(),
            started: tokio::time::Instant::now(),
            tracker,
            store_counters,
        };
        tasks.spawn(crate::conn::accept_loop(
            listener,
            ctx.clone(),
            tasks.clone(),
        ));
        let actor = tokio::spawn(actor.run(cmd_rx, ev_rx));
        let handle = NodeHandle {
            id,
            cmds: cmd_tx,
            shutdown: shutdown.clone(),
            conn: ctx.clone(),
            connected: connected_rx,
        };
        Ok(Node {
            handle,
            transport: transport_handle,
            shutdown,
            tasks,
            actor,
            store: store_task,
            store_writer: store,
            ctx,
        })
    }

    /// A handle to this node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// The context its connections share: the services above dial and
    /// listen with it (and derive their own identities' from it).
    pub fn conn_ctx(&self) -> Arc<ConnCtx> {
        self.ctx.clone()
    }

    /// The store's writer, for the services that keep tables of their own.
    pub fn store(&self) -> StoreWriter {
        self.store_writer.clone()
    }

    /// Where the node's tasks run: a service's tasks spawned here are
    /// waited for by [`Node::shutdown`] before the store's last commit.
    pub fn tasks(&self) -> TaskTracker {
        self.tasks.clone()
    }

    /// Resolves when something asked the node to stop.
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await
    }

    /// Stops the node: closes every connection (telling peers why), waits for
    /// tasks to end (at most 5 s), and commits what the store holds.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.transport.shutdown();
        let _ = self.actor.await;
        self.tasks.close();
        if tokio::time::timeout(Duration::from_secs(5), self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connection tasks did not end within 5 s");
        }
        drop(self.store_writer);
        let _ = self.store.await;
        tracing::info!("node stopped");
    }
}

impl NodeHandle {
    /// The node's identity.
    pub fn id(&self) -> NodeId {
        self.id
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> NodeCmd) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(make(tx))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)
    }

    /// The node at a glance.
    pub async fn status(&self) -> Result<Status> {
        self.ask(NodeCmd::Status).await
    }

    /// Tests: makes the node task hang for `d`.
    #[cfg(any(test, feature = "test-hooks"))]
    pub async fn stall(&self, d: Duration) {
        let _ = self.cmds.send(NodeCmd::Stall(d)).await;
    }

    /// The peers with a live connection, sorted by id, as a watch: a
    /// service (chat delivering while both ends are online, say) waits for
    /// `changed()` and reads the list. Updated when a connection is
    /// admitted or ends and when trust changes; the latest list only, so it
    /// never queues.
    pub fn connected(&self) -> watch::Receiver<Arc<Vec<ConnectedPeer>>> {
        self.connected.clone()
    }

    /// Every known node.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>> {
        self.ask(NodeCmd::Peers).await
    }

    /// Trusts `addr`: keeps it, dials it, never evicts it.
    pub async fn trust_add(&self, addr: PeerAddr) -> Result<TrustInfo> {
        self.ask(|tx| NodeCmd::TrustAdd(addr, tx)).await?
    }

    /// Stops trusting `id`; whether it was trusted.
    pub async fn trust_remove(&self, id: NodeId) -> Result<bool> {
        self.ask(|tx| NodeCmd::TrustRemove(id, tx)).await?
    }

    /// The trusted nodes.
    pub async fn trust_list(&self) -> Result<Vec<TrustInfo>> {
        self.ask(NodeCmd::TrustList).await
    }

    /// Relaunches the onion service; false when the transport has none.
    pub async fn relaunch(&self) -> Result<bool> {
        self.ask(NodeCmd::Relaunch).await
    }

    /// The live records (not expired) of those of `ids` this node knows,
    /// its own included when named; in the order of `ids`.
    pub async fn records(&self, ids: Vec<NodeId>) -> Result<Vec<SignedNodeRecord>> {
        self.ask(|tx| NodeCmd::Records(ids, tx)).await
    }

    /// Checks `records` (heard from `from`) against the community's policy
    /// and takes the good ones into the peer table, as peer exchange does;
    /// the ids of the good ones, this node's own left out. A bad record is
    /// counted in `records_rejected` and under its reason.
    pub async fn learn(&self, records: Vec<SignedNodeRecord>, from: NodeId) -> Result<Vec<NodeId>> {
        self.ask(|tx| NodeCmd::Learn(records, from, tx)).await
    }

    /// An address this node can dial `id` at: the trusted one, else the
    /// first hint of its record the transport can dial.
    pub async fn address_of(&self, id: NodeId) -> Result<Option<PeerAddr>> {
        self.ask(|tx| NodeCmd::AddressOf(id, tx)).await
    }

    /// Opens a connection for `service` to the node at `addr`, on a path
    /// of its own (its own Tor circuit).
    ///
    /// # Errors
    /// [`Error::Connection`]: the dial or the handshake failed (a node
    /// older than protocol version 4 refuses the handshake). A node that
    /// does not offer the service closes the connection at once: the
    /// first [`ServiceConn::recv`] returns `None`.
    pub async fn dial_service(&self, addr: &PeerAddr, service: ServiceName) -> Result<ServiceConn> {
        Ok(crate::conn::dial_service(addr, service, &self.conn).await?)
    }

    /// Asks the node to stop (the owner of [`Node`] completes the shutdown).
    pub fn request_shutdown(&self) {
        self.shutdown.cancel();
    }
}
