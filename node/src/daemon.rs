//! The daemon's wiring: starts every service on one node and hands each
//! the narrow handles it needs.
//!
//! ```text
//!   transport ── listen_web (gateway first: C tor adds its port to the
//!        │                  onion service `listen` launches)
//!        ▼
//!   warren-peers Node ── router: Transfer → files' UploadService,
//!        │                       each service of `NodeOptions::services`
//!        │               tracker: files' tracker inbox
//!        ▼
//!   files Registry (on the node's tasks, its store writer, its context),
//!        ▼         which starts the files tracker task
//!   web gateway (when enabled)
//! ```
//!
//! [`Daemon`] is all of `warren run`: the node as above; then the board is
//! opened (its handle made, its actor not yet started) and the panel's
//! local listener bound, so the one [`NodeHandle`] naming both is made
//! once, complete; then the owner's panel, the board actor (given the
//! panel's pairing mode) and the control socket, each handed that handle.

use std::sync::Arc;

use warren_proto::handshake::Purpose;
use warren_proto::service::ServiceName;
use warren_proto::{NodeId, PeerAddr};

use crate::Result;
use crate::board::BoardHandle;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::conn::{Router, ServiceConn, ServiceHandler};
use crate::files::FilesHandle;
use crate::identity::Identity;
use crate::relay::{Relay, RelayHandle};
use crate::store::Db;
use crate::transport::Transport;
pub use warren_api::{MetricsSnapshot, Status, StatusExtras};

pub use warren_peers::{PeerInfo, SeedStatus, TrustInfo, trust};

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
    /// The mail database (`mail.redb`); none: kept in memory.
    pub mail_db: Option<std::path::PathBuf>,
    /// Services beyond the node's own, each under its name: the router
    /// hands each the inbound connections opened for it (see
    /// [`NodeHandle::dial_service`] for the dialing side).
    pub services: Vec<(ServiceName, Arc<dyn ServiceHandler>)>,
}

/// A running node: the peer layer and the services on it.
pub struct Node {
    peers: warren_peers::Node,
    handle: NodeHandle,
}

/// A cheap, cloneable handle for asking a running node things: the peer
/// layer's handle and the files service; from [`Daemon::handle`], also what
/// `warren run` starts beside the node (the board actor, the panel's
/// address), known before the handle is made.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    peers: warren_peers::NodeHandle,
    files: FilesHandle,
    mail: warren_mail::MailHandle,
    gateway_url: Option<String>,
    panel_url: Option<String>,
    board: Option<BoardHandle>,
    /// The relay actor, or why this transport cannot relay.
    relay: std::result::Result<RelayHandle, String>,
}

