//! One stream's bulk throughput through an onion service: a Warren
//! connection against a raw arti stream, interleaved in one run.
//!
//! Raw: a plain arti onion service and client, bytes written straight to
//! the stream. Warren: two `ArtiTransport`s (the node's own service, accept
//! and dial code), a Warren handshake, then the bytes in 16 KiB bulk frames
//! through the node's frame codec — the path file transfers take.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arti_client::TorClient;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;
use warren_node::clock::{Clock, SystemClock};
use warren_node::conn::{FrameCodec, Outgoing};
use warren_node::tor::TorNetwork;
use warren_node::transport::{
    ArtiOptions, ArtiTransport, BoxStream, OnionHost, Transport, arti_client_config,
};
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Listener as HsListener, ListenerStep};
use warren_proto::msg::{ControlMsg, Message};
use warren_proto::{
    Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord, TransportHint,
};

const MIB: usize = 1 << 20;
const BYTES: usize = 16 * MIB;
const FRAME: usize = 16 * 1024;
const RAW_PORT: u16 = 80;

fn keypair() -> Arc<Keypair> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    Arc::new(Keypair::from_seed(&seed))
}

fn policy() -> RecordPolicy {
    RecordPolicy {
        difficulty: Difficulty::new(8).unwrap(),
        max_validity: 86_400,
        max_clock_skew: 600,
    }
}

fn record(kp: &Keypair) -> SignedNodeRecord {
    let now = SystemClock.unix_now();
    let nonce =
        warren_proto::pow::mine(&kp.id(), Difficulty::new(8).unwrap(), 0, 1, u64::MAX).unwrap();
    NodeRecord {
        id: kp.id(),
        role: Role::Member,
        services: Services::PEER_EXCHANGE,
        hints: heapless::Vec::from_iter([TransportHint::Onion { port: 7447 }]),
        issued_at: now,
        expires_at: now + 3600,
        pow_nonce: nonce,
    }
    .sign(kp)
    .unwrap()
}

pub(super) fn run(file: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(file));
}

