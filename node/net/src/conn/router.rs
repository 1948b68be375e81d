//! The inbound router: which service takes a connection once the handshake
//! has proven who is dialing, by the purpose the dialer named (as iroh's
//! `ProtocolHandler`s are chosen by ALPN and libp2p's behaviours by
//! protocol name). The connection layer knows no service: each registers
//! its handler when the node is wired together.
//!
//! The node's own peer connections (`Purpose::Peer`) are not routed here:
//! they go through admission by the node task (see `session.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use warren_proto::handshake::{Established, Purpose};
use warren_proto::service::ServiceName;

use super::FramedStream;
use super::service::{ServiceHandler, ServiceRoute};
use super::session::ConnCtx;

/// A service that serves inbound connections of one purpose.
#[async_trait]
pub trait ProtocolHandler: Send + Sync + 'static {
    /// Serves one connection: `est` says who dialed (proven) and with
    /// which protocol version; `ctx` is the listening identity's context.
    /// Returns when the connection is over.
    async fn accept(&self, framed: FramedStream, est: Established, ctx: Arc<ConnCtx>);
}

/// The handlers of one listening identity, by purpose.
#[derive(Clone, Default)]
pub struct Router {
    handlers: HashMap<Purpose, Arc<dyn ProtocolHandler>>,
}

impl Router {
    /// A router with no handler: every routed connection is closed.
    pub fn new() -> Router {
        Router::default()
    }

    /// Routes connections for `purpose` to `handler` (replacing any other).
    pub fn with(mut self, purpose: Purpose, handler: Arc<dyn ProtocolHandler>) -> Router {
        self.handlers.insert(purpose, handler);
        self
    }

    /// Routes connections opened for the service `name` to `handler`
    /// (replacing any other), at most `max` of them at once (a quarter of
    /// them, at least one, per identity; see [`super::ServiceConn`]).
    pub fn with_service(
        self,
        name: ServiceName,
        handler: Arc<dyn ServiceHandler>,
        max: usize,
    ) -> Router {
        self.with(
            Purpose::Service(name),
            Arc::new(ServiceRoute::new(handler, max)),
        )
    }

    /// The handler for `purpose`, if one is registered.
    pub fn get(&self, purpose: &Purpose) -> Option<Arc<dyn ProtocolHandler>> {
        self.handlers.get(purpose).cloned()
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}
