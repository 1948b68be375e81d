//! The `arti` transport: embedded Tor. The node hosts an onion service
//! whose key is the node's identity key, and dials peers by onion address.
//!
//! arti's state, cache and keystore live in `DATA_DIR/arti/`. The node's
//! key is written into arti's keystore under the nickname `warren` at every
//! launch (replacing whatever was there), and the launched service's address
//! is checked against the node's identity before it is used.
//!
//! `listen` returns at once: bootstrapping, launching, and the reachability
//! checks run in a background task, so a node with no Tor in reach keeps
//! running, reports why it is not online, and retries with backoff.

mod config;
mod restricted;

pub use config::client_config as arti_client_config;
mod service;

pub use restricted::{HostedService, RestrictedService};

use std::path::Path;
use std::sync::Arc;

use arti_client::TorClient;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tor_rtcompat::PreferredRuntime;
use warren_proto::{Keypair, PeerAddr, TransportHint};

use super::{
    BoxStream, ExtraListeners, Host, Listener, OnionHost, Transport, TransportError, onion_extra,
};
use crate::clock::SharedClock;
use crate::tor::{ReachPolicy, Reachability, TorNetwork, TorStatus};
use crate::{Error, Result};

/// Inbound streams waiting for the node's accept loop. Full: dropped.
pub(crate) const INCOMING_QUEUE: usize = 64;

/// Embedded Tor (arti).
#[derive(Clone)]
pub struct ArtiTransport {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    client: Arc<TorClient<PreferredRuntime>>,
    keypair: Arc<Keypair>,
    onion_port: u16,
    reach: Reachability,
    reach_policy: ReachPolicy,
    /// Asks the supervisor to relaunch the service.
    relaunch: tokio::sync::Notify,
    shutdown: CancellationToken,
    /// Where browsers' streams (port 80) go, once the gateway listens.
    web: std::sync::Mutex<Option<mpsc::Sender<Arrival>>>,
}

impl Inner {
    fn onion_name(&self) -> String {
        self.keypair.id().to_string()
    }
}

/// What an arti transport needs.
pub struct ArtiOptions<'a> {
    /// The node's data directory (arti's files go in `arti/` under it).
    pub data_dir: &'a Path,
    /// A private network to join instead of the real Tor network.
    pub network: Option<&'a TorNetwork>,
    /// The node's key: the onion service's identity.
    pub keypair: Arc<Keypair>,
    /// Virtual port of the service.
    pub onion_port: u16,
    /// When to check reachability and when to relaunch.
    pub reach: ReachPolicy,
    /// Wall time, for the status.
    pub clock: SharedClock,
    /// Arti's memory quota, bytes (see [`config::client_config`]).
    pub memory_max: u64,
}

