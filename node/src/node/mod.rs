//! The node: starts every task, and the handle to talk to it.
//!
//! | task | owns | talks to |
//! |---|---|---|
//! | node (`actor`) | peer table, connections, trust, bans, dial state | everyone, never waits on a connection |
//! | accept loop | the listener, three semaphores | spawns connection tasks |
//! | connection (one per peer) | stream, rate limiter, misbehaviour score | node (events), peer (frames) |
//! | dial (one per attempt) | the dial and handshake | becomes a connection task |
//! | store writer | the pending batch | redb |
//! | control socket | client connections | node (commands) |

mod actor;
mod commands;
mod dial;
mod maintain;
mod peers;
mod persist;
mod status;
mod tracker;
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
use warren_proto::{NodeId, PeerAddr, Role, Services};

pub use status::{PeerInfo, SeedStatus, Status, TrustInfo};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::conn::{ConnCtx, ServiceConn, ServiceHandler};
use crate::identity::Identity;
use crate::metrics::Metrics;
use crate::store::{Db, spawn_writer};
use crate::transport::Transport;
use crate::{Error, Result};
use actor::Actor;
use commands::NodeCmd;

/// Control commands queued for the node task. Full: the caller waits.
const COMMAND_QUEUE: usize = 16;

/// Everything a node needs to start.
pub struct NodeOptions {
    /// Configuration (bootstrap addresses included).
    pub config: Config,
    /// The node's key and proof of work.
    pub identity: Identity,
    /// The database.
    pub db: Db,
    /// How to reach peers.
    pub transport: Arc<dyn Transport>,
    /// Wall time.
    pub clock: SharedClock,
    /// Where content mirrored for others is kept; none: no mirrors.
    pub mirror_dir: Option<std::path::PathBuf>,
    /// Services beyond the node's own, each under its name: the router
    /// hands each the inbound connections opened for it (see
    /// [`NodeHandle::dial_service`] for the dialing side).
    pub services: Vec<(ServiceName, Arc<dyn ServiceHandler>)>,
}

/// A running node.
pub struct Node {
    handle: NodeHandle,
    transport: Arc<dyn Transport>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    actor: JoinHandle<()>,
    store: JoinHandle<()>,
}

/// A cheap, cloneable handle for asking a running node things.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    id: NodeId,
    cmds: mpsc::Sender<NodeCmd>,
    shutdown: CancellationToken,
    keypair: Arc<warren_proto::Keypair>,
    conn: Arc<ConnCtx>,
    files: crate::files::FilesHandle,
    panel_url: Arc<std::sync::Mutex<Option<String>>>,
    board: Arc<std::sync::Mutex<Option<crate::device::DeviceHandle>>>,
    clock: SharedClock,
}

impl Node {
    /// Starts listening and every task; returns once the node is up.
    pub async fn start(opts: NodeOptions) -> Result<Node> {
        let NodeOptions {
            config,
            identity,
            db,
            transport,
            clock,
            mirror_dir,
            services: own_services,
        } = opts;
        config.validate()?;
        let policy = config.community.policy()?;
        let metrics = Arc::new(Metrics::default());
        // The gateway listens first: the C tor backend adds its port to the
        // onion service that `listen` launches.
        let web = match transport.host() {
            Some(host) if config.gateway.enabled => Some(host.listen_web().await?),
            _ => None,
        };
        let (listener, hints) = transport.listen().await?;
        let transport_handle = transport.clone();
        let role: Role = config.node.role.into();
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
            metrics.clone(),
        );