impl Node {
    /// Starts listening and every service; returns once the node is up.
    ///
    /// # Errors
    /// An invalid configuration, a transport that cannot listen, a store
    /// that cannot be read.
    pub async fn start(opts: NodeOptions) -> Result<Node> {
        let NodeOptions {
            config,
            identity,
            db,
            transport,
            clock,
            mirror_dir,
            mail_db,
            services,
        } = opts;
        config.validate()?;
        let mail = warren_mail::start(
            mail_db.as_deref(),
            identity.keypair.clone(),
            &config.mail,
            warren_proto::Role::from(config.node.role) == warren_proto::Role::Box,
            clock.clone(),
        )?;
        // The gateway listens first: the C tor backend adds its port to the
        // onion service that `listen` launches.
        let web = match transport.host() {
            Some(host) if config.gateway.enabled => Some(host.listen_web().await?),
            _ => None,
        };
        let gateway_url = web.as_ref().map(|(_, base)| base.clone());
        let (files, files_pending) = crate::files::handle(&config.files);
        let mut router = Router::new().with(
            Purpose::Transfer,
            Arc::new(crate::files::UploadService(files.clone())),
        );
        router = router.with_service(
            ServiceName::new(warren_proto::mail::SERVICE)?,
            Arc::new(warren_mail::MailService::new(mail.clone())),
            config.limits.service_connections,
        );
        for (name, handler) in services {
            router = router.with_service(name, handler, config.limits.service_connections);
        }
        let peers = warren_peers::Node::start(warren_peers::NodeOptions {
            config: config.peers(),
            role: config.node.role.into(),
            bootstrap: config.bootstrap_addrs()?,
            identity,
            db: db.clone(),
            transport,
            clock,
            router,
            tracker: Some(files_pending.peer_messages()),
        })
        .await?;
        let tasks = peers.tasks();
        let registry = crate::files::Registry::new(
            config.files.clone(),
            crate::files::ExtraSetup {
                mirror_dir,
                gateway: config.gateway.clone(),
                record_validity_secs: config.community.record_validity_secs,
                tasks: tasks.clone(),
                gateway_base: gateway_url.clone(),
                tracker_swarms: config.limits.tracker_swarms,
                catalogue_entries: config.limits.catalogue_entries,
            },
            db,
            peers.store(),
            peers.conn_ctx(),
            peers.handle(),
            files.clone(),
        )?;
        tasks.spawn(registry.run(files_pending));
        warren_mail::spawn_courier(
            mail.clone(),
            peers.handle(),
            config.mail.clone(),
            &tasks,
            peers.conn_ctx().shutdown.clone(),
        );
        if let Some((web_listener, base)) = web {
            tracing::info!(url = %base, "web gateway listening");
            tasks.spawn(crate::gateway::serve(
                web_listener,
                files.clone(),
                config.gateway.clone(),
                peers.conn_ctx().shutdown.clone(),
                tasks.clone(),
            ));
        }
        let handle = NodeHandle {
            peers: peers.handle(),
            files,
            mail,
            gateway_url,
            panel_url: None,
            board: None,
            relay: Err("the relay runs only in `warren run`".into()),
        };
        Ok(Node { peers, handle })
    }

    /// A handle to this node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Resolves when something asked the node to stop.
    pub async fn stopped(&self) {
        self.peers.stopped().await
    }

    /// Stops the node: closes every connection (telling peers why), waits for
    /// every service's tasks to end (at most 5 s), and commits what the
    /// store holds.
    pub async fn shutdown(self) {
        self.peers.shutdown().await
    }
}

impl NodeHandle {
    /// The node's identity.
    pub fn id(&self) -> NodeId {
        self.peers.id()
    }

    /// The peer layer's handle.
    pub fn peer_layer(&self) -> &warren_peers::NodeHandle {
        &self.peers
    }

    /// The node at a glance.
    pub async fn status(&self) -> Result<Status> {
        Ok(self.peer_status().await?)
    }

    async fn peer_status(&self) -> warren_peers::Result<Status> {
        let s = self.peers.status().await?;
        let extras = StatusExtras {
            gateway_url: self.gateway_url.clone(),
            panel_url: self.panel_url.clone(),
            board: self.board().map(|b| b.status()),
            mail: self.mail.status().await.ok(),
            relay: self.relay.as_ref().ok().map(|r| r.status()),
        };
        let files = self.files.counters();
        Ok(s.with_extra(extras, |peers| {
            MetricsSnapshot::new(peers, files.transfers.snapshot(), files.tracker.snapshot())
        }))
    }

    /// Tests: makes the node task hang for `d`.
    #[cfg(test)]
    pub(crate) async fn stall(&self, d: std::time::Duration) {
        self.peers.stall(d).await
    }

    /// The same handle with what `warren run` starts beside the node: the
    /// board actor driving its box, where the owner's panel answers on
    /// this machine (none: none) and the relay actor (or why the transport
    /// cannot relay). The wiring's (and tests') to call.
    pub(crate) fn with_daemon(
        self,
        board: Option<BoardHandle>,
        panel_url: Option<String>,
        relay: std::result::Result<RelayHandle, String>,
    ) -> Self {
        NodeHandle {
            board,
            panel_url,
            relay,
            ..self
        }
    }

    /// The relay actor.
    ///
    /// # Errors
    /// [`crate::Refusal::NoRelay`] with the reason, when the transport
    /// cannot relay.
    pub fn relay(&self) -> Result<RelayHandle> {
        self.relay
            .clone()
            .map_err(|why| crate::Refusal::NoRelay(why).into())
    }

