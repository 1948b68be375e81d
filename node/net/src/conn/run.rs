//! The connection task: a reader and a writer over one framed stream.

use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use warren_proto::frame::{Channel, Priority};
use warren_proto::msg::{CloseReason, ControlMsg, Message, PeerMsg};
use warren_proto::{Error as ProtoError, ProtocolVersion, Verified};

use super::codec::Outgoing;
use super::event::NodeEvent;
use super::handle::{ConnHandle, Outboxes};
use super::handshake::FramedStream;
use super::ratelimit::TokenBucket;
use super::session::ConnCtx;
use super::{ConnError, Ended};
use crate::metrics::Metrics;

/// Runs a connection until either side ends it.
pub(super) async fn run_connection(
    framed: FramedStream,
    handle: ConnHandle,
    outboxes: Outboxes,
    version: ProtocolVersion,
    ctx: &ConnCtx,
) -> Ended {
    let (sink, stream) = framed.split();
    let reader = async {
        let ended = Reader::new(&handle, version, ctx).run(stream).await;
        // Stop the writer; it sends our Close if we gave a reason.
        if let Ended::Local(reason) = ended {
            handle.close(reason);
        } else {
            handle.close_silently();
        }
        ended
    };
    let writer = async {
        if let Err(e) = write_loop(sink, outboxes, &handle, &ctx.metrics).await {
            tracing::debug!(peer = %handle.peer.short(), error = %e, "write failed");
            handle.close_silently();
        }
    };
    let (ended, ()) = tokio::join!(reader, writer);
    ended
}

async fn write_loop(
    mut sink: SplitSink<FramedStream, Outgoing>,
    mut out: Outboxes,
    handle: &ConnHandle,
    metrics: &Metrics,
) -> Result<(), ConnError> {
    loop {
        let first = tokio::select! {
            biased;
            () = handle.cancelled() => break,
            Some(m) = out.control.recv() => m,
            Some(m) = out.normal.recv() => m,
            else => break,
        };
        let mut next = Some(first);
        // Write everything ready, control first, then flush once.
        while let Some(m) = next {
            Metrics::inc(&metrics.net.frames_out);
            Metrics::add(&metrics.net.bytes_out, m.payload.len() as u64);
            sink.feed(m).await?;
            next = out
                .control
                .try_recv()
                .or_else(|_| out.normal.try_recv())
                .ok();
        }
        sink.flush().await?;
    }
    if let Some(reason) = handle.close_reason() {
        let msg = Message::Control(ControlMsg::Close { reason });
        let close = Outgoing {
            channel: Channel::Control,
            priority: Priority::Control,
            payload: msg.encode().into(),
        };
        let _ = timeout(Duration::from_secs(2), sink.send(close)).await;
    }
    let _ = timeout(Duration::from_secs(2), sink.close()).await;
    Ok(())
}

/// The reader's state: everything about the peer that only it touches.
struct Reader<'a> {
    handle: &'a ConnHandle,
    version: ProtocolVersion,
    ctx: &'a ConnCtx,
    frames: TokenBucket,
    /// Unsolicited Peers messages: at most one a second, four at once.
    peers_msgs: TokenBucket,
    last_get_peers: Option<Instant>,
    invalid_records: u32,
}

impl<'a> Reader<'a> {
    fn new(handle: &'a ConnHandle, version: ProtocolVersion, ctx: &'a ConnCtx) -> Self {
        let l = &ctx.config;
        Reader {
            handle,
            version,
            ctx,
            frames: TokenBucket::new(l.peer_frames_per_sec, l.peer_frame_burst),
            peers_msgs: TokenBucket::new(1, 4),
            last_get_peers: None,
            invalid_records: 0,
        }
    }

    async fn run(&mut self, mut stream: SplitStream<FramedStream>) -> Ended {
        let idle = self.ctx.config.idle_timeout;
        let ping_after = self.ctx.config.ping_interval;
        let mut last_rx = Instant::now();
        let mut pinged = false;
        loop {
            let next = tokio::select! {
                biased;
                () = self.handle.cancelled() => {
                    return Ended::Local(self.handle.close_reason().unwrap_or(CloseReason::Normal));
                }
                () = sleep_until(last_rx + idle) => return Ended::Local(CloseReason::IdleTimeout),
                () = sleep_until(last_rx + ping_after), if !pinged => {
                    pinged = true;
                    let nonce = fastrand::u64(..);
                    if self.handle.send_control(ControlMsg::Ping { nonce }).is_err() {
                        Metrics::inc(&self.ctx.metrics.net.outbox_drops);
                    }
                    continue;
                }
                f = stream.next() => f,
            };
            let (header, payload) = match next {
                None => return Ended::Eof,
                Some(Err(e)) => return self.violation(ConnError::from(e)),
                Some(Ok(f)) => f,
            };
            last_rx = Instant::now();
            pinged = false;
            Metrics::inc(&self.ctx.metrics.net.frames_in);
            Metrics::add(&self.ctx.metrics.net.bytes_in, payload.len() as u64);
            // Backpressure: a peer over its rate is simply read more slowly.
            let wait = self.frames.take();
            if !wait.is_zero() {
                Metrics::inc(&self.ctx.metrics.net.rate_limited);
                tokio::select! {
                    () = sleep(wait) => {}
                    () = self.handle.cancelled() => continue,
                }
            }
            let msg = match Message::decode(self.version, header.channel, &payload) {
                Ok(m) => m,
                Err(e) => return self.violation(e.into()),
            };
            if let Some(end) = self.on_message(msg) {
                return end;
            }
        }
    }