        let (peers, stale) = persist::load_peers(&db, now, &policy, config.limits.max_known_peers)?;
        for key in stale {
            store.delete(crate::store::Table::Peers, key).await;
        }
        let trust = persist::load_trust(&db)?;
        let (trusted_tx, trusted_rx) = watch::channel(Arc::new(trust.keys().copied().collect()));
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let (files, files_pending) = crate::files::handle(&config.files);
        let files_cfg = config.files.clone();
        let gateway_cfg = config.gateway.clone();
        let record_validity_secs = config.community.record_validity_secs;
        let files_for_web = files.clone();
        let gateway_base = web.as_ref().map(|(_, base)| base.clone());
        let mut router = crate::conn::Router::new().with(
            warren_proto::handshake::Purpose::Transfer,
            Arc::new(crate::files::upload::UploadService(files.clone())),
        );
        for (name, handler) in own_services {
            router = router.with_service(name, handler);
        }
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
        let seeds: Vec<PeerAddr> = config
            .bootstrap_addrs()?
            .into_iter()
            .filter(|a| a.id != id)
            .collect();
        let shown: Vec<String> = hints
            .iter()
            .map(|h| PeerAddr::new(id, *h).to_string())
            .collect();
        tracing::info!(id = %id, addresses = ?shown, known = peers.len(), trusted = trust.len(), "node starting");
        let identity_keypair = identity.keypair.clone();
        let store_for_files = store.clone();
        let files_ctx = ctx.clone();
        let actor = Actor {
            ctx: ctx.clone(),
            cfg: config,
            identity,
            role,
            hints,
            own_tx,
            busy_tx,
            trusted_tx,
            peers,
            conns: HashMap::new(),
            dialing: HashSet::new(),
            dial_state: HashMap::new(),
            seeds,
            trust,
            bans: HashMap::new(),
            push: Vec::new(),
            store,
            tasks: tasks.clone(),
            started: tokio::time::Instant::now(),
            tracker: tracker::Tracker::default(),
            gateway_base: gateway_base.clone(),
            files: Some(files.clone()),
        };
        tasks.spawn(crate::conn::accept_loop(listener, ctx, tasks.clone()));
        let actor = tokio::spawn(actor.run(cmd_rx, ev_rx));
        let handle = NodeHandle {
            id,
            cmds: cmd_tx,
            shutdown: shutdown.clone(),
            keypair: identity_keypair,
            conn: files_ctx.clone(),
            files: files.clone(),
            panel_url: Arc::default(),
            board: Arc::default(),
            clock: files_ctx.clock.clone(),
        };
        let registry = crate::files::Registry::new(
            files_cfg,
            crate::files::ExtraSetup {
                mirror_dir,
                gateway: gateway_cfg.clone(),
                record_validity_secs,
                tasks: tasks.clone(),
                gateway_base: gateway_base.clone(),
            },
            db,
            store_for_files,
            files_ctx,
            handle.clone(),
            files,
        )
        .map_err(|e| Error::Store(format!("files: {e}")))?;
        tasks.spawn(registry.run(files_pending));
        if let Some((web_listener, base)) = web {
            tracing::info!(url = %base, "web gateway listening");
            tasks.spawn(crate::gateway::serve(
                web_listener,
                files_for_web,
                gateway_cfg,
                shutdown.clone(),
                tasks.clone(),
            ));
        }
        Ok(Node {
            handle,
            transport: transport_handle,
            shutdown,
            tasks,
            actor,
            store: store_task,
        })
    }

    /// A handle to this node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
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
        let mut s: Status = self.ask(NodeCmd::Status).await?;
        s.panel_url = self.panel_url.lock().ok().and_then(|u| u.clone());
        s.board = self.board().map(|b| b.status());
        Ok(s)
    }

    /// Tests: makes the node task hang for `d`.
    #[cfg(test)]
    pub(crate) async fn stall(&self, d: Duration) {
        let _ = self.cmds.send(NodeCmd::Stall(d)).await;
    }

    /// Records the board actor driving this node's box (none: no board).
    pub fn set_board(&self, board: Option<crate::device::DeviceHandle>) {
        if let Ok(mut b) = self.board.lock() {
            *b = board;
        }
    }

    /// The board actor, if the node drives a board.
    pub fn board(&self) -> Option<crate::device::DeviceHandle> {
        self.board.lock().ok().and_then(|b| b.clone())
    }

    /// Records where the owner's panel answers on this machine.
    pub fn set_panel_url(&self, url: Option<String>) {
        if let Ok(mut u) = self.panel_url.lock() {
            *u = url;
        }
    }

    /// Every known node.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>> {
        self.ask(NodeCmd::Peers).await
    }

    /// Trusts `addr`: keeps it, dials it, never evicts it.
    pub async fn trust_add(&self, addr: PeerAddr) -> Result<TrustInfo> {
        self.ask(|tx| NodeCmd::TrustAdd(addr, tx))
            .await?
            .map_err(Error::Remote)
    }

    /// Stops trusting `id`; whether it was trusted.
    pub async fn trust_remove(&self, id: NodeId) -> Result<bool> {
        self.ask(|tx| NodeCmd::TrustRemove(id, tx))
            .await?
            .map_err(Error::Remote)
    }

    /// The trusted nodes.
    pub async fn trust_list(&self) -> Result<Vec<TrustInfo>> {
        self.ask(NodeCmd::TrustList).await
    }

    /// Relaunches the onion service; false when the transport has none.
    pub async fn relaunch(&self) -> Result<bool> {
        self.ask(NodeCmd::Relaunch).await
    }

    /// Announces (`Some(private)`) or withdraws (`None`) a swarm we provide.
    pub(crate) async fn provide(
        &self,
        swarm: warren_proto::content::SwarmId,
        private: Option<bool>,
    ) -> Result<()> {
        self.cmds
            .send(NodeCmd::Provide(swarm, private))
            .await
            .map_err(|_| Error::ShuttingDown)
    }

    /// Publishes a public share of ours to the catalogue.
    pub(crate) async fn publish(
        &self,
        content: warren_proto::content::ContentId,
        listing: &warren_proto::content::Listing,
        size: u64,
    ) -> Result<()> {
        use warren_proto::tracker::{CatalogueEntry, SignedEntry};
        let entry = CatalogueEntry {
            content,
            name: listing.name.clone(),
            size,
            files: listing.files.len() as u32,
            description: listing.description.clone(),
            tags: listing.tags.clone(),
            publisher: self.keypair.id(),
            published_at: self.clock.unix_now(),
        };
        let signed = SignedEntry::sign(entry, &self.keypair)?;
        self.cmds
            .send(NodeCmd::Publish(signed))
            .await
            .map_err(|_| Error::ShuttingDown)
    }

    /// Asks who provides `swarm` (trusted peers only when `private`); the
    /// receiver gets provider records as answers come in.
    pub(crate) async fn who_has(
        &self,
        swarm: warren_proto::content::SwarmId,
        private: bool,
    ) -> Result<mpsc::Receiver<Vec<warren_proto::SignedNodeRecord>>> {
        let (tx, rx) = mpsc::channel(tracker::WATCH_QUEUE);
        self.cmds
            .send(NodeCmd::WhoHas(swarm, private, tx))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        Ok(rx)
    }

    /// Asks the connected trusted boxes to mirror `swarm` (`size` bytes);
    /// the boxes asked.
    pub(crate) async fn ask_mirror(
        &self,
        swarm: warren_proto::content::SwarmId,
        size: u64,
    ) -> Result<Vec<NodeId>> {
        self.ask(|tx| NodeCmd::AskMirror(swarm, size, tx)).await
    }

    /// The catalogue of public shares this node knows.
    pub async fn catalogue(&self) -> Result<Vec<warren_proto::tracker::SignedEntry>> {
        self.ask(NodeCmd::Catalogue).await
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

    /// The files service.
    pub fn files(&self) -> crate::files::FilesHandle {
        self.files.clone()
    }

    /// Asks the node to stop (the owner of [`Node`] completes the shutdown).
    pub fn request_shutdown(&self) {
        self.shutdown.cancel();
    }
}
