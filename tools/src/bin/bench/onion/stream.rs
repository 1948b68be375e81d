//! One stream's bulk throughput through an onion service, on each Tor
//! implementation, interleaved in one run on the same private network:
//!
//! - raw arti: a plain arti onion service and client, bytes written
//!   straight to the stream;
//! - raw C tor: a C tor onion service forwarding to a loopback socket, a
//!   C tor client reached over SOCKS5;
//! - Warren on arti and Warren on C tor: two node transports (the node's
//!   own service, accept and dial code) on each, a Warren handshake, then
//!   the bytes in 16 KiB bulk frames through the node's frame codec — the
//!   path file transfers take. Warren on C tor uses the same two C tors as
//!   the raw C tor stream.

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
    ArtiOptions, ArtiTransport, BoxStream, CTorOptions, CTorTransport, OnionHost, Transport,
    arti_client_config,
};
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Listener as HsListener, ListenerStep};
use warren_proto::msg::{ControlMsg, Message};
use warren_proto::{
    Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord, TransportHint,
};

const MIB: usize = 1 << 20;
pub(crate) const BYTES: usize = 16 * MIB;
const FRAME: usize = 16 * 1024;
pub(crate) const RAW_PORT: u16 = 80;

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

pub(super) fn run(shared: &warren_localnet::Shared) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(shared));
}

/// A plain arti onion service that reads `BYTES` per stream and answers
/// one byte, and an arti client of its own: the raw arti stream.
pub(crate) struct RawArti {
    _service: std::sync::Arc<tor_hsservice::RunningOnionService>,
    client: Arc<TorClient<tor_rtcompat::PreferredRuntime>>,
    onion: String,
}

impl RawArti {
    /// Both bootstrapped on the private network `net`, state under `tmp`.
    pub(crate) async fn start(tmp: &Path, net: &TorNetwork) -> RawArti {
        let client = |name: &str| {
            let cfg = arti_client_config(
                &tmp.join(name),
                Some(net),
                warren_node::config::Limits::default().tor_memory_mib << 20,
            )
            .unwrap();
            TorClient::builder()
                .config(cfg)
                .create_unbootstrapped()
                .unwrap()
        };
        let raw_srv = client("raw-server");
        raw_srv.bootstrap().await.unwrap();
        let raw_key = keypair();
        let hsid = {
            let kp = tor_llcrypto::pk::ed25519::Keypair::from_bytes(raw_key.seed());
            tor_hscrypto::pk::HsIdKeypair::from(tor_llcrypto::pk::ed25519::ExpandedKeypair::from(
                &kp,
            ))
        };
        let cfg = tor_hsservice::config::OnionServiceConfigBuilder::default()
            .nickname("raw".parse().unwrap())
            .build()
            .unwrap();
        let (service, requests) = raw_srv
            .launch_onion_service_with_hsid(cfg, hsid)
            .unwrap()
            .unwrap();
        tokio::spawn(async move {
            let mut streams = tor_hsservice::handle_rend_requests(requests);
            while let Some(req) = streams.next().await {
                tokio::spawn(async move {
                    if let Ok(s) = req
                        .accept(tor_cell::relaycell::msg::Connected::new_empty())
                        .await
                    {
                        sink(s).await;
                    }
                });
            }
        });
        let raw_cli = client("raw-client");
        raw_cli.bootstrap().await.unwrap();
        RawArti {
            _service: service,
            client: raw_cli,
            onion: raw_key.id().to_string(),
        }
    }

    /// One stream of `BYTES`: bytes per second, or why it failed.
    pub(crate) async fn send(&self) -> Result<f64, String> {
        raw_send(&self.client, &self.onion).await
    }
}

/// Reads `BYTES` from `s`, then answers one byte.
pub(crate) async fn sink<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) {
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
}