    fn violation(&self, e: ConnError) -> Ended {
        tracing::debug!(peer = %self.handle.peer.short(), error = %e, "protocol violation");
        Metrics::inc(&self.ctx.metrics.net.protocol_violations);
        self.ctx.metrics.reject(e.label());
        match e {
            ConnError::Io(_) => Ended::Error("io"),
            _ => Ended::Local(CloseReason::ProtocolViolation),
        }
    }

    fn on_message(&mut self, msg: Message) -> Option<Ended> {
        let m = &self.ctx.metrics;
        match msg {
            Message::Control(ControlMsg::Ping { nonce }) => {
                if self
                    .handle
                    .send_control(ControlMsg::Pong { nonce })
                    .is_err()
                {
                    Metrics::inc(&m.net.outbox_drops);
                }
            }
            Message::Control(ControlMsg::Pong { .. }) => {}
            Message::Control(ControlMsg::Close { reason }) => return Some(Ended::Remote(reason)),
            Message::Peers(PeerMsg::GetPeers { max }) => {
                let min = self.ctx.config.get_peers_min_interval;
                let now = Instant::now();
                if self.last_get_peers.is_some_and(|t| now < t + min) {
                    Metrics::inc(&m.net.get_peers_throttled);
                    return None;
                }
                self.last_get_peers = Some(now);
                let ev = NodeEvent::GetPeers {
                    conn: self.handle.clone(),
                    max,
                };
                if self.ctx.events.try_send(ev).is_err() {
                    Metrics::inc(&m.net.inbox_drops);
                }
            }
            Message::Peers(PeerMsg::Peers { records }) => {
                if !self.peers_msgs.try_take() {
                    Metrics::inc(&m.net.rate_limited);
                    return None;
                }
                return self.on_records(records.into_vec());
            }
            msg @ Message::Tracker(_) => {
                let ev = NodeEvent::Message {
                    conn: self.handle.clone(),
                    msg: Box::new(msg),
                };
                if self.ctx.events.try_send(ev).is_err() {
                    Metrics::inc(&m.net.inbox_drops);
                }
            }
            // File data travels on transfer connections only.
            Message::Files(_) => {
                Metrics::inc(&m.net.protocol_violations);
                m.reject("files_on_peer_connection");
                return Some(Ended::Local(CloseReason::ProtocolViolation));
            }
            // A service's messages travel on its own connections only.
            Message::Service(_) => {
                Metrics::inc(&m.net.protocol_violations);
                m.reject("service_on_peer_connection");
                return Some(Ended::Local(CloseReason::ProtocolViolation));
            }
        }
        None
    }

    fn on_records(&mut self, records: Vec<warren_proto::SignedNodeRecord>) -> Option<Ended> {
        let m = &self.ctx.metrics;
        let now = self.ctx.clock.unix_now();
        let mut good: Vec<Verified> = Vec::with_capacity(records.len());
        for r in records {
            match r.verify(now, &self.ctx.policy) {
                Ok(v) => good.push(v),
                Err(e) => {
                    Metrics::inc(&m.net.records_rejected);
                    m.reject(e.label());
                    // Honest nodes may pass on records that expired or are
                    // dated ahead of our clock; forgeries are another matter.
                    if matches!(
                        e,
                        ProtoError::BadSignature
                            | ProtoError::InsufficientWork { .. }
                            | ProtoError::BadValidity { .. }
                    ) {
                        self.invalid_records += 1;
                    }
                }
            }
        }
        if !good.is_empty() {
            let ev = NodeEvent::Records {
                from: self.handle.peer,
                records: good,
            };
            if self.ctx.events.try_send(ev).is_err() {
                Metrics::inc(&m.net.inbox_drops);
            }
        }
        if self.invalid_records > self.ctx.config.misbehavior_limit {
            Metrics::inc(&m.net.peers_banned);
            let _ = self.ctx.events.try_send(NodeEvent::Misbehaved {
                peer: self.handle.peer,
            });
            return Some(Ended::Local(CloseReason::Misbehaving));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tokio_util::codec::{Framed, FramedRead};
    use warren_proto::Keypair;
    use warren_proto::frame::Channel;
    use warren_proto::msg::{ControlMsg, PeerMsg};

    use super::write_loop;
    use crate::conn::{ConnHandle, Direction, FrameCodec};
    use crate::metrics::Metrics;
    use crate::transport::BoxStream;

    #[tokio::test]
    async fn control_frames_overtake_queued_service_frames() {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (sink, _stream) = Framed::new(Box::new(ours) as BoxStream, FrameCodec).split();
        let peer = Keypair::from_seed(&[1; 32]).id();
        let (handle, outboxes) = ConnHandle::new(1, peer, Direction::Outbound, 4, 64);
        for i in 0..50 {
            handle.send_peers(PeerMsg::GetPeers { max: i }).unwrap();
        }
        handle.send_control(ControlMsg::Ping { nonce: 7 }).unwrap();
        // A full outbox drops instead of waiting.
        for _ in 0..14 {
            handle.send_peers(PeerMsg::GetPeers { max: 0 }).unwrap();
        }
        assert!(handle.send_peers(PeerMsg::GetPeers { max: 0 }).is_err());
        let metrics = Metrics::default();
        let writer = tokio::spawn({
            let handle = handle.clone();
            async move { write_loop(sink, outboxes, &handle, &metrics).await.unwrap() }
        });
        let mut frames = FramedRead::new(theirs, FrameCodec);
        let (first, _) = frames.next().await.unwrap().unwrap();
        assert_eq!(
            first.channel,
            Channel::Control,
            "the ping was queued last but goes first"
        );
        for _ in 0..64 {
            let (h, _) = frames.next().await.unwrap().unwrap();
            assert_eq!(h.channel, Channel::Peers);
        }
        handle.close_silently();
        writer.await.unwrap();
    }
}
