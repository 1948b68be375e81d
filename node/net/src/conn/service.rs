//! Service connections: a connection opened for a named service
//! (`Purpose::Service`, protocol version 4, SPEC.md §6), carrying the
//! service's own messages on the service channel.
//!
//! A service registers a [`ServiceHandler`] under its name with the
//! [`Router`](super::Router) ([`Router::with_service`](super::Router::with_service));
//! the connection layer hands it every inbound connection that names it,
//! once the handshake has proven who dialed. The dialing side opens one
//! with [`dial_service`]. Both get a [`ServiceConn`]: frames in and out,
//! keepalives answered, anything on another channel refused.
//!
//! Inbound service connections do not take the inbound peer slots: each
//! service has a pool of its own (`limits.service_connections`), fair to
//! strangers as the upload slots are ([`crate::fair`]): one identity holds
//! at most a quarter of it, and a full pool closes the connection silent
//! the longest (`Close { Busy }`) for a newcomer. Beyond that a service
//! bounds itself: how long it waits for a message, how much it buffers.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Established, Purpose};
use warren_proto::msg::{CloseReason, ControlMsg, Message};
use warren_proto::service::ServiceName;
use warren_proto::{NodeId, PeerAddr, ProtocolVersion, Verified};

use super::codec::Outgoing;
use super::handshake::FramedStream;
use super::router::ProtocolHandler;
use super::session::{ConnCtx, dial_and_handshake};
use super::{ConnError, Ended};
use crate::fair::{Pool, Progress};

/// A service: serves the inbound connections opened for it.
#[async_trait]
pub trait ServiceHandler: Send + Sync + 'static {
    /// Serves one connection until it is over.
    async fn accept(&self, conn: ServiceConn);
}

/// Adapts a [`ServiceHandler`] to the router, with its pool of slots.
pub(super) struct ServiceRoute {
    handler: Arc<dyn ServiceHandler>,
    pool: Arc<Mutex<Pool<NodeId>>>,
}

impl ServiceRoute {
    /// `max` connections at once, a quarter of them (at least one) per
    /// identity.
    pub(super) fn new(handler: Arc<dyn ServiceHandler>, max: usize) -> ServiceRoute {
        ServiceRoute {
            handler,
            pool: Arc::new(Mutex::new(Pool::new(max, max / 4))),
        }
    }
}

#[async_trait]
impl ProtocolHandler for ServiceRoute {
    async fn accept(&self, framed: FramedStream, est: Established, ctx: Arc<ConnCtx>) {
        let Some(mut conn) = ServiceConn::new(framed, est, &ctx) else {
            tracing::debug!("a service route got a connection of another purpose");
            return;
        };
        let progress = Progress::new();
        let taken = self.pool.lock().expect(crate::HELD).take(
            conn.peer(),
            true,
            progress.clone(),
            conn.stop.clone(),
        );
        conn.slot = Some(Slot {
            id: taken.id(),
            pool: self.pool.clone(),
            progress,
        });
        self.handler.accept(conn).await
    }
}

/// An inbound connection's place in its service's pool, freed on drop.
struct Slot {
    id: u64,
    pool: Arc<Mutex<Pool<NodeId>>>,
    progress: Progress,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.lock().expect(crate::HELD).release(self.id);
    }
}

