//! Hand-driven transfer connections: a client that fetches metadata, and a
//! rogue provider that serves what no honest node would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use warren_node::conn::{FrameCodec, Outgoing};
use warren_proto::content::{ContentId, SwarmId};
use warren_proto::files::{FileMsg, MAX_BLOCK};
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Listener, ListenerStep, Purpose};
use warren_proto::msg::Message;
use warren_proto::record::IpAddress;
use warren_proto::{
    BoundedBytes, BoundedVec, Keypair, NodeId, PeerAddr, ProtocolVersion, TransportHint,
};

use super::raw::{keypair, now, policy, record};

pub type Conn = Framed<TcpStream, FrameCodec>;

fn out(channel: Channel, payload: Vec<u8>) -> Outgoing {
    Outgoing {
        channel,
        priority: Priority::Normal,
        payload: payload.into(),
    }
}

pub async fn send(c: &mut Conn, m: FileMsg) {
    c.send(out(Channel::Files, Message::Files(m).encode()))
        .await
        .unwrap();
}

/// The next files message, or None when the stream ends.
pub async fn recv(c: &mut Conn) -> Option<FileMsg> {
    loop {
        let (h, p) = c.next().await?.ok()?;
        match Message::decode(ProtocolVersion::V2, h.channel, &p).ok()? {
            Message::Files(m) => return Some(m),
            Message::Control(_) => continue,
            _ => return None,
        }
    }
}

/// Opens a transfer connection to the node `target` at `at`.
pub async fn dial(at: SocketAddr, target: NodeId, bits: u8) -> Conn {
    let kp = keypair();
    let own = record(&kp, bits, now(), now() + 3600);
    dial_as(at, target, bits, &kp, &own).await
}

/// The same, as the identity `kp` with its record `own` (one identity,
/// many connections).
pub async fn dial_as(
    at: SocketAddr,
    target: NodeId,
    bits: u8,
    kp: &Keypair,
    own: &warren_proto::SignedNodeRecord,
) -> Conn {
    let stream = TcpStream::connect(at).await.unwrap();
    let mut c = Framed::new(stream, FrameCodec);
    let (dialer, hello) = Dialer::start_for(kp.id(), target, [7; 32], Purpose::Transfer).unwrap();
    c.send(out(Channel::Handshake, hello)).await.unwrap();
    let (_, answer) = c.next().await.unwrap().unwrap();
    let (auth, _) = dialer
        .on_answer(&answer, kp, own, now(), &policy(bits))
        .unwrap();
    c.send(out(Channel::Handshake, auth)).await.unwrap();
    c
}

/// Fetches a swarm's encoded manifest and piece table from a node.
pub async fn fetch_meta(
    at: SocketAddr,
    target: NodeId,
    swarm: SwarmId,
    bits: u8,
) -> (ContentId, Vec<u8>, Vec<[u8; 32]>) {
    let mut c = dial(at, target, bits).await;
    send(&mut c, FileMsg::Open { swarm }).await;
    let (content, len) = match recv(&mut c).await.unwrap() {
        FileMsg::Opened {
            content,
            manifest_len,
            ..
        } => (content, manifest_len),
        other => panic!("expected Opened, got {other:?}"),
    };
    let mut bytes = Vec::new();
    while bytes.len() < len as usize {
        send(
            &mut c,
            FileMsg::GetManifest {
                offset: bytes.len() as u32,
            },
        )
        .await;
        loop {
            if let FileMsg::ManifestChunk { data, .. } = recv(&mut c).await.unwrap() {
                bytes.extend_from_slice(data.as_slice());
                break;
            }
        }
    }
    let m = warren_proto::content::Manifest::decode(&bytes).unwrap();
    send(
        &mut c,
        FileMsg::GetHashes {
            first: 0,
            count: m.piece_count() as u16,
        },
    )
    .await;
    let hashes = loop {
        if let FileMsg::Hashes { hashes, .. } = recv(&mut c).await.unwrap() {
            break hashes.into_vec();
        }
    };
    (content, bytes, hashes)
}

/// How a rogue provider misbehaves.
#[derive(Clone, Copy)]
pub enum Rogue {
    /// Right metadata, garbage piece data.
    BadPieces,
    /// Whatever manifest it is given (for evil manifests), garbage pieces.
    AnyManifest,
}

