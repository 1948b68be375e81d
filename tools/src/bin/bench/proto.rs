//! Handshakes per second and frame throughput.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use warren_node::conn::{FrameCodec, Outgoing};
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Listener, ListenerStep};
use warren_proto::msg::{ControlMsg, MAX_PEERS_PER_MESSAGE, Message, PeerMsg};
use warren_proto::record::IpAddress;
use warren_proto::{
    BoundedVec, Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord,
    TransportHint,
};

const NOW: u64 = 1_795_219_200;

fn record(kp: &Keypair, bits: u8) -> SignedNodeRecord {
    let pow_nonce =
        warren_proto::pow::mine(&kp.id(), Difficulty::new(bits).unwrap(), 0, 1, u64::MAX).unwrap();
    NodeRecord {
        id: kp.id(),
        role: Role::Member,
        services: Services::PEER_EXCHANGE,
        hints: heapless::Vec::from_iter([
            TransportHint::Onion { port: 7447 },
            TransportHint::Tcp {
                ip: IpAddress::V4([127, 0, 0, 1]),
                port: 7447,
            },
        ]),
        issued_at: NOW,
        expires_at: NOW + 86_400,
        pow_nonce,
    }
    .sign(kp)
    .unwrap()
}

pub(crate) fn run() {
    println!("\n== protocol (one thread, no I/O)");
    handshakes();
    frames();
    super::proto_net::run();
}

fn handshakes() {
    let policy = RecordPolicy {
        difficulty: Difficulty::new(16).unwrap(),
        max_validity: 7 * 86_400,
        max_clock_skew: 600,
    };
    let (d, l) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
    let (rd, rl) = (record(&d, 16), record(&l, 16));
    let n = 2_000;
    let t = Instant::now();
    for i in 0..n {
        let mut nonce = [0u8; 32];
        nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let (dialer, hello) = Dialer::start(d.id(), l.id(), nonce).unwrap();
        let ListenerStep::Continue(listener, accept) =
            Listener::on_hello(&hello, &l, &rl, nonce).unwrap()
        else {
            panic!()
        };
        let (auth, _) = dialer.on_answer(&accept, &d, &rd, NOW, &policy).unwrap();
        listener.on_auth(&auth, NOW, &policy).unwrap();
    }
    let el = t.elapsed();
    println!(
        "handshake (both sides: 2 signs, 4 verifies, 2 work checks): {:.0} handshakes/s, {:.1} µs each",
        n as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / n as f64
    );
}

/// Encodes `msg` into frames and decodes them again through the node's
/// own codec over a byte buffer, as a connection does: message encoding,
/// framing, header checks, payload split, message decoding (which checks
/// every key in a record).
fn throughput(name: &str, make: impl Fn() -> Outgoing, decode: bool) {
    let sample = make();
    let size = sample.payload.len() + 8;
    let n = (100_000_000 / size).clamp(2_000, 2_000_000);
    let mut codec = FrameCodec;
    let mut wire = BytesMut::with_capacity(n * size);
    let t = Instant::now();
    for _ in 0..n {
        codec.encode(make(), &mut wire).unwrap();
    }
    let enc = t.elapsed();
    // Feed the bytes in 64 KiB reads, as a socket would.
    let all = wire.freeze();
    let t = Instant::now();
    let mut buf = BytesMut::with_capacity(128 * 1024);
    let mut frames = 0usize;
    for chunk in all.chunks(64 * 1024) {
        buf.extend_from_slice(chunk);
        while let Some((h, payload)) = codec.decode(&mut buf).unwrap() {
            if decode {
                std::hint::black_box(
                    Message::decode(warren_proto::ProtocolVersion::LATEST, h.channel, &payload)
                        .unwrap(),
                );
            }
            std::hint::black_box(&payload);
            frames += 1;
        }
    }
    let dec = t.elapsed();
    assert_eq!(frames, n);
    let bytes = (n * size) as f64;
    let rate = |d: Duration| {
        format!(
            "{:.2} M frames/s, {:.0} MB/s",
            n as f64 / d.as_secs_f64() / 1e6,
            bytes / d.as_secs_f64() / 1e6
        )
    };
    println!(
        "frames {name} ({size} B on the wire): encode {}; decode {}",
        rate(enc),
        rate(dec)
    );
}

fn frames() {
    throughput(
        "ping",
        || {
            let m = Message::Control(ControlMsg::Ping { nonce: 0x1234_5678 });
            Outgoing {
                channel: m.channel(),
                priority: Priority::Control,
                payload: m.encode().into(),
            }
        },
        true,
    );
    let kps: Vec<Keypair> = (0..MAX_PEERS_PER_MESSAGE as u8)
        .map(|i| Keypair::from_seed(&[i + 10; 32]))
        .collect();
    let records: Vec<SignedNodeRecord> = kps.iter().map(|k| record(k, 8)).collect();
    throughput(
        "peers (32 records)",
        || {
            let m = Message::Peers(PeerMsg::Peers {
                records: BoundedVec::truncating(records.clone()),
            });
            Outgoing {
                channel: m.channel(),
                priority: Priority::Normal,
                payload: m.encode().into(),
            }
        },
        true,
    );
    let bulk = vec![0xa5u8; 16 * 1024];
    throughput(
        "16 KiB opaque payload, framing only",
        || Outgoing {
            channel: Channel::Peers,
            priority: Priority::Bulk,
            payload: bulk.clone().into(),
        },
        false,
    );
}
