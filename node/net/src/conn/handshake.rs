//! Drives the protocol crate's handshake state machines over a stream.

use futures::{SinkExt, StreamExt};
use tokio_util::codec::Framed;
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Established, Listener, ListenerStep, Purpose};
use warren_proto::{Error as ProtoError, NodeId};

use super::ConnError;
use super::codec::{FrameCodec, Outgoing};
use super::session::ConnCtx;
use crate::transport::BoxStream;

/// A framed stream.
pub type FramedStream = Framed<BoxStream, FrameCodec>;

fn nonce() -> Result<[u8; 32], ConnError> {
    let mut n = [0u8; 32];
    getrandom::fill(&mut n).map_err(|e| ConnError::Io(std::io::Error::other(e.to_string())))?;
    Ok(n)
}

async fn send(framed: &mut FramedStream, payload: Vec<u8>) -> Result<(), ConnError> {
    framed
        .send(Outgoing {
            channel: Channel::Handshake,
            priority: Priority::Control,
            payload: payload.into(),
        })
        .await?;
    Ok(())
}

async fn recv(framed: &mut FramedStream) -> Result<bytes::Bytes, ConnError> {
    match framed.next().await {
        Some(Ok((h, payload))) if h.channel == Channel::Handshake => Ok(payload),
        Some(Ok(_)) => Err(ProtoError::Unexpected("frame outside the handshake channel").into()),
        Some(Err(e)) => Err(e.into()),
        None => Err(ConnError::Closed),
    }
}

/// Runs the dialer's side against a node that must be `expected`.
pub(super) async fn dial(
    framed: &mut FramedStream,
    expected: NodeId,
    purpose: Purpose,
    ctx: &ConnCtx,
) -> Result<Established, ConnError> {
    let (dialer, hello) = Dialer::start_for(ctx.keypair.id(), expected, nonce()?, purpose)?;
    send(framed, hello).await?;
    let answer = recv(framed).await?;
    let own = ctx.own_record.borrow().clone();
    let (auth, est) = dialer.on_answer(
        &answer,
        &ctx.keypair,
        &own,
        ctx.clock.unix_now(),
        &ctx.policy,
    )?;
    send(framed, auth).await?;
    Ok(est)
}

/// Runs the listener's side; learns who dialed.
pub(super) async fn accept(
    framed: &mut FramedStream,
    ctx: &ConnCtx,
) -> Result<Established, ConnError> {
    let hello = recv(framed).await?;
    let own = ctx.own_record.borrow().clone();
    match Listener::on_hello(&hello, &ctx.keypair, &own, nonce()?)? {
        ListenerStep::Continue(listener, accept) => {
            send(framed, accept).await?;
            let auth = recv(framed).await?;
            Ok(listener.on_auth(&auth, ctx.clock.unix_now(), &ctx.policy)?)
        }
        ListenerStep::Reject(reject, err) => {
            send(framed, reject).await?;
            Err(err.into())
        }
    }
}