    /// The board actor, if the node drives a board.
    pub fn board(&self) -> Option<BoardHandle> {
        self.board.clone()
    }

    /// Every known node.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>> {
        Ok(self.peers.peers().await?)
    }

    /// Trusts `addr`: keeps it, dials it, never evicts it.
    pub async fn trust_add(&self, addr: PeerAddr) -> Result<TrustInfo> {
        Ok(self.peers.trust_add(addr).await?)
    }

    /// Stops trusting `id`; whether it was trusted.
    pub async fn trust_remove(&self, id: NodeId) -> Result<bool> {
        Ok(self.peers.trust_remove(id).await?)
    }

    /// The trusted nodes.
    pub async fn trust_list(&self) -> Result<Vec<TrustInfo>> {
        Ok(self.peers.trust_list().await?)
    }

    /// Relaunches the onion service; false when the transport has none.
    pub async fn relaunch(&self) -> Result<bool> {
        Ok(self.peers.relaunch().await?)
    }

    /// The catalogue of public shares this node knows.
    pub async fn catalogue(&self) -> Result<Vec<warren_proto::tracker::SignedEntry>> {
        Ok(self.files.tracker().catalogue().await?)
    }

    /// Opens a connection for `service` to the node at `addr` (see
    /// [`warren_peers::NodeHandle::dial_service`]).
    ///
    /// # Errors
    /// The dial or the handshake failed.
    pub async fn dial_service(&self, addr: &PeerAddr, service: ServiceName) -> Result<ServiceConn> {
        Ok(self.peers.dial_service(addr, service).await?)
    }

    /// The files service.
    pub fn files(&self) -> FilesHandle {
        self.files.clone()
    }

    /// The mail service: conversations, and on a box its mailboxes.
    pub fn mail(&self) -> &warren_mail::MailHandle {
        &self.mail
    }

    /// Asks the node to stop (the owner of [`Node`] completes the shutdown).
    pub fn request_shutdown(&self) {
        self.peers.request_shutdown();
    }
}

/// What `warren run` starts beyond the node itself.
pub struct DaemonOptions {
    /// The node.
    pub node: NodeOptions,
    /// The configuration file the panel's settings page edits; none:
    /// read-only.
    pub config_path: Option<std::path::PathBuf>,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// The control socket, bound (before the node starts, so a second
    /// daemon on the same data directory stops at once).
    pub control: crate::control::ControlServer,
    /// Set when a confirmed factory reset asks the daemon to stop and wipe.
    pub reset: crate::board::reset::ResetRequest,
}

/// A running daemon: the node, the panel, the board actor, the control
/// socket.
pub struct Daemon {
    node: Node,
    handle: NodeHandle,
    panel: Option<crate::panel::Panel>,
    board: Option<crate::board::Board>,
    relay: Option<Relay>,
    control_stop: tokio_util::sync::CancellationToken,
    control: tokio::task::JoinHandle<()>,
}