async fn bench(shared: &warren_localnet::Shared) {
    let file: &Path = &shared.file;
    let net = TorNetwork::load(file).unwrap();
    let tmp = std::env::temp_dir().join(format!("warren-bench-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let raw = RawArti::start(&tmp, &net).await;

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
            memory_max: warren_node::config::Limits::default().tor_memory_mib << 20,
        })
        .unwrap()
    };
    let (srv_key, cli_key) = (keypair(), keypair());
    let srv = transport("warren-server", srv_key.clone());
    let cli = transport("warren-client", cli_key.clone());
    serve_warren(&srv, &srv_key).await;

    // C tor: one tor hosts the raw service (to a loopback sink) and the
    // Warren service; another is the client of both.
    let sink_at = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_port = sink_at.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = sink_at.accept().await {
            tokio::spawn(sink(s));
        }
    });
    let hs_dir = tmp.join("ctor-raw-hs");
    let service_tor = warren_localnet::CTor::start(
        &shared.network,
        &tmp.join("ctor-service"),
        &[
            &format!("HiddenServiceDir {}", hs_dir.display()),
            &format!("HiddenServicePort {RAW_PORT} 127.0.0.1:{sink_port}"),
        ],
        Duration::from_secs(120),
    )
    .expect("C tor for the onion services");
    let client_tor = warren_localnet::CTor::start(
        &shared.network,
        &tmp.join("ctor-client"),
        &[],
        Duration::from_secs(120),
    )
    .expect("C tor client");
    let ctor_onion = std::fs::read_to_string(hs_dir.join("hostname"))
        .unwrap()
        .trim()
        .to_string();
    let ctor_transport = |name: &str, kp: Arc<Keypair>, tor: &warren_localnet::CTor| {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        CTorTransport::new(CTorOptions {
            data_dir: &dir,
            control_port: ([127, 0, 0, 1], tor.control_port).into(),
            cookie: Some(tor.cookie.clone()),
            keypair: kp,
            onion_port: 7447,
            reach: warren_node::config::TorConfig::default().reach_policy(),
            clock: Arc::new(SystemClock),
        })
    };
    let (csrv_key, ccli_key) = (keypair(), keypair());
    let csrv = ctor_transport("warren-ctor-server", csrv_key.clone(), &service_tor);
    let ccli = ctor_transport("warren-ctor-client", ccli_key.clone(), &client_tor);
    serve_warren(&csrv, &csrv_key).await;
    // The client learns tor's SOCKS port when it listens.
    let _client_listener = ccli.listen().await.unwrap();
    let socks = client_tor.socks_port;

    let names = [
        "raw arti stream",
        "raw C tor stream",
        "Warren on arti",
        "Warren on C tor",
    ];
    let (cli_rec, ccli_rec) = (record(&cli_key), record(&ccli_key));
    let mut rates: [Vec<f64>; 4] = Default::default();
    for round in 0..3 {
        let got = [
            retry(|| raw.send()).await,
            retry(|| ctor_raw_send(socks, &ctor_onion, RAW_PORT)).await,
            retry(|| warren_send(&cli, &cli_key, &cli_rec, &srv_key)).await,
            retry(|| warren_send(&ccli, &ccli_key, &ccli_rec, &csrv_key)).await,
        ];
        let line: Vec<String> = names
            .iter()
            .zip(got)
            .map(|(n, r)| format!("{n} {:.2} MB/s", r / 1e6))
            .collect();
        println!("  round {round}: {}", line.join(", "));
        for (v, r) in rates.iter_mut().zip(got) {
            v.push(r);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [ra, rc, wa, wc] = rates.each_mut().map(med);
    println!(
        "one-stream bulk throughput ({} MiB, median of 3): raw arti {:.2} MB/s, raw C tor {:.2} MB/s, Warren on arti {:.2} MB/s, Warren on C tor {:.2} MB/s",
        BYTES / MIB,
        ra / 1e6,
        rc / 1e6,
        wa / 1e6,
        wc / 1e6
    );
    println!(
        "ratios: raw arti / raw C tor {:.2}; Warren on arti / raw arti {:.2}; Warren on arti / raw C tor {:.2}; Warren on C tor / raw C tor {:.2}",
        ra / rc,
        wa / ra,
        wa / rc,
        wc / rc
    );
    csrv.shutdown();
    ccli.shutdown();
    srv.shutdown();
    cli.shutdown();
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Retries a measurement while onion services are between time periods.
pub(crate) async fn retry<F, Fut>(mut f: F) -> f64
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
    let s = client
        .connect((onion, RAW_PORT))
        .await
        .map_err(|e| e.to_string())?;
    timed_send(s).await
}

/// Writes `BYTES` to `s` and waits for the sink's one-byte answer: bytes
/// per second.
async fn timed_send<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
) -> Result<f64, String> {
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
        payload: payload.into(),
    }
}

/// Accepts Warren connections on `t` and waits until its onion service is
/// reachable.
async fn serve_warren<T: Transport + OnionHost + Clone + 'static>(t: &T, key: &Arc<Keypair>) {
    let (mut listener, _) = t.listen().await.unwrap();
    let rec = record(key);
    let key = key.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (key, rec) = (key.clone(), rec.clone());
            tokio::spawn(async move { warren_sink(stream, &key, &rec).await });
        }
    });
    let wait_up = Instant::now();
    while t.tor_status().onion_reachable != Some(true) {
        assert!(
            wait_up.elapsed() < Duration::from_secs(300),
            "the Warren service on {} never became reachable",
            t.name()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A raw stream through the C tor client's SOCKS port to `onion:port`.
pub(crate) async fn ctor_raw_send(socks: u16, onion: &str, port: u16) -> Result<f64, String> {
    let s = tokio_socks::tcp::Socks5Stream::connect(("127.0.0.1", socks), (onion, port))
        .await
        .map_err(|e| e.to_string())?;
    timed_send(s).await
}

async fn warren_send(
    t: &dyn Transport,
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
