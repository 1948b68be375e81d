//! One connection's life: dial or accept, handshake, admission, run, report.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::SinkExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::timeout;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::Purpose;
use warren_proto::msg::{CloseReason, ControlMsg, Message, PeerMsg};
use warren_proto::{BoundedVec, Keypair, NodeId, PeerAddr, RecordPolicy, SignedNodeRecord};

use super::accept::{HandshakeSlot, InboundSlots};
use super::codec::{FrameCodec, Outgoing};
use super::config::ConnConfig;
use super::event::{Admission, NodeEvent};
use super::handle::{ConnHandle, Direction};
use super::handshake::{self, FramedStream};
use super::router::Router;
use super::run::run_connection;
use super::{ConnError, Ended};
use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::transport::{BoxStream, Transport};

/// What every connection task shares.
pub struct ConnCtx {
    /// The identity this context listens and dials as.
    pub keypair: Arc<Keypair>,
    /// The node's current record (re-issued from time to time).
    pub own_record: watch::Receiver<SignedNodeRecord>,
    /// Records to hand to a node we turn away (refreshed by the node).
    pub busy_sample: watch::Receiver<Arc<Vec<SignedNodeRecord>>>,
    /// The trusted nodes (refreshed by the node when its trust list
    /// changes): they may take the inbound slots kept for them.
    pub trusted: watch::Receiver<Arc<HashSet<NodeId>>>,
    /// The community's rules for records (proof of work, validity).
    pub policy: RecordPolicy,
    /// Wall time.
    pub clock: SharedClock,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// To the node task. Lifecycle events wait; data events drop when full.
    pub events: mpsc::Sender<NodeEvent>,
    /// How peers are reached.
    pub transport: Arc<dyn Transport>,
    /// Timeouts and caps.
    pub config: ConnConfig,
    /// Fires when the node (or this identity) stops.
    pub shutdown: CancellationToken,
    /// The next connection's number (for logs and the node's tables).
    pub next_conn_id: AtomicU64,
    /// Which service serves an inbound connection, by purpose.
    pub router: Router,
    /// Set for another identity of this node (a share's own address): it
    /// accepts transfer connections only, and never talks to the node task.
    pub extra: bool,
}

impl std::fmt::Debug for ConnCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnCtx")
            .field("id", &self.keypair.id().short())
            .field("transport", &self.transport.name())
            .field("router", &self.router)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl ConnCtx {
    /// The context of another identity of this node (a share's own
    /// address, a download's dialing identity): its key and record, the
    /// services it serves inbound (none: it only dials), and a shutdown.
    pub fn for_extra(
        &self,
        keypair: Arc<Keypair>,
        own_record: watch::Receiver<SignedNodeRecord>,
        router: Router,
        shutdown: CancellationToken,
    ) -> ConnCtx {
        let (events, _) = mpsc::channel(1);
        ConnCtx {
            keypair,
            own_record,
            busy_sample: self.busy_sample.clone(),
            trusted: self.trusted.clone(),
            policy: self.policy,
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            // Nothing reaches the node task from here.
            events,
            transport: self.transport.clone(),
            config: self.config.clone(),
            shutdown,
            next_conn_id: AtomicU64::new(1),
            router,
            extra: true,
        }
    }

    fn conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    fn handshake_failed(&self, e: &ConnError) {
        Metrics::inc(&self.metrics.net.handshakes_failed);
        self.metrics.reject(e.label());
    }
}

/// Serves one inbound stream: handshake, then a connection slot (or a busy
/// redirect when there is none), admission, connection.
///
/// `slot` is held until the handshake is over; if it is taken back (the
/// node needs room for newer dialers) the handshake is abandoned.
pub(crate) async fn serve_inbound(
    stream: BoxStream,
    ctx: Arc<ConnCtx>,
    slot: HandshakeSlot,
    caps: InboundSlots,
) {
    let mut framed = Framed::new(stream, FrameCodec);
    let Some(hs) = accept_in_slot(&mut framed, &ctx, &slot).await else {
        return;
    };
    drop(slot);
    let est = match hs {
        Ok(Ok(est)) => est,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "inbound handshake failed");
            return ctx.handshake_failed(&e);
        }
        Err(_) => return ctx.handshake_failed(&ConnError::Timeout),
    };
    Metrics::inc(&ctx.metrics.net.handshakes_ok);
    if est.purpose != Purpose::Peer || ctx.extra {
        // A service's connection (a share's own address is not a node:
        // it serves its services only).
        match ctx.router.get(&est.purpose) {
            Some(handler) => handler.accept(framed, est, ctx.clone()).await,
            None => send_close(&mut framed, CloseReason::Normal).await,
        }
        return;
    }
    let trusted = ctx.trusted.borrow().contains(&est.peer.id());
    let slot = caps.conns.clone().try_acquire_owned().or_else(|e| {
        if trusted {
            caps.reserved.clone().try_acquire_owned()
        } else {
            Err(e)
        }
    });
    if let Ok(conn_slot) = slot {
        run_admitted(framed, est.peer, est.version, Direction::Inbound, ctx).await;
        drop(conn_slot);
    } else if let Ok(busy) = caps.busy.try_acquire_owned() {
        busy_redirect(framed, est.peer.id(), &ctx).await;
        drop(busy);
    } else {
        Metrics::inc(&ctx.metrics.net.streams_dropped_overload);
    }
}

/// The listener's handshake, bounded by the timeout, shutdown and eviction.
async fn accept_in_slot(
    framed: &mut FramedStream,
    ctx: &ConnCtx,
    slot: &HandshakeSlot,
) -> Option<
    Result<Result<warren_proto::handshake::Established, ConnError>, tokio::time::error::Elapsed>,