impl Daemon {
    /// Starts the node and every service on it.
    ///
    /// # Errors
    /// What [`Node::start`] and the panel's start return. A board that
    /// cannot be opened is not one: it is logged and the daemon runs
    /// without board support.
    pub async fn start(opts: DaemonOptions) -> Result<Daemon> {
        let DaemonOptions {
            node: mut node_opts,
            config_path,
            data_dir,
            control,
            reset,
        } = opts;
        let config = node_opts.config.clone();
        // The relay service answers with the claim the relay actor publishes.
        let (claims, published) = tokio::sync::watch::channel(None);
        node_opts.services.push((
            ServiceName::new(warren_proto::relay::SERVICE)?,
            Arc::new(crate::relay::RelayService::new(published)),
        ));
        let keypair = node_opts.identity.keypair.clone();
        let (db, transport, clock) = (
            node_opts.db.clone(),
            node_opts.transport.clone(),
            node_opts.clock.clone(),
        );
        let node = Node::start(node_opts).await?;
        // The node is worth more than its LED: a board that cannot be
        // opened is logged, and the node runs without board support.
        let appliance = config.node.role == crate::config::RoleName::Box;
        let board = crate::board::Board::open(&config.board, appliance).unwrap_or_else(|e| {
            tracing::error!(error = %e, "board support is off: the board could not be opened");
            None
        });
        let local = match config.panel.enabled {
            true => crate::panel::bind_local(config.panel.listen).await,
            false => None,
        };
        let relay = match config.node.transport {
            crate::config::TransportKind::Ctor => {
                Ok(crate::relay::start(crate::relay::RelayOptions {
                    config: config.relay.clone(),
                    control_port: config.tor.control_port,
                    cookie: config.tor.cookie(),
                    data_dir: data_dir.clone(),
                    config_path: config_path.clone(),
                    keypair,
                    claims,
                    clock: clock.clone(),
                }))
            }
            crate::config::TransportKind::Arti => {
                Err(crate::tor::relay::ARTI_CANNOT_RELAY.to_string())
            }
            crate::config::TransportKind::Tcp => {
                Err("the tcp transport has no tor to relay with".to_string())
            }
        };
        // Every service below gets the whole handle, made once.
        let handle = node.handle().with_daemon(
            board.as_ref().map(|b| b.handle()),
            local.as_ref().map(|l| l.url.clone()),
            relay.as_ref().map(Relay::handle).map_err(Clone::clone),
        );
        let panel = match config.panel.enabled {
            true => Some(
                crate::panel::Panel::start(crate::panel::PanelOptions {
                    config: config.clone(),
                    config_path,
                    data_dir: data_dir.clone(),
                    db,
                    node: Arc::new(handle.clone()),
                    transport,
                    clock,
                    local,
                })
                .await?,
            ),
            false => None,
        };
        let board = board.map(|b| {
            b.start(crate::board::BoardOptions {
                config: config.board.clone(),
                node: handle.clone(),
                pairing: panel.as_ref().map(|p| p.pairing.clone()),
                data_dir,
                reset,
            })
        });
        let control_stop = tokio_util::sync::CancellationToken::new();
        let control = tokio::spawn(control.serve(
            handle.clone(),
            config.limits.control_clients,
            control_stop.clone(),
        ));
        Ok(Daemon {
            node,
            handle,
            panel,
            board,
            relay: relay.ok(),
            control_stop,
            control,
        })
    }

    /// A handle to the node and its services, the board and the panel's
    /// address included.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// The owner's panel, when it is on.
    pub fn panel(&self) -> Option<&crate::panel::Panel> {
        self.panel.as_ref()
    }

    /// Resolves when something asked the node to stop.
    pub async fn stopped(&self) {
        self.node.stopped().await
    }

    /// Stops everything: the control socket takes no new client, the board
    /// actor and the panel stop, then the node (see [`Node::shutdown`]).
    pub async fn shutdown(self) {
        self.control_stop.cancel();
        if let Some(b) = self.board {
            b.shutdown().await;
        }
        if let Some(p) = self.panel {
            p.shutdown().await;
        }
        if let Some(r) = self.relay {
            r.shutdown().await;
        }
        self.node.shutdown().await;
        let _ = self.control.await;
    }
}

/// The panel reaches the node through this (the same code paths as the
/// control socket's).
#[async_trait::async_trait]
impl crate::panel::NodeApi for NodeHandle {
    fn id(&self) -> NodeId {
        NodeHandle::id(self)
    }

    fn files(&self) -> FilesHandle {
        NodeHandle::files(self)
    }

    async fn status(&self) -> warren_peers::Result<Status> {
        self.peer_status().await
    }

    async fn peers(&self) -> warren_peers::Result<Vec<PeerInfo>> {
        self.peers.peers().await
    }

    async fn trust_list(&self) -> warren_peers::Result<Vec<TrustInfo>> {
        self.peers.trust_list().await
    }

    async fn dispatch(&self, req: crate::control::Request) -> crate::control::Response {
        crate::control::dispatch(req, self).await
    }
}
