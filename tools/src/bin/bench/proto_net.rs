//! End-to-end handshakes against a real node over loopback TCP.

use std::sync::Arc;
use std::time::Instant;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use warren_node::clock::{Clock, SystemClock};
use warren_node::config::Config;
use warren_node::conn::{FrameCodec, Outgoing};
use warren_node::daemon::{Node, NodeOptions};
use warren_node::identity::Identity;
use warren_node::store::Db;
use warren_node::transport::TcpTransport;
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::Dialer;
use warren_proto::{Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services};

pub(crate) fn run() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let mut config = Config::default();
    config.community.pow_difficulty = 16;
    config.limits.max_inbound = 1024;
    let bits = Difficulty::new(16).unwrap();
    let node = Node::start(NodeOptions {
        config,
        identity: Identity::generate(bits).unwrap(),
        db: Db::in_memory().unwrap(),
        transport: Arc::new(TcpTransport::new(
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        )),
        clock: Arc::new(SystemClock),
        mirror_dir: None,
        mail_db: None,
        services: Vec::new(),
    })
    .await
    .unwrap();
    let status = node.handle().status().await.unwrap();
    let at: std::net::SocketAddr = status.listen.unwrap().parse().unwrap();
    let target = node.handle().id();
    let policy = RecordPolicy {
        difficulty: bits,
        max_validity: 7 * 86_400,
        max_clock_skew: 600,
    };
    // A fixed set of client identities (mined once), reused round-robin.
    let clients: Vec<(Arc<Keypair>, warren_proto::SignedNodeRecord)> = (0..8u8)
        .map(|i| {
            let id = Identity::generate(bits).unwrap();
            let now = SystemClock.unix_now();
            let rec = NodeRecord {
                id: id.keypair.id(),
                role: Role::Member,
                services: Services::PEER_EXCHANGE,
                hints: heapless::Vec::new(),
                issued_at: now,
                expires_at: now + 3600,
                pow_nonce: id.pow_nonce,
            }
            .sign(&id.keypair)
            .unwrap();
            let _ = i;
            (id.keypair, rec)
        })
        .collect();
    let n = 2000usize;
    let concurrency = 8;
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..concurrency {
        let (kp, rec) = clients[c % clients.len()].clone();
        set.spawn(async move {
            for i in 0..n / concurrency {
                let stream = TcpStream::connect(at).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut framed = Framed::new(stream, FrameCodec);
                let mut nonce = [0u8; 32];
                nonce[..8].copy_from_slice(&((c * n + i) as u64).to_le_bytes());
                let (dialer, hello) = Dialer::start(kp.id(), target, nonce).unwrap();
                framed
                    .send(Outgoing {
                        channel: Channel::Handshake,
                        priority: Priority::Control,
                        payload: hello.into(),
                    })
                    .await
                    .unwrap();
                let (_, answer) = framed.next().await.unwrap().unwrap();
                let (auth, _) = dialer
                    .on_answer(&answer, &kp, &rec, SystemClock.unix_now(), &policy)
                    .unwrap();
                framed
                    .send(Outgoing {
                        channel: Channel::Handshake,
                        priority: Priority::Control,
                        payload: auth.into(),
                    })
                    .await
                    .unwrap();
                // Wait for the node's first message (its GetPeers): the
                // connection is admitted and running.
                let _ = framed.next().await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let el = t.elapsed();
    println!(
        "handshake against a running node over loopback TCP ({concurrency} clients, connect → admitted): {:.0} handshakes/s",
        n as f64 / el.as_secs_f64()
    );
    node.shutdown().await;
}