> {
    tokio::select! {
        r = timeout(ctx.config.handshake_timeout, handshake::accept(framed, ctx)) => Some(r),
        () = ctx.shutdown.cancelled() => None,
        () = slot.evicted.cancelled() => {
            ctx.handshake_failed(&ConnError::Timeout);
            None
        }
    }
}

/// Dials `addr` and runs the connection; reports failure to the node.
pub async fn dial_outbound(addr: PeerAddr, ctx: Arc<ConnCtx>) {
    let result = tokio::select! {
        r = dial_and_handshake(&addr, Purpose::Peer, &ctx) => r,
        () = ctx.shutdown.cancelled() => return,
    };
    match result {
        Ok((framed, est)) => {
            Metrics::inc(&ctx.metrics.net.handshakes_ok);
            run_admitted(framed, est.peer, est.version, Direction::Outbound, ctx).await;
        }
        Err(error) => {
            tracing::debug!(peer = %addr, %error, "dial failed");
            let _ = ctx
                .events
                .send(NodeEvent::DialFailed {
                    target: addr.id,
                    error: error.to_string(),
                })
                .await;
        }
    }
}

/// Opens a transfer connection to `addr` on a circuit of its own.
///
/// # Errors
/// [`ConnError::Dial`] or [`ConnError::DialTimeout`] when the peer is not
/// reached; the handshake's own error (or [`ConnError::Timeout`]) after.
pub async fn dial_transfer(
    addr: &PeerAddr,
    ctx: &ConnCtx,
) -> Result<(FramedStream, warren_proto::handshake::Established), ConnError> {
    dial_and_handshake(addr, Purpose::Transfer, ctx).await
}

pub(super) async fn dial_and_handshake(
    addr: &PeerAddr,
    purpose: Purpose,
    ctx: &ConnCtx,
) -> Result<(FramedStream, warren_proto::handshake::Established), ConnError> {
    let dial = async {
        match &purpose {
            Purpose::Peer => ctx.transport.dial(addr).await,
            _ => ctx.transport.dial_isolated(addr).await,
        }
    };
    let stream = match timeout(ctx.config.dial_timeout, dial).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            Metrics::inc(&ctx.metrics.net.dials_failed);
            return Err(e.into());
        }
        Err(_) => {
            Metrics::inc(&ctx.metrics.net.dials_failed);
            return Err(ConnError::DialTimeout);
        }
    };
    let mut framed = Framed::new(stream, FrameCodec);
    match timeout(
        ctx.config.handshake_timeout,
        handshake::dial(&mut framed, addr.id, purpose, ctx),
    )
    .await
    {
        Ok(Ok(est)) => Ok((framed, est)),
        Ok(Err(e)) => {
            ctx.handshake_failed(&e);
            Err(ConnError::Handshake(Box::new(e)))
        }
        Err(_) => {
            ctx.handshake_failed(&ConnError::Timeout);
            Err(ConnError::Handshake(Box::new(ConnError::Timeout)))
        }
    }
}

/// Asks the node to admit the peer, then runs the connection until it ends.
async fn run_admitted(
    mut framed: FramedStream,
    peer: warren_proto::Verified,
    version: warren_proto::ProtocolVersion,
    direction: Direction,
    ctx: Arc<ConnCtx>,
) {
    let (handle, outboxes) = ConnHandle::new(
        ctx.conn_id(),
        peer.id(),
        direction,
        ctx.config.outbox_control,
        ctx.config.outbox_normal,
    );
    let (reply, admission) = oneshot::channel();
    let connected = NodeEvent::Connected {
        handle: handle.clone(),
        record: Box::new(peer),
        reply,
    };
    if ctx.events.send(connected).await.is_err() {
        return;
    }
    match admission.await {
        Ok(Admission::Admit) => {}
        Ok(Admission::Refuse(reason)) => {
            send_close(&mut framed, reason).await;
            return;
        }
        Err(_) => return,
    }
    let ended = run_connection(framed, handle.clone(), outboxes, version, &ctx).await;
    tracing::debug!(peer = %handle.peer.short(), ?ended, "connection ended");
    let _ = ctx
        .events
        .send(NodeEvent::Disconnected {
            conn_id: handle.conn_id,
            peer: handle.peer,
            ended,
        })
        .await;
}

pub(super) async fn send_close(framed: &mut FramedStream, reason: CloseReason) {
    let msg = Message::Control(ControlMsg::Close { reason });
    let out = Outgoing {
        channel: Channel::Control,
        priority: Priority::Control,
        payload: msg.encode().into(),
    };
    let _ = timeout(std::time::Duration::from_secs(2), async {
        framed.send(out).await?;
        framed.close().await
    })
    .await;
}

/// Turns a node away politely: some peers to try instead, then `Busy`.
async fn busy_redirect(mut framed: FramedStream, peer: warren_proto::NodeId, ctx: &ConnCtx) {
    Metrics::inc(&ctx.metrics.net.busy_redirects);
    let sample = ctx.busy_sample.borrow().clone();
    let records = BoundedVec::truncating(sample.iter().filter(|r| r.id() != peer).cloned());
    let msg = Message::Peers(PeerMsg::Peers { records });
    let out = Outgoing {
        channel: Channel::Peers,
        priority: Priority::Normal,
        payload: msg.encode().into(),
    };
    let _ = timeout(std::time::Duration::from_secs(5), framed.send(out)).await;
    send_close(&mut framed, CloseReason::Busy).await;
}

/// Why a connection counts as a failure for reconnect backoff.
pub fn is_failure(ended: &Ended) -> bool {
    !matches!(
        ended,
        Ended::Local(CloseReason::Shutdown | CloseReason::Duplicate | CloseReason::Normal)
    )
}
