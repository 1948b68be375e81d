//! A hand-driven protocol peer, for tests that must send what no honest
//! node would.

use std::net::SocketAddr;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use warren_node::conn::{FrameCodec, Outgoing};
use warren_proto::frame::{Channel, Header, Priority};
use warren_proto::handshake::Dialer;
use warren_proto::msg::{Message, PeerMsg};
use warren_proto::record::IpAddress;
use warren_proto::{
    BoundedVec, Difficulty, Keypair, NodeId, NodeRecord, RecordPolicy, Role, Services,
    SignedNodeRecord, TransportHint, pow,
};

pub struct RawPeer {
    pub framed: Framed<TcpStream, FrameCodec>,
    pub keypair: Keypair,
}

pub fn now() -> u64 {
    use warren_node::clock::Clock;
    warren_node::clock::SystemClock.unix_now()
}

pub fn keypair() -> Keypair {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    Keypair::from_seed(&seed)
}

/// A record for `kp`, with work `bits` and the given times.
pub fn record(kp: &Keypair, bits: u8, issued_at: u64, expires_at: u64) -> SignedNodeRecord {
    let pow_nonce = pow::mine(&kp.id(), Difficulty::new(bits).unwrap(), 0, 1, u64::MAX).unwrap();
    NodeRecord {
        id: kp.id(),
        role: Role::Member,
        services: Services::PEER_EXCHANGE,
        // Nobody listens here: dialing it fails at once.
        hints: heapless::Vec::from_iter([TransportHint::Tcp {
            ip: IpAddress::V4([127, 0, 0, 1]),
            port: 9,
        }]),
        issued_at,
        expires_at,
        pow_nonce,
    }
    .sign(kp)
    .unwrap()
}

pub fn policy(bits: u8) -> RecordPolicy {
    RecordPolicy {
        difficulty: Difficulty::new(bits).unwrap(),
        max_validity: 7 * 86_400,
        max_clock_skew: 600,
    }
}

impl RawPeer {
    /// Connects to `at`, completes a real handshake with the node `target`.
    pub async fn connect(at: SocketAddr, target: NodeId, keypair: Keypair, bits: u8) -> RawPeer {
        let stream = TcpStream::connect(at).await.unwrap();
        let mut framed = Framed::new(stream, FrameCodec);
        let own = record(&keypair, bits, now(), now() + 3600);
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce).unwrap();
        let (dialer, hello) = Dialer::start(keypair.id(), target, nonce).unwrap();
        framed.send(out(Channel::Handshake, hello)).await.unwrap();
        let (_, answer) = framed.next().await.unwrap().unwrap();
        let (auth, _) = dialer
            .on_answer(&answer, &keypair, &own, now(), &policy(bits))
            .unwrap();
        framed.send(out(Channel::Handshake, auth)).await.unwrap();
        RawPeer { framed, keypair }
    }

    pub async fn send(&mut self, msg: Message) -> std::io::Result<()> {
        self.framed
            .send(out(msg.channel(), msg.encode()))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    pub async fn send_records(&mut self, records: Vec<SignedNodeRecord>) -> std::io::Result<()> {
        self.send(Message::Peers(PeerMsg::Peers {
            records: BoundedVec::truncating(records),
        }))
        .await
    }

    /// The next frame, or `None` when the node closed the stream.
    pub async fn recv(&mut self) -> Option<(Header, Bytes)> {
        match self.framed.next().await {
            Some(Ok(f)) => Some(f),
            _ => None,
        }
    }
}

pub fn out(channel: Channel, payload: Vec<u8>) -> Outgoing {
    let priority = if channel == Channel::Peers {
        Priority::Normal
    } else {
        Priority::Control
    };
    Outgoing {
        channel,
        priority,
        payload: payload.into(),
    }
}