impl ArtiTransport {
    /// Prepares arti (nothing touches the network until `listen` or `dial`).
    pub fn new(opts: ArtiOptions<'_>) -> Result<ArtiTransport> {
        // rustls needs one process-wide crypto provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let arti_dir = opts.data_dir.join("arti");
        std::fs::create_dir_all(&arti_dir)
            .map_err(Error::io(format!("creating {}", arti_dir.display())))?;
        let config = config::client_config(&arti_dir, opts.network, opts.memory_max)?;
        let client = TorClient::builder()
            .config(config)
            .create_unbootstrapped()
            .map_err(|e| Error::Transport(TransportError::Tor(e.to_string())))?;
        Ok(ArtiTransport {
            inner: Arc::new(Inner {
                client,
                keypair: opts.keypair,
                onion_port: opts.onion_port,
                reach: Reachability::new(opts.clock),
                reach_policy: opts.reach,
                relaunch: tokio::sync::Notify::new(),
                shutdown: CancellationToken::new(),
                web: std::sync::Mutex::new(None),
            }),
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An accepted stream and the number of the rendezvous circuit it came
/// on (numbered per service as circuits arrive), so that servers can
/// tell one client from another.
pub(crate) type Arrival = (BoxStream, u64);

pub(crate) struct Incoming(mpsc::Receiver<Arrival>, &'static str);

#[async_trait]
impl Listener for Incoming {
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError> {
        match self.0.recv().await {
            Some((s, circuit)) => Ok((s, format!("{} circuit {circuit}", self.1))),
            None => Err(TransportError::Closed),
        }
    }
}

#[async_trait]
impl Transport for ArtiTransport {
    fn name(&self) -> &'static str {
        "arti"
    }

    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError> {
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        // The supervisor holds the transport's inner state weakly enough to
        // end with it: it stops when the shutdown token fires (on drop).
        tokio::spawn(service::supervise(self.inner.clone(), tx));
        Ok((
            Box::new(Incoming(rx, "onion")),
            vec![TransportHint::Onion {
                port: self.inner.onion_port,
            }],
        ))
    }

    fn can_dial(&self, hint: &TransportHint) -> bool {
        matches!(hint, TransportHint::Onion { .. })
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        let TransportHint::Onion { port } = addr.hint else {
            return Err(TransportError::Unreachable(addr.to_string()));
        };
        let host = addr.id.to_string();
        let stream = self
            .inner
            .client
            .connect((host.as_str(), port))
            .await
            .map_err(|e| TransportError::Tor(e.to_string()))?;
        Ok(Box::new(stream))
    }

    async fn dial_isolated(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        let TransportHint::Onion { port } = addr.hint else {
            return Err(TransportError::Unreachable(addr.to_string()));
        };
        let host = addr.id.to_string();
        let mut prefs = arti_client::StreamPrefs::new();
        prefs.set_isolation(arti_client::IsolationToken::new());
        let stream = self
            .inner
            .client
            .connect_with_prefs((host.as_str(), port), &prefs)
            .await
            .map_err(|e| TransportError::Tor(e.to_string()))?;
        Ok(Box::new(stream))
    }

    fn host(&self) -> Option<&dyn Host> {
        Some(self)
    }

    fn onion(&self) -> Option<&dyn OnionHost> {
        Some(self)
    }

    fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }
}

#[async_trait]
impl Host for ArtiTransport {
    async fn listen_web(&self) -> Result<(Box<dyn Listener>, String), TransportError> {
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        *self.inner.web.lock().expect(crate::HELD) = Some(tx);
        let base = format!("http://{}", self.inner.keypair.id());
        Ok((Box::new(Incoming(rx, "onion (web)")), base))
    }

    async fn listen_as(&self, keypair: &Arc<Keypair>) -> Result<ExtraListeners, TransportError> {
        let (peers, peers_rx) = mpsc::channel(INCOMING_QUEUE);
        let (web, web_rx) = mpsc::channel(INCOMING_QUEUE);
        // Ends when both listeners are dropped (their guard cancels it).
        let cancel = self.inner.shutdown.child_token();
        tokio::spawn(service::extra(
            self.inner.clone(),
            keypair.clone(),
            service::Routes {
                peers,
                web: Some(web),
            },
            cancel.clone(),
        ));
        Ok(onion_extra(
            Incoming(peers_rx, "onion (share)"),
            Incoming(web_rx, "onion (share web)"),
            Arc::new(cancel.drop_guard()),
            self.inner.onion_port,
            keypair.id(),
        ))
    }
}

#[async_trait]
impl OnionHost for ArtiTransport {
    async fn listen_admin(
        &self,
        keypair: &Arc<Keypair>,
        clients: &[crate::tor::ClientAuthKey],
    ) -> Result<(Box<dyn Listener>, String), TransportError> {
        let hosted = self
            .host_restricted(RestrictedService {
                nickname: "warren-admin".into(),
                keypair: keypair.clone(),
                port: super::ADMIN_PORT,
                clients: clients
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (format!("owner{i}"), k.clone()))
                    .collect(),
            })
            .await?;
        let onion = hosted.onion.clone();
        Ok((Box::new(hosted), onion))
    }

    fn tor_status(&self) -> TorStatus {
        self.inner.reach.snapshot()
    }

    fn relaunch(&self) {
        self.inner.relaunch.notify_one();
    }
}
