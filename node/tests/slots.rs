//! Every web listener's pool is fair to strangers: idle connections,
//! bodies that never come and answers never read hold no slot the owner
//! or an honest browser needs — a newcomer closes the connection silent
//! the longest, and one address holds at most half the pool. Real `warren`
//! processes on loopback TCP; other loopback addresses are other clients.
//! The inbound peer slots keep a quarter for trusted nodes.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::data::{curl, page_links, random_bytes};
use common::web::{Login, Sender, connect_from, form, request_as};
use common::{NodeProc, json, pairing_code, write_config};
use warren_proto::ProtocolVersion;
use warren_proto::msg::{CloseReason, ControlMsg, Message, PeerMsg};

const PASS: &str = "a long enough passphrase";

/// Connections from `source` that send `head` and then nothing, kept open.
fn hold(at: &str, source: &str, n: usize, head: &str) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = connect_from(at, Some(source.parse().unwrap()));
            s.write_all(head.as_bytes()).unwrap();
            s
        })
        .collect()
}

fn owner() -> Sender<'static> {
    Sender {
        source: Some("127.0.0.2".parse().unwrap()),
        host: None,
    }
}

#[test]
fn a_panel_full_of_silent_connections_still_lets_the_owner_in() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "");
    let node = NodeProc::start(&dir, &[]);
    let base = node.status()["panel_url"].as_str().unwrap().to_string();
    let at = base.trim_start_matches("http://").to_string();
    let login = Login::pair(&base, &pairing_code(&dir), PASS);

    let mut times = Vec::new();
    for round in 0..4 {
        // Twice the pool (16): idle connections and POSTs whose body never
        // comes, from the attacker's own address and three more.
        let mut attackers = Vec::new();
        for source in ["127.0.0.1", "127.0.1.1", "127.0.1.2", "127.0.1.3"] {
            attackers.extend(hold(&at, source, 4, ""));
            attackers.extend(hold(
                &at,
                source,
                4,
                &format!("POST /login HTTP/1.1\r\nHost: {at}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncsrf="),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
        let t = Instant::now();
        let page = request_as(
            &base,
            owner(),
            "GET",
            "/dashboard",
            &[("warren_session", &login.session)],
            &[],
            None,
        );
        assert_eq!(page.status, 200, "round {round}: {}", page.body);
        let form_page = request_as(&base, owner(), "GET", "/login", &[], &[], None);
        let token = form_page.cookie("warren_form").unwrap();
        let r = request_as(
            &base,
            owner(),
            "POST",
            "/login",
            &[("warren_form", &token)],
            &[],
            Some((
                "application/x-www-form-urlencoded",
                &form(&[("csrf", &token), ("passphrase", PASS)]),
            )),
        );
        assert_eq!(r.status, 303, "round {round}: {}", r.body);
        times.push(t.elapsed());
        drop(attackers);
    }
    times.sort();
    eprintln!("owner's page and login with the panel full: {times:?}");
    assert!(times[3] < Duration::from_secs(5), "{times:?}");
}

#[test]
fn a_gateway_full_of_unread_downloads_still_serves_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("film.bin");
    let data = random_bytes(8_000_000, 21);
    std::fs::write(&src, &data).unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "");
    let node = NodeProc::start(&dir, &[]);
    let shared = json(&dir, &["share", src.to_str().unwrap(), "--json"]);
    let listing = shared["url"].as_str().unwrap().to_string();
    let base = node.status()["gateway_url"].as_str().unwrap().to_string();
    let at = base.trim_start_matches("http://").to_string();
    let (code, _, page) = curl(&[], &listing);
    assert_eq!(code, 200);
    let file_url = format!("{base}{}", page_links(&String::from_utf8(page).unwrap())[0]);
    let path = file_url.trim_start_matches(&base).to_string();
    assert_eq!(curl(&["-o", "/dev/null"], &file_url).0, 200);

    let get = format!("GET {path} HTTP/1.1\r\nHost: {at}\r\n\r\n");
    for (what, head) in [("unread downloads", get.as_str()), ("idle connections", "")] {
        // More than the pool (32): 40, from two addresses.
        let mut attackers = hold(&at, "127.0.0.1", 20, head);
        attackers.extend(hold(&at, "127.0.1.1", 20, head));
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        let (code, _, body) = curl(&["--interface", "127.0.0.2", "-m", "30"], &file_url);
        let took = t.elapsed();
        eprintln!("a browser's 8 MB download with the gateway full of {what}: {took:?}");
        assert_eq!(code, 200, "{what}");
        assert!(body == data, "{what}: the whole file, byte for byte");
        assert!(took < Duration::from_secs(10), "{what}: {took:?}");
        drop(attackers);
    }
}

