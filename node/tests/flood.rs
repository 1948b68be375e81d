//! A node under attack keeps serving its honest peer.
//!
//! The target is a real `warren` process. While an honest node stays
//! connected to it, this test throws at it: 100,000 garbage frames over
//! 1,000 connections, authenticated peers sending forged, under-worked,
//! expired, future-dated and over-long records, and a peer that floods
//! pings without reading the answers. The node must answer its control
//! socket throughout, keep the honest connection, count every refusal,
//! ban the forgers, keep its tables clean and its memory flat.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::raw::{RawPeer, keypair, now, record};
use common::{NodeProc, TEST_BITS, listen_addr, wait_for, warren_ok, write_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warren_proto::msg::{ControlMsg, Message};
use warren_proto::{Bytes64, Difficulty, NodeId, SignedNodeRecord, pow};

const GARBAGE_CONNECTIONS: usize = 1_000;
const FRAMES_PER_CONNECTION: usize = 100;

/// One garbage frame of kind `k`.
fn garbage_frame(k: u8, rng: &mut fastrand::Rng) -> Vec<u8> {
    let payload: Vec<u8> = (0..rng.usize(1..200)).map(|_| rng.u8(..)).collect();
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = match k % 7 {
        0 => vec![len[0], len[1], len[2], len[3], 0, 0, 0, 0], // handshake channel, junk payload
        1 => vec![len[0], len[1], len[2], len[3], 0, 1, 0, 0], // control before the handshake
        2 => vec![len[0], len[1], len[2], len[3], 0, 7, 1, 0], // unknown channel
        3 => vec![len[0], len[1], len[2], len[3], 0, 2, 9, 0], // unknown priority
        4 => vec![len[0], len[1], len[2], len[3], 0, 0, 0, 0x40], // reserved flags
        5 => vec![0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0],         // 1 MiB frame
        _ => (0..8).map(|_| rng.u8(..)).collect(),             // noise
    };
    f.extend_from_slice(&payload);
    f
}

async fn throw_garbage(at: SocketAddr, seed: u64) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = Vec::new();
    for _ in 0..FRAMES_PER_CONNECTION {
        let k = rng.u8(..);
        buf.extend(garbage_frame(k, &mut rng));
    }
    let Ok(mut s) = tokio::net::TcpStream::connect(at).await else {
        return 0;
    };
    // The node hangs up at the first bad frame; the rest may hit a closed socket.
    let _ = s.write_all(&buf).await;
    let _ = s.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    FRAMES_PER_CONNECTION
}

/// 32 records that no honest node would send; their ids are returned too.
fn bogus_records(bits: u8) -> (Vec<SignedNodeRecord>, Vec<NodeId>) {
    let t = now();
    let mut out = Vec::new();
    for i in 0..32 {
        let kp = keypair();
        let r = match i % 5 {
            0 => {
                let mut r = record(&kp, bits, t, t + 3600);
                r.signature = Bytes64([i as u8; 64]); // forged
                r
            }
            1 => {
                // Signed, but without the work.
                let mut body = record(&kp, 0, t, t + 3600).record;
                body.pow_nonce = (0..)
                    .find(|n| pow::verify(&kp.id(), *n, Difficulty::new(bits).unwrap()).is_err())
                    .unwrap();
                body.sign(&kp).unwrap()
            }
            2 => record(&kp, bits, t - 10_000, t - 5_000), // expired
            3 => record(&kp, bits, t + 7_200, t + 10_000), // future-dated
            _ => record(&kp, bits, t, t + 30 * 86_400),    // valid far too long
        };
        out.push(r);
    }
    let ids = out.iter().map(|r| r.id()).collect();
    (out, ids)
}

struct Attack {
    garbage_frames: usize,
    bogus_records: usize,
    bogus_ids: Vec<NodeId>,
    forgers: Vec<NodeId>,
    pings: usize,
}

