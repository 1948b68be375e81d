//! Transports: how bytes get between nodes.
//!
//! A [`Transport`] listens (yielding inbound streams and the hints that tell
//! peers how to reach us) and dials [`PeerAddr`]s. Everything above it —
//! handshake, framing, connections, discovery — is the same whatever carries
//! the bytes; the handshake proves the peer's key on every transport.

mod arti;
pub mod ctor;
mod memory;
mod tcp;

use std::fmt;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use warren_proto::{PeerAddr, TransportHint};

use crate::tor::TorStatus;

pub use arti::{ArtiOptions, ArtiTransport, HostedService, RestrictedService, arti_client_config};
pub use ctor::{CTorOptions, CTorTransport};
pub use memory::{MemoryTransport, Switchboard};
pub use tcp::{TcpIncoming, TcpTransport};

/// A bidirectional byte stream to a peer.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// This transport cannot reach that kind of address.
    #[error("this transport cannot reach {0}")]
    Unreachable(String),
    /// Nothing answered at the address.
    #[error("connection refused by {0}")]
    Refused(String),
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Where.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error while dialing or accepting.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Tor (arti or the C tor daemon) refused or failed.
    #[error("tor: {0}")]
    Tor(String),
    /// The listener was shut down.
    #[error("the transport is shut down")]
    Closed,
}

/// The admin panel's virtual port on its onion service.
pub const ADMIN_PORT: u16 = 80;

/// Streams one rendezvous circuit may hold open at once on any of the
/// node's onion services; a client that opens one more has its circuit
/// closed by Tor (C tor's `HiddenServiceMaxStreams` with
/// `HiddenServiceMaxStreamsCloseCircuit`, given to `ADD_ONION` as
/// `MaxStreams=` and the `MaxStreamsCloseCircuit` flag; arti's
/// `max_concurrent_streams_per_circuit`). A browser opens six connections
/// to a host and a download at most `files.max_connections_per_download`
/// (12); one stranger's circuit cannot hold more.
pub const MAX_STREAMS_PER_CIRCUIT: u16 = 32;

/// A source of inbound streams.
#[async_trait]
pub trait Listener: Send + 'static {
    /// Waits for the next inbound stream; the string describes its origin:
    /// the source address on TCP, `LABEL circuit N` for a stream on an
    /// onion service's Nth rendezvous circuit where the transport can tell
    /// circuits apart (arti), the listener's label alone where it cannot
    /// (C tor: every client is one class). Servers tell clients apart by it
    /// (`web::Client`).
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError>;
}

/// Listeners of another identity of this node (a share with an address of
/// its own): its transfer streams, where to reach them, and its browser
/// streams with their base URL. Dropping them stops the service.
pub struct ExtraListeners {
    /// Inbound streams to the identity.
    pub listener: Box<dyn Listener>,
    /// The hints to put in its record.
    pub hints: Vec<TransportHint>,
    /// Browsers' streams and the base of browser URLs, if any.
    pub web: Option<(Box<dyn Listener>, String)>,
}

/// A listener that keeps a service running while it lives: the service's
/// task stops when every listener holding the guard is dropped.
pub(crate) struct Guarded<L> {
    inner: L,
    _guard: std::sync::Arc<tokio_util::sync::DropGuard>,
}

impl<L> Guarded<L> {
    pub(crate) fn new(inner: L, guard: std::sync::Arc<tokio_util::sync::DropGuard>) -> Self {
        Guarded {
            inner,
            _guard: guard,
        }
    }
}

#[async_trait]
impl<L: Listener> Listener for Guarded<L> {
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError> {
        self.inner.accept().await
    }
}

/// A way to carry peer connections: listen, dial, dial on a path of its
/// own. What only some transports can do is a capability reached through
/// it: [`Host`] (browsers' listeners, other identities' listeners) and
/// [`OnionHost`] (onion services of their own, Tor's state).
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The name shown in `status` (never branched on: ask for a
    /// capability instead).
    fn name(&self) -> &'static str;

    /// Starts listening; returns the listener and the hints to advertise.
    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError>;

    /// Whether `hint` is something this transport can dial.
    fn can_dial(&self, hint: &TransportHint) -> bool;

    /// Opens a stream to `addr`.
    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError>;

    /// Opens a stream to `addr` that shares no path with other streams (a
    /// fresh Tor circuit on the onion transports; the same as `dial`
    /// elsewhere).
    async fn dial_isolated(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        self.dial(addr).await
    }

    /// Listeners for browsers and for other identities, if this transport
    /// can give them (TCP and the onion transports; not the in-memory one).
    fn host(&self) -> Option<&dyn Host> {
        None
    }

    /// Onion services and Tor's state, on the Tor transports.
    fn onion(&self) -> Option<&dyn OnionHost> {
        None
    }

    /// Stops background work (bootstrapping, the onion service).
    fn shutdown(&self) {}
}

/// A transport that can give browsers and other identities listeners.
#[async_trait]
pub trait Host: Send + Sync {
    /// Opens the web gateway's listener, before [`Transport::listen`]:
    /// browsers' streams and the base of browser URLs
    /// (`http://<onion>.onion` on the onion transports; on TCP the web
    /// address it was made with).
    async fn listen_web(&self) -> Result<(Box<dyn Listener>, String), TransportError>;

    /// Starts listening as another identity (`keypair`): an onion service
    /// of its own on the onion transports, other ports (picked by the
    /// system) on TCP.
    async fn listen_as(
        &self,
        keypair: &std::sync::Arc<warren_proto::Keypair>,
    ) -> Result<ExtraListeners, TransportError>;
}

/// A Tor transport: onion services of its own and Tor's state.
#[async_trait]
pub trait OnionHost: Send + Sync {
    /// Hosts the owner's panel as an onion service of its own (`keypair`,
    /// virtual port [`ADMIN_PORT`]) with restricted discovery: only
    /// holders of one of `clients` can find it. Returns its browsers'
    /// streams and its `<name>.onion`; the service stops when the listener
    /// is dropped.
    async fn listen_admin(
        &self,
        keypair: &std::sync::Arc<warren_proto::Keypair>,
        clients: &[crate::tor::ClientAuthKey],
    ) -> Result<(Box<dyn Listener>, String), TransportError>;

    /// Tor's state.
    fn tor_status(&self) -> TorStatus;

    /// Relaunches the node's onion service now: a fresh descriptor and
    /// introduction points, as after failed checks.
    fn relaunch(&self);
}

/// The listeners of another identity's onion service (both onion
/// backends): its transfer streams on the node's onion port and its
/// browsers' streams, each keeping the service up through `guard`.
pub(crate) fn onion_extra<P: Listener, W: Listener>(
    peers: P,
    web: W,
    guard: std::sync::Arc<tokio_util::sync::DropGuard>,
    onion_port: u16,
    id: warren_proto::NodeId,
) -> ExtraListeners {
    ExtraListeners {
        listener: Box::new(Guarded::new(peers, guard.clone())),
        hints: vec![TransportHint::Onion { port: onion_port }],
        web: Some((Box::new(Guarded::new(web, guard)), format!("http://{id}"))),
    }
}

impl fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transport({})", self.name())
    }
}