/// Transfer connections from one identity that complete the handshake and
/// then hold their slot: `open` sends `Open` for the swarm and asks for
/// nothing; otherwise nothing at all is sent.
fn hold_upload_slots(
    rt: &tokio::runtime::Runtime,
    n: usize,
    at: std::net::SocketAddr,
    target: warren_proto::NodeId,
    open: Option<warren_proto::content::SwarmId>,
) -> Vec<common::transfer::Conn> {
    use common::raw::{keypair, now, record};
    let kp = keypair();
    let own = record(&kp, common::TEST_BITS, now(), now() + 3600);
    rt.block_on(async {
        let mut conns = Vec::new();
        for _ in 0..n {
            let mut c = common::transfer::dial_as(at, target, common::TEST_BITS, &kp, &own).await;
            if let Some(swarm) = open {
                common::transfer::send(&mut c, warren_proto::files::FileMsg::Open { swarm }).await;
            }
            conns.push(c);
        }
        conns
    })
}

#[test]
fn a_stranger_holding_every_upload_slot_does_not_stop_an_honest_download() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    let data = random_bytes(3_000_000, 23);
    std::fs::write(&src, &data).unwrap();
    let p_dir = tmp.path().join("p");
    write_config(&p_dir, "");
    let p = NodeProc::start(&p_dir, &[]);
    let shared = json(&p_dir, &["share", src.to_str().unwrap(), "--json"]);
    let link_text = shared["link"].as_str().unwrap().to_string();
    let link: warren_proto::link::Link = link_text.parse().unwrap();
    let at = common::listen_addr(&p.status());
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (round, open) in [
        ("silent", None),
        ("opened, asking nothing", Some(link.swarm())),
    ] {
        // More than every slot (32), two identities.
        let mut held = hold_upload_slots(&rt, 20, at, link.at.id, open);
        held.extend(hold_upload_slots(&rt, 20, at, link.at.id, open));
        let q_dir = tmp.path().join(format!("q{}", round.len()));
        write_config(&q_dir, "");
        let q = NodeProc::start(&q_dir, &[&p.address()]);
        let out = tmp.path().join(format!("out{}", round.len()));
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        let got = json(
            &q.dir,
            &["get", &link_text, "--json", "--out", out.to_str().unwrap()],
        );
        let took = t.elapsed();
        eprintln!("an honest 3 MB download with every upload slot held ({round}): {took:?}");
        assert_eq!(got["state"], "complete", "{round}: {got}");
        assert!(std::fs::read(out.join("f.bin")).unwrap() == data, "{round}");
        assert!(took < Duration::from_secs(20), "{round}: {took:?}");
        drop(held);
    }
    let evicted = p.status()["metrics"]["uploads_evicted"].as_u64().unwrap();
    assert!(evicted > 0, "{evicted}");
}

/// What a node answered a peer connection with: admitted (it asked for
/// peers, as it does every peer it keeps) or closed with a reason.
async fn admitted_or_closed(peer: &mut common::raw::RawPeer) -> Result<(), CloseReason> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), peer.recv())
            .await
            .expect("an answer within 20 s");
        let Some((h, p)) = frame else {
            return Err(CloseReason::Normal);
        };
        match Message::decode(ProtocolVersion::LATEST, h.channel, &p) {
            Ok(Message::Peers(PeerMsg::GetPeers { .. })) => return Ok(()),
            Ok(Message::Control(ControlMsg::Close { reason })) => return Err(reason),
            _ => {}
        }
    }
}

/// Strangers, each with an identity of its own (each one mined), fill the
/// inbound peer slots they may take: the next stranger is sent away with
/// `Busy`, but a node the owner trusts still gets in, on the quarter of
/// the slots kept for trusted nodes.
#[test]
fn strangers_filling_the_inbound_peer_slots_never_keep_a_trusted_node_out() {
    use common::raw::{RawPeer, keypair};
    use common::{TEST_BITS, listen_addr, warren_ok};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "[limits]\nmax_inbound = 4\n");
    let node = NodeProc::start(&dir, &[]);
    let status = node.status();
    let at = listen_addr(&status);
    let target: warren_proto::NodeId = status["id"].as_str().unwrap().parse().unwrap();
    let friend = keypair();
    warren_ok(
        &dir,
        &["trust", "add", &format!("{}@127.0.0.1:9", friend.id())],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut strangers = Vec::new();
        for _ in 0..3 {
            let mut s = RawPeer::connect(at, target, keypair(), TEST_BITS).await;
            assert_eq!(admitted_or_closed(&mut s).await, Ok(()), "a free slot");
            strangers.push(s);
        }
        let mut late = RawPeer::connect(at, target, keypair(), TEST_BITS).await;
        assert_eq!(
            admitted_or_closed(&mut late).await,
            Err(CloseReason::Busy),
            "the strangers' slots are full"
        );
        let mut trusted = RawPeer::connect(at, target, friend, TEST_BITS).await;
        assert_eq!(
            admitted_or_closed(&mut trusted).await,
            Ok(()),
            "a trusted node gets in"
        );
        // (The node is another process: asking it blocks nothing here.)
        assert_eq!(node.status()["connected_peers"], 4);
        drop((strangers, trusted));
    });
}