async fn attack(at: SocketAddr, target: NodeId) -> Attack {
    // 1. Garbage, 16 connections at a time.
    let mut garbage_frames = 0;
    let mut seeds = 0..GARBAGE_CONNECTIONS as u64;
    let mut set = tokio::task::JoinSet::new();
    loop {
        while set.len() < 16 {
            let Some(seed) = seeds.next() else { break };
            set.spawn(throw_garbage(at, seed));
        }
        match set.join_next().await {
            Some(r) => garbage_frames += r.unwrap(),
            None => break,
        }
    }
    // 2. Bogus records from authenticated peers, until each is thrown out.
    let (mut bogus_count, mut bogus_ids, mut forgers) = (0, Vec::new(), Vec::new());
    for _ in 0..10 {
        let kp = keypair();
        forgers.push(kp.id());
        let mut peer = RawPeer::connect(at, target, kp, TEST_BITS).await;
        for _ in 0..8 {
            let (records, ids) = bogus_records(TEST_BITS);
            bogus_count += records.len();
            bogus_ids.extend(ids);
            if peer.send_records(records).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    // 3. Pings as fast as the node lets us write, never reading the pongs.
    let mut peer = RawPeer::connect(at, target, keypair(), TEST_BITS).await;
    let mut pings = 0;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if peer
                .send(Message::Control(ControlMsg::Ping {
                    nonce: pings as u64,
                }))
                .await
                .is_err()
            {
                break;
            }
            pings += 1;
        }
    })
    .await;
    Attack {
        garbage_frames,
        bogus_records: bogus_count,
        bogus_ids,
        forgers,
        pings,
    }
}

#[test]
fn a_flood_does_not_stop_a_node_serving_its_honest_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("target"),
        tmp.path().join("honest"),
        tmp.path().join("late"),
    );
    for d in [&a, &b, &c] {
        write_config(d, "");
    }
    let mut target = NodeProc::start(&a, &[]);
    let honest = NodeProc::start(&b, &[target.address().as_str()]);
    wait_for(Duration::from_secs(30), "the honest connection", || {
        (honest.status()["connected_peers"] == 1).then_some(())
    });
    let honest_id = honest.status()["id"].as_str().unwrap().to_string();
    let status = target.status();
    let at = listen_addr(&status);
    let target_id: NodeId = status["id"].as_str().unwrap().parse().unwrap();
    let (rss_before, _) = target.memory_kib();

    let attacker = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(attack(at, target_id))
    });
    let mut worst = Duration::ZERO;
    while !attacker.is_finished() {
        let t = Instant::now();
        let s = target.status();
        worst = worst.max(t.elapsed());
        assert!(
            s["connected_peers"].as_u64().unwrap() >= 1,
            "the honest peer was dropped: {s}"
        );
        assert_eq!(
            honest.status()["connected_peers"],
            1,
            "the honest peer lost its connection"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let attack = attacker.join().unwrap();
    assert!(target.alive(), "the node died:\n{}", target.log());

    let s = target.status();
    let m = &s["metrics"];
    let (rss_after, hwm) = target.memory_kib();
    println!(
        "sent {} garbage frames, {} bogus records, {} pings; worst status latency {worst:?}; \
         RSS {rss_before} KiB before, {rss_after} KiB after, peak {hwm} KiB\ncounters: {m}",
        attack.garbage_frames, attack.bogus_records, attack.pings
    );
    assert_eq!(
        attack.garbage_frames,
        GARBAGE_CONNECTIONS * FRAMES_PER_CONNECTION
    );
    assert!(
        m["handshakes_failed"].as_u64().unwrap() >= GARBAGE_CONNECTIONS as u64,
        "{m}"
    );
    assert!(m["records_rejected"].as_u64().unwrap() >= 100, "{m}");
    for label in [
        "bad_signature",
        "insufficient_work",
        "expired",
        "future_dated",
        "bad_validity",
    ] {
        assert!(
            m["rejected"][label].as_u64().unwrap_or(0) > 0,
            "no {label} counted: {m}"
        );
    }
    assert!(m["peers_banned"].as_u64().unwrap() >= 5, "{m}");
    assert!(m["rate_limited"].as_u64().unwrap() > 0, "{m}");

    // No bogus record made it into the table; the forgers were thrown out.
    let peers: serde_json::Value =
        serde_json::from_str(&warren_ok(&a, &["peers", "--json"])).unwrap();
    let listed: HashSet<String> = peers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    for id in attack.bogus_ids.iter().chain(&attack.forgers) {
        assert!(!listed.contains(&id.to_string()), "{id} is in the table");
    }
    assert!(listed.contains(&honest_id));
    assert!(s["known_peers"].as_u64().unwrap() <= 3, "{s}");

    // Memory stayed flat: the peak grew by less than 64 MiB over the start.
    assert!(
        hwm < rss_before + 64 * 1024,
        "peak {hwm} KiB vs {rss_before} KiB before"
    );

    // And a newcomer still gets in.
    let late = NodeProc::start(&c, &[target.address().as_str()]);
    wait_for(Duration::from_secs(30), "a new node to join", || {
        (late.status()["connected_peers"].as_u64().unwrap() >= 1).then_some(())
    });
    assert!(target.stop().success());
}
