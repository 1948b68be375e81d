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
//! A service bounds itself: how many connections it keeps, how long it
//! waits for a message, how much it buffers. Inbound service connections do
//! not take the inbound peer slots.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
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

/// A service: serves the inbound connections opened for it.
#[async_trait]
pub trait ServiceHandler: Send + Sync + 'static {
    /// Serves one connection until it is over.
    async fn accept(&self, conn: ServiceConn);
}

/// Adapts a [`ServiceHandler`] to the router.
pub(super) struct ServiceRoute(pub(super) Arc<dyn ServiceHandler>);

#[async_trait]
impl ProtocolHandler for ServiceRoute {
    async fn accept(&self, framed: FramedStream, est: Established, _ctx: Arc<ConnCtx>) {
        match ServiceConn::new(framed, est) {
            Some(conn) => self.0.accept(conn).await,
            None => tracing::debug!("a service route got a connection of another purpose"),
        }
    }
}

/// One service connection, after the handshake.
pub struct ServiceConn {
    framed: FramedStream,
    peer: Verified,
    version: ProtocolVersion,
    service: ServiceName,
    ended: Option<Ended>,
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
    fn new(framed: FramedStream, est: Established) -> Option<ServiceConn> {
        let Purpose::Service(service) = est.purpose else {
            return None;
        };
        Some(ServiceConn {
            framed,
            peer: est.peer,
            version: est.version,
            service,
            ended: None,
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
    /// # Errors
    /// [`ConnError::Proto`] (`FrameTooLarge`) for a payload over the bound;
    /// [`ConnError::Io`] when the stream fails.
    pub async fn send(&mut self, payload: Vec<u8>) -> Result<(), ConnError> {
        let max = Channel::Service.max_payload();
        if payload.len() > max as usize {
            return Err(warren_proto::Error::FrameTooLarge {
                len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
                max,
            }
            .into());
        }
        self.framed
            .send(Outgoing {
                channel: Channel::Service,
                priority: Priority::Normal,
                payload,
            })
            .await?;
        Ok(())
    }

    /// The next message of the service; `None` once the connection has
    /// ended (the peer closed it, or the stream ended: see
    /// [`ServiceConn::ended`]). Keepalive pings are answered on the way.
    /// Waits as long as it takes: a service bounds its own waits.
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
            let (header, payload) = match self.framed.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Err(self.fail(e.into()).await),
                None => {
                    self.ended = Some(Ended::Eof);
                    return Ok(None);
                }
            };
            match header.channel {
                Channel::Service => return Ok(Some(payload)),
                Channel::Control => {}
                _ => {
                    let e = warren_proto::Error::Unexpected("a frame outside a service's channels");
                    return Err(self.fail(e.into()).await);
                }
            }
            match Message::decode(self.version, Channel::Control, &payload) {
                Ok(Message::Control(ControlMsg::Ping { nonce })) => {
                    let pong = Message::Control(ControlMsg::Pong { nonce });
                    self.framed
                        .send(Outgoing {
                            channel: Channel::Control,
                            priority: Priority::Control,
                            payload: pong.encode(),
                        })
                        .await?;
                }
                Ok(Message::Control(ControlMsg::Close { reason })) => {
                    self.ended = Some(Ended::Remote(reason));
                    return Ok(None);
                }
                Ok(_) => {}
                Err(e) => return Err(self.fail(e.into()).await),
            }
        }
    }

    /// Closes the connection, telling the peer it was normal.
    pub async fn close(mut self) {
        super::session::send_close(&mut self.framed, CloseReason::Normal).await;
    }

    async fn fail(&mut self, e: ConnError) -> ConnError {
        self.ended = Some(Ended::Local(CloseReason::ProtocolViolation));
        super::session::send_close(&mut self.framed, CloseReason::ProtocolViolation).await;
        e
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
    let (framed, est) = dial_and_handshake(addr, Purpose::Service(service), ctx).await?;
    ServiceConn::new(framed, est)
        .ok_or(warren_proto::Error::Unexpected("a handshake for another purpose").into())
}