async fn bench(file: &Path) {
    let net = TorNetwork::load(file).unwrap();
    let tmp = std::env::temp_dir().join(format!("warren-bench-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let client = |name: &str| {
        let cfg = arti_client_config(&tmp.join(name), Some(&net)).unwrap();
        TorClient::builder()
            .config(cfg)
            .create_unbootstrapped()
            .unwrap()
    };

    // Raw: a plain arti service that reads BYTES and answers one byte.
    let raw_srv = client("raw-server");
    raw_srv.bootstrap().await.unwrap();
    let raw_key = keypair();
    let hsid = {
        let kp = tor_llcrypto::pk::ed25519::Keypair::from_bytes(raw_key.seed());
        tor_hscrypto::pk::HsIdKeypair::from(tor_llcrypto::pk::ed25519::ExpandedKeypair::from(&kp))
    };
    let cfg = tor_hsservice::config::OnionServiceConfigBuilder::default()
        .nickname("raw".parse().unwrap())
        .build()
        .unwrap();
    let (_raw_service, requests) = raw_srv
        .launch_onion_service_with_hsid(cfg, hsid)
        .unwrap()
        .unwrap();
    tokio::spawn(async move {
        let mut streams = tor_hsservice::handle_rend_requests(requests);
        while let Some(req) = streams.next().await {
            tokio::spawn(async move {
                let Ok(mut s) = req
                    .accept(tor_cell::relaycell::msg::Connected::new_empty())
                    .await
                else {
                    return;
                };
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0;
                while got < BYTES {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                let _ = s.write_all(b"!").await;
                let _ = s.flush().await;
            });
        }
    });
    let raw_cli = client("raw-client");
    raw_cli.bootstrap().await.unwrap();
    let raw_onion = raw_key.id().to_string();

    // Warren: the node's transport on both ends.
    let transport = |name: &str, kp: Arc<Keypair>| {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        ArtiTransport::new(ArtiOptions {
            data_dir: &dir,
            network: Some(&net),
            keypair: kp,
            onion_port: 7447,
            reach: warren_node::config::TorConfig::default().reach_policy(),
            clock: Arc::new(SystemClock),
        })
        .unwrap()
    };
    let (srv_key, cli_key) = (keypair(), keypair());
    let srv = transport("warren-server", srv_key.clone());
    let cli = transport("warren-client", cli_key.clone());
    let (mut listener, _) = srv.listen().await.unwrap();
    let srv_record = record(&srv_key);
    let sink_key = srv_key.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (key, rec) = (sink_key.clone(), srv_record.clone());
            tokio::spawn(async move { warren_sink(stream, &key, &rec).await });
        }
    });
    let cli_record = record(&cli_key);
    let wait_up = Instant::now();
    while srv.tor_status().onion_reachable != Some(true) {
        assert!(
            wait_up.elapsed() < Duration::from_secs(300),
            "the Warren service never became reachable"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (mut raw_rates, mut warren_rates) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let raw = retry(|| raw_send(&raw_cli, &raw_onion)).await;
        let warren = retry(|| warren_send(&cli, &cli_key, &cli_record, &srv_key)).await;
        println!(
            "  round {round}: raw arti stream {:.2} MB/s, Warren connection {:.2} MB/s",
            raw / 1e6,
            warren / 1e6
        );
        raw_rates.push(raw);
        warren_rates.push(warren);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (r, w) = (med(&mut raw_rates), med(&mut warren_rates));
    println!(
        "one-stream bulk throughput ({} MiB, median of 3): raw arti stream {:.2} MB/s, Warren connection {:.2} MB/s; ratio Warren/raw {:.2}",
        BYTES / MIB,
        r / 1e6,
        w / 1e6,
        w / r
    );
    srv.shutdown();
    cli.shutdown();
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Retries a measurement while onion services are between time periods.
async fn retry<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<f64, String>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(rate) => return rate,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(300),
                    "stream failed for 5 minutes: {e}"
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

async fn raw_send(
    client: &TorClient<tor_rtcompat::PreferredRuntime>,
    onion: &str,
) -> Result<f64, String> {
    let mut s = client
        .connect((onion, RAW_PORT))
        .await
        .map_err(|e| e.to_string())?;
    let chunk = vec![0x5au8; 64 * 1024];
    let t = Instant::now();
    for _ in 0..BYTES / chunk.len() {
        s.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    s.flush().await.map_err(|e| e.to_string())?;
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).await.map_err(|e| e.to_string())?;
    Ok(BYTES as f64 / t.elapsed().as_secs_f64())
}

fn out(channel: Channel, priority: Priority, payload: Vec<u8>) -> Outgoing {
    Outgoing {
        channel,
        priority,
        payload,
    }
}

async fn warren_send(
    t: &ArtiTransport,
    me: &Keypair,
    rec: &SignedNodeRecord,
    server: &Keypair,
) -> Result<f64, String> {
    let addr = warren_proto::PeerAddr::new(server.id(), TransportHint::Onion { port: 7447 });
    let stream = t.dial(&addr).await.map_err(|e| e.to_string())?;
    let mut f = Framed::new(stream, FrameCodec);
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).unwrap();
    let (dialer, hello) = Dialer::start(me.id(), server.id(), nonce).map_err(|e| e.to_string())?;
    f.send(out(Channel::Handshake, Priority::Control, hello))
        .await
        .map_err(|e| e.to_string())?;
    let (_, answer) = f.next().await.ok_or("closed")?.map_err(|e| e.to_string())?;
    let (auth, _) = dialer
        .on_answer(&answer, me, rec, SystemClock.unix_now(), &policy())
        .map_err(|e| e.to_string())?;
    f.send(out(Channel::Handshake, Priority::Control, auth))
        .await
        .map_err(|e| e.to_string())?;
    let payload = vec![0xa5u8; FRAME];
    let t0 = Instant::now();
    for _ in 0..BYTES / FRAME {
        f.feed(out(Channel::Peers, Priority::Bulk, payload.clone()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let ping = Message::Control(ControlMsg::Ping { nonce: 1 }).encode();
    f.send(out(Channel::Control, Priority::Control, ping))
        .await
        .map_err(|e| e.to_string())?;
    f.next()
        .await
        .ok_or("closed before the answer")?
        .map_err(|e| e.to_string())?;
    Ok(BYTES as f64 / t0.elapsed().as_secs_f64())
}

/// The receiving end: a Warren handshake, then count frames until a ping.
async fn warren_sink(stream: BoxStream, key: &Keypair, rec: &SignedNodeRecord) {
    let mut f = Framed::new(stream, FrameCodec);
    let Some(Ok((_, hello))) = f.next().await else {
        return;
    };
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).unwrap();
    let Ok(ListenerStep::Continue(l, accept)) = HsListener::on_hello(&hello, key, rec, nonce)
    else {
        return;
    };
    if f.send(out(Channel::Handshake, Priority::Control, accept))
        .await
        .is_err()
    {
        return;
    }
    let Some(Ok((_, auth))) = f.next().await else {
        return;
    };
    if l.on_auth(&auth, SystemClock.unix_now(), &policy()).is_err() {
        return;
    }
    while let Some(Ok((h, _payload))) = f.next().await {
        if h.channel == Channel::Control {
            let pong = Message::Control(ControlMsg::Pong { nonce: 1 }).encode();
            let _ = f.send(out(Channel::Control, Priority::Control, pong)).await;
            return;
        }
    }
}