/// One service connection, after the handshake.
pub struct ServiceConn {
    framed: FramedStream,
    peer: Verified,
    version: ProtocolVersion,
    service: ServiceName,
    /// Whether this node trusted the peer when the connection was made.
    trusted: bool,
    ended: Option<Ended>,
    /// Inbound: its place in the service's pool (none when dialed).
    slot: Option<Slot>,
    /// Fires when the connection must end: the node (or the identity it
    /// serves) stops, or (inbound) the pool closed it for a newcomer.
    stop: CancellationToken,
    /// The node's (or identity's) shutdown, `stop`'s parent: tells the two
    /// apart.
    shutdown: CancellationToken,
    metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for ServiceConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConn")
            .field("peer", &self.peer.id().short())
            .field("service", &self.service)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ServiceConn {
    /// Wraps a connection whose handshake named a service; none for any
    /// other purpose.
    fn new(framed: FramedStream, est: Established, ctx: &ConnCtx) -> Option<ServiceConn> {
        let Purpose::Service(service) = est.purpose else {
            return None;
        };
        let trusted = ctx.trusted.borrow().contains(&est.peer.id());
        Some(ServiceConn {
            framed,
            trusted,
            peer: est.peer,
            version: est.version,
            service,
            ended: None,
            slot: None,
            stop: ctx.shutdown.child_token(),
            shutdown: ctx.shutdown.clone(),
            metrics: ctx.metrics.clone(),
        })
    }

    /// The node on the other end (proven by the handshake).
    pub fn peer(&self) -> NodeId {
        self.peer.id()
    }

    /// The other end's checked record.
    pub fn record(&self) -> &Verified {
        &self.peer
    }

    /// Whether this node trusted the peer when the connection was made
    /// (services that serve only members check this).
    pub fn trusted(&self) -> bool {
        self.trusted
    }

    /// The service this connection is for.
    pub fn service(&self) -> &ServiceName {
        &self.service
    }

    /// The protocol version both ends speak (4 or newer).
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// How the connection ended, once [`ServiceConn::recv`] has said so.
    pub fn ended(&self) -> Option<&Ended> {
        self.ended.as_ref()
    }

    /// Sends one message: `payload` is the service's own bytes, at most
    /// [`Channel::Service`]'s maximum payload (64 KiB).
    ///
    /// Waits while the peer does not read, until the connection must end
    /// (see [`ServiceConn::closed`]).
    ///
    /// # Errors
    /// [`ConnError::Proto`] (`FrameTooLarge`) for a payload over the bound;
    /// [`ConnError::Io`] when the stream fails; [`ConnError::Busy`] or
    /// [`ConnError::Shutdown`] when the connection was closed for a
    /// newcomer or the node stops (the peer is told).
    pub async fn send(&mut self, payload: Vec<u8>) -> Result<(), ConnError> {
        let max = Channel::Service.max_payload();
        if payload.len() > max as usize {
            return Err(warren_proto::Error::FrameTooLarge {
                len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
                max,
            }
            .into());
        }
        if let Some(e) = self.closed_error() {
            return Err(e);
        }
        self.moved();
        self.write(Channel::Service, Priority::Normal, payload)
            .await
    }

    /// Resolves when the connection must end: the node stops, or (inbound)
    /// the service's pool closed it for a newcomer. [`ServiceConn::recv`]
    /// and [`ServiceConn::send`] notice by themselves; a handler waiting on
    /// something else selects on this.
    pub async fn closed(&self) {
        self.stop.cancelled().await
    }

    /// Writes one frame, unless the connection must end first.
    async fn write(
        &mut self,
        channel: Channel,
        priority: Priority,
        payload: Vec<u8>,
    ) -> Result<(), ConnError> {
        let out = Outgoing {
            channel,
            priority,
            payload: payload.into(),
        };
        let stop = self.stop.clone();
        tokio::select! {
            r = self.framed.send(out) => r.map_err(|e| {
                self.ended = Some(Ended::Error("io"));
                e.into()
            }),
            () = stop.cancelled() => {
                let e = self.finish().await;
                Err(e)
            }
        }
    }

    /// The error for a connection that must end, once it has ended (the
    /// peer told, when the stream allows).
    fn closed_error(&self) -> Option<ConnError> {
        match &self.ended {
            Some(Ended::Local(CloseReason::Busy)) => Some(ConnError::Busy),
            Some(Ended::Local(CloseReason::Shutdown)) => Some(ConnError::Shutdown),
            Some(_) => Some(ConnError::Closed),
            None => None,
        }
    }

    /// Ends the connection because `stop` fired: `Busy` or `Shutdown`.
    async fn finish(&mut self) -> ConnError {
        let (reason, e) = if self.shutdown.is_cancelled() {
            (CloseReason::Shutdown, ConnError::Shutdown)
        } else {
            (CloseReason::Busy, ConnError::Busy)
        };
        self.ended = Some(Ended::Local(reason));
        super::session::send_close(&mut self.framed, reason).await;
        e
    }

    /// The next message of the service; `None` once the connection has
    /// ended (the peer closed it, or the stream ended: see
    /// [`ServiceConn::ended`]). Keepalive pings are answered on the way.
    /// Waits as long as it takes (a service bounds its own waits), until
    /// the connection is closed for a newcomer to a full pool
    /// ([`Ended::Local`] `Busy`) or the node stops (`Shutdown`).
    ///
    /// # Errors
    /// A frame on a channel a service connection does not have (peer
    /// exchange, files, tracker) is a protocol violation: the connection is
    /// closed with that reason and [`ConnError::Proto`] returned; bad bytes
    /// and stream failures likewise end it.
    pub async fn recv(&mut self) -> Result<Option<Bytes>, ConnError> {
        if self.ended.is_some() {
            return Ok(None);
        }
        loop {
            let stop = self.stop.clone();
            let next = tokio::select! {
                next = self.framed.next() => next,
                () = stop.cancelled() => {
                    self.finish().await;
                    return Ok(None);
                }
            };
            let (header, payload) = match next {
                Some(Ok(frame)) => frame,
                Some(Err(super::CodecError::Proto(e))) => return Err(self.fail(e).await),
                Some(Err(super::CodecError::Io(e))) => {
                    self.ended = Some(Ended::Error("io"));
                    return Err(e.into());
                }
                None => {
                    self.ended = Some(Ended::Eof);
                    return Ok(None);
                }
            };
            match header.channel {
                Channel::Service => {
                    self.moved();
                    return Ok(Some(payload));
                }
                Channel::Control => {}
                _ => {
                    let e = warren_proto::Error::Unexpected("a frame outside a service's channels");
                    return Err(self.fail(e).await);
                }
            }
            match Message::decode(self.version, Channel::Control, &payload) {
                Ok(Message::Control(ControlMsg::Ping { nonce })) => {
                    let pong = Message::Control(ControlMsg::Pong { nonce });
                    match self
                        .write(Channel::Control, Priority::Control, pong.encode())
                        .await
                    {
                        Ok(()) => {}
                        Err(ConnError::Busy | ConnError::Shutdown) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                }
                Ok(Message::Control(ControlMsg::Close { reason })) => {
                    self.ended = Some(Ended::Remote(reason));
                    return Ok(None);
                }
                Ok(_) => {}
                Err(e) => return Err(self.fail(e).await),
            }
        }
    }

    /// Closes the connection, telling the peer it was normal.
    pub async fn close(mut self) {
        super::session::send_close(&mut self.framed, CloseReason::Normal).await;
    }

    fn moved(&self) {
        if let Some(s) = &self.slot {
            s.progress.moved();
        }
    }

    /// Ends the connection for a broken rule: counted, the peer told.
    async fn fail(&mut self, e: warren_proto::Error) -> ConnError {
        crate::metrics::Metrics::inc(&self.metrics.net.protocol_violations);
        self.metrics.reject(e.label());
        self.ended = Some(Ended::Local(CloseReason::ProtocolViolation));
        super::session::send_close(&mut self.framed, CloseReason::ProtocolViolation).await;
        e.into()
    }
}

/// Opens a connection for `service` to `addr`, on a circuit of its own.
///
/// # Errors
/// [`ConnError::Dial`] or [`ConnError::DialTimeout`] when the peer is not
/// reached; the handshake's error after (a peer that does not speak
/// version 4 refuses the handshake; one that does not offer the service
/// closes the connection at once, and the first [`ServiceConn::recv`]
/// returns `None` with [`Ended::Remote`]).
pub async fn dial_service(
    addr: &PeerAddr,
    service: ServiceName,
    ctx: &ConnCtx,
) -> Result<ServiceConn, ConnError> {
    let dial = dial_and_handshake(addr, Purpose::Service(service), ctx);
    let (framed, est) = tokio::select! {
        r = dial => r?,
        () = ctx.shutdown.cancelled() => return Err(ConnError::Shutdown),
    };
    ServiceConn::new(framed, est, ctx)
        .ok_or(warren_proto::Error::Unexpected("a handshake for another purpose").into())
}