/// A provider that listens on 127.0.0.1 and serves `manifest`/`hashes` for
/// the swarm `content` (public), misbehaving as told. Returns its address
/// and the identities its transfer connections came from, as they come.
pub async fn rogue(
    content: ContentId,
    manifest: Vec<u8>,
    hashes: Vec<[u8; 32]>,
    _how: Rogue,
    bits: u8,
) -> (PeerAddr, Arc<Mutex<Vec<NodeId>>>) {
    let dialers = Arc::new(Mutex::new(Vec::new()));
    let seen = dialers.clone();
    let kp = keypair();
    let id = kp.id();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let (manifest, hashes) = (manifest.clone(), hashes.clone());
            let kp = Keypair::from_seed(kp.seed());
            let seen = seen.clone();
            tokio::spawn(async move {
                let _ = serve_rogue(s, kp, content, manifest, hashes, bits, seen).await;
            });
        }
    });
    let addr = PeerAddr::new(
        id,
        TransportHint::Tcp {
            ip: IpAddress::V4([127, 0, 0, 1]),
            port,
        },
    );
    (addr, dialers)
}

async fn serve_rogue(
    s: TcpStream,
    kp: Keypair,
    content: ContentId,
    manifest: Vec<u8>,
    hashes: Vec<[u8; 32]>,
    bits: u8,
    seen: Arc<Mutex<Vec<NodeId>>>,
) -> Option<()> {
    let mut c = Framed::new(s, FrameCodec);
    let own = record(&kp, bits, now(), now() + 3600);
    let (_, hello) = c.next().await?.ok()?;
    let ListenerStep::Continue(l, accept) = Listener::on_hello(&hello, &kp, &own, [9; 32]).ok()?
    else {
        return None;
    };
    c.send(out(Channel::Handshake, accept)).await.ok()?;
    let (_, auth) = c.next().await?.ok()?;
    let est = l.on_auth(&auth, now(), &policy(bits)).ok()?;
    if est.purpose == Purpose::Transfer {
        if let Ok(mut v) = seen.lock() {
            v.push(est.peer.id());
        }
    }
    if est.purpose != Purpose::Transfer {
        // Peer connections: stay quiet until the other side gives up.
        while c.next().await.is_some() {}
        return Some(());
    }
    let n = hashes.len() as u32;
    loop {
        match recv(&mut c).await? {
            FileMsg::Open { swarm } => {
                if swarm != SwarmId::from(content) {
                    send(&mut c, FileMsg::Unknown).await;
                    return Some(());
                }
                send(
                    &mut c,
                    FileMsg::Opened {
                        content,
                        manifest_len: manifest.len() as u32,
                        ticket: None,
                    },
                )
                .await;
                let bits = vec![0xffu8; (n as usize).div_ceil(8)];
                send(
                    &mut c,
                    FileMsg::Bitfield {
                        first: 0,
                        bits: BoundedBytes::new(bits).unwrap(),
                    },
                )
                .await;
            }
            FileMsg::GetManifest { offset } => {
                let start = (offset as usize).min(manifest.len());
                let end = (start + 32 * 1024).min(manifest.len());
                let data = BoundedBytes::new(manifest[start..end].to_vec()).unwrap();
                send(&mut c, FileMsg::ManifestChunk { offset, data }).await;
            }
            FileMsg::GetHashes { first, count } => {
                let s = (first as usize).min(hashes.len());
                let e = (s + count as usize).min(hashes.len());
                send(
                    &mut c,
                    FileMsg::Hashes {
                        first,
                        hashes: BoundedVec::truncating(hashes[s..e].iter().copied()),
                    },
                )
                .await;
            }
            FileMsg::Request { piece, offset, len } => {
                let data = vec![0xbd; len.min(MAX_BLOCK) as usize];
                send(
                    &mut c,
                    FileMsg::Block {
                        piece,
                        offset,
                        data: BoundedBytes::new(data).unwrap(),
                    },
                )
                .await;
            }
            _ => {}
        }
    }
}

/// What a node at `at` (whose key is `target`) answers to `Open` for
/// `swarm` on a transfer connection of its own. Blocking.
pub fn open_answer(at: SocketAddr, target: NodeId, swarm: SwarmId, bits: u8) -> FileMsg {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = dial(at, target, bits).await;
        send(&mut c, FileMsg::Open { swarm }).await;
        recv(&mut c).await.unwrap()
    })
}
