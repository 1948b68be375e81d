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
pub(crate) use tcp::TcpIncoming;
pub use tcp::TcpTransport;

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

/// A way to carry peer connections.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The name shown in `status`.
    fn name(&self) -> &'static str;

    /// Starts listening; returns the listener and the hints to advertise.
    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError>;

    /// Opens the web gateway's listener, before `listen`: browsers' streams
    /// and the base of browser URLs (`http://<onion>.onion` on the onion
    /// transports; on TCP a loopback address bound at `tcp_bind`). `None`:
    /// this transport has no way for a browser to reach the node.
    async fn listen_web(
        &self,
        tcp_bind: std::net::SocketAddr,
    ) -> Result<Option<(Box<dyn Listener>, String)>, TransportError> {
        let _ = tcp_bind;
        Ok(None)
    }

    /// Starts listening as another identity (`keypair`): an onion service
    /// of its own on the onion transports, other loopback ports on TCP
    /// (its web listener bound at `tcp_web` with port 0). `None`: this
    /// transport cannot.
    async fn listen_as(
        &self,
        keypair: &std::sync::Arc<warren_proto::Keypair>,
        tcp_web: std::net::SocketAddr,
    ) -> Result<Option<ExtraListeners>, TransportError> {
        let _ = (keypair, tcp_web);
        Ok(None)
    }

    /// Hosts the owner's panel as an onion service of its own (`keypair`,
    /// virtual port 80) with restricted discovery: only holders of one of
    /// `clients` can find it. Returns its browsers' streams and its
    /// `<name>.onion`; the service stops when the listener is dropped.
    /// `None`: this transport has no onion services.
    async fn listen_admin(
        &self,
        keypair: &std::sync::Arc<warren_proto::Keypair>,
        clients: &[crate::tor::ClientAuthKey],
    ) -> Result<Option<(Box<dyn Listener>, String)>, TransportError> {
        let _ = (keypair, clients);
        Ok(None)
    }

    /// Whether `hint` is something this transport can dial.
    fn can_dial(&self, hint: &TransportHint) -> bool;

    /// Opens a stream to `addr`.
    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError>;

    /// Opens a stream to `addr` that shares no circuit with other streams
    /// (a fresh Tor circuit on the onion transports; the same as `dial`
    /// elsewhere).
    async fn dial_isolated(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        self.dial(addr).await
    }

    /// Tor's state, for onion transports.
    fn tor_status(&self) -> Option<TorStatus> {
        None
    }

    /// Relaunches the onion service now (onion transports): a fresh
    /// descriptor and introduction points, as after failed checks.
    fn relaunch(&self) -> bool {
        false
    }

    /// Stops background work (bootstrapping, the onion service).
    fn shutdown(&self) {}
}

impl fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transport({})", self.name())
    }
}
