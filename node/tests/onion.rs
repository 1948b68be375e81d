//! The onion tier: real `warren` processes on a private Tor network on
//! loopback (three authorities, five relays, built by `warren-localnet`).
//!
//! All tests of this binary share one network, started on first use and
//! torn down when the process exits. Run with `cargo test -p warren-node
//! --test onion` (one process, so the network is shared; `tools/test-all.sh`
//! does this). Onion services on this network are briefly unreachable at
//! each 8-minute time-period rotation, so waits are generous: the node's
//! own retries carry it through.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;
#[path = "onion/messages.rs"]
mod messages;
#[path = "onion/relay.rs"]
mod relay;
#[path = "common/browser.rs"]
mod web_browser;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{NodeProc, wait_for, warren_ok, write_config};
use serde_json::Value;

/// Long enough to ride out an onion time-period rotation.
const ONION_WAIT: Duration = Duration::from_secs(240);

fn network() -> &'static warren_localnet::Shared {
    warren_localnet::shared()
}

fn onion_config(dir: &Path) {
    write_config(
        dir,
        "[tor]\nretry_interval_secs = 5\ncheck_timeout_secs = 60\n\n[board]\nkind = \"sim\"\noffline_degraded_secs = 10\n",
    );
}

fn net_arg() -> String {
    network().file.to_string_lossy().into_owned()
}

/// An arti node on the private network, bootstrapping from `boot`.
fn arti(dir: &Path, boot: &[&str]) -> NodeProc {
    onion_config(dir);
    let net = net_arg();
    let mut args = vec!["--transport", "arti", "--tor-network", net.as_str()];
    for b in boot {
        args.extend(["--bootstrap", b]);
    }
    NodeProc::start_with(dir, &args)
}

fn field<'a>(s: &'a Value, k: &str) -> &'a Value {
    &s[k]
}

fn known(s: &Value) -> u64 {
    s["known_peers"].as_u64().unwrap()
}

fn peers_of(n: &NodeProc) -> Value {
    serde_json::from_str(&warren_ok(&n.dir, &["peers", "--json"])).unwrap()
}

/// Whether `n` has a connection to `id` that `n` opened.
fn dialed(n: &NodeProc, id: &str) -> bool {
    peers_of(n)
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id && p["connected"] == "outbound")
}

fn wait_online(n: &NodeProc) -> Value {
    wait_for(
        ONION_WAIT,
        "the node's onion service to be reachable",
        || {
            let s = n.status();
            (s["online"] == true).then_some(s)
        },
    )
}

#[test]
fn arti_nodes_and_a_ctor_node_find_each_other_by_onion_address() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| tmp.path().join(n))
        .collect();

    // Three arti nodes from one bootstrap onion address.
    let a = arti(&dirs[0], &[]);
    let s = wait_online(&a);
    let boot = s["address"].as_str().unwrap().to_string();
    assert!(boot.ends_with(".onion"), "an onion address, not {boot}");
    assert_eq!(s["transport"], "arti");
    assert_eq!(s["onion_address"], s["id"]);
    assert_eq!(s["tor_bootstrap"]["percent"], 100);
    let b = arti(&dirs[1], &[&boot]);
    let c = arti(&dirs[2], &[&boot]);
    let arti_nodes = [&a, &b, &c];
    wait_for(ONION_WAIT, "three arti nodes to know each other", || {
        arti_nodes
            .iter()
            .all(|n| known(&n.status()) >= 2)
            .then_some(())
    });

    // A fourth node on an external C tor, also bootstrapping from A:
    // C tor dials arti.
    let ctor_dir = tmp.path().join("ctor");
    let tor =
        warren_localnet::CTor::start(&network().network, &ctor_dir, &[], Duration::from_secs(120))
            .unwrap();
    let d = ctor_node(&dirs[3], &tor, &boot);
    let sd = wait_online(&d);
    assert_eq!(sd["transport"], "ctor");
    let d_addr = sd["address"].as_str().unwrap().to_string();
    let d_id = sd["id"].as_str().unwrap().to_string();
    let a_id = s["id"].as_str().unwrap().to_string();
    wait_for(
        ONION_WAIT,
        "the C tor node to reach the arti node it bootstrapped from",
        || dialed(&d, &a_id).then_some(()),
    );

    // A fifth, arti, bootstrapping from the C tor node: arti dials C tor.
    let e = arti(&dirs[4], &[&d_addr]);
    wait_for(ONION_WAIT, "the arti node to reach the C tor node", || {
        dialed(&e, &d_id).then_some(())
    });

    // Everyone learns everyone.
    let all = [&a, &b, &c, &d, &e];
    wait_for(ONION_WAIT, "five nodes to know each other", || {
        all.iter().all(|n| known(&n.status()) == 4).then_some(())
    });
    for n in all {
        // A node can learn its peers (by dialing out) before the first
        // check of its own service has finished: wait for that check.
        let s = wait_online(n);
        assert_eq!(s["online"], true, "{s}");
        assert_eq!(s["onion_reachable"], true, "{s}");
        assert!(s["connected_peers"].as_u64().unwrap() >= 1, "{s}");
    }
    drop(tor);
}

#[test]
fn a_restarted_node_keeps_its_onion_address_and_is_found_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (hub_dir, leaf_dir) = (tmp.path().join("hub"), tmp.path().join("leaf"));
    let hub = arti(&hub_dir, &[]);
    let boot = wait_online(&hub)["address"].as_str().unwrap().to_string();
    let mut leaf = arti(&leaf_dir, &[&boot]);
    let before = wait_online(&leaf);
    let leaf_id = before["id"].as_str().unwrap().to_string();
    wait_for(ONION_WAIT, "the hub to see the leaf", || {
        (known(&hub.status()) == 1).then_some(())
    });
    assert!(leaf.stop().success(), "clean exit on SIGTERM");

    // No --bootstrap: the stored peers suffice. Same key, same address.
    let net = net_arg();
    let leaf = NodeProc::start_with(&leaf_dir, &["--transport", "arti", "--tor-network", &net]);
    let after = wait_online(&leaf);
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["onion_address"], before["onion_address"]);
    wait_for(
        ONION_WAIT,
        "the restarted leaf to be connected to the hub again",
        || {
            let listed = peers_of(&hub);
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == leaf_id.as_str() && !p["connected"].is_null())
                .then_some(())
        },
    );
}

#[test]
fn a_node_whose_bootstrap_is_down_says_so_and_connects_when_it_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let (x_dir, y_dir) = (tmp.path().join("x"), tmp.path().join("y"));
    let mut x = arti(&x_dir, &[]);
    let x_addr = wait_online(&x)["address"].as_str().unwrap().to_string();
    assert!(x.stop().success());

    let y = arti(&y_dir, &[&x_addr]);
    let down = wait_for(ONION_WAIT, "a failed attempt on the bootstrap node", || {
        let s = y.status();
        let b = &s["bootstrap"][0];
        (b["failures"].as_u64().unwrap_or(0) >= 1).then(|| b.clone())
    });
    assert_eq!(down["connected"], false);
    assert!(
        down["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{down}"
    );
    assert_eq!(y.status()["connected_peers"], 0);

    let net = net_arg();
    let _x = NodeProc::start_with(&x_dir, &["--transport", "arti", "--tor-network", &net]);
    wait_for(
        ONION_WAIT,
        "the node to connect once its bootstrap node is back",
        || {
            let s = y.status();
            (s["bootstrap"][0]["connected"] == true && s["connected_peers"] == 1).then_some(())
        },
    );
}

#[test]
fn with_no_tor_in_reach_a_node_keeps_running_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    // A network whose authorities and relays listen nowhere.
    let mut dead = network().network.clone();
    for a in &mut dead.authorities {
        a.or_port = 9;
        a.dir_port = 9;
    }
    for r in &mut dead.relays {
        r.or_port = 9;
    }
    let dead_file = tmp.path().join("dead-network.toml");
    dead.write(&dead_file).unwrap();

    let dir = tmp.path().join("lonely");
    onion_config(&dir);
    let mut node = NodeProc::start_with(
        &dir,
        &[
            "--transport",
            "arti",
            "--tor-network",
            dead_file.to_str().unwrap(),
        ],
    );
    let start = Instant::now();
    wait_for(
        Duration::from_secs(5),
        "the LED to say bootstrapping",
        || (node.status()["board"]["led"] == "bootstrapping").then_some(()),
    );
    std::thread::sleep(Duration::from_secs(20));
    let s = node.status();
    assert!(node.alive());
    assert_eq!(s["online"], false, "{s}");
    let why = s["not_online_because"].as_str().unwrap_or_default();
    assert!(
        why.contains("Tor") || why.contains("tor"),
        "reason: {why:?}"
    );
    assert!(s["tor_bootstrap"]["percent"].as_u64().unwrap() < 100, "{s}");
    assert!(field(&s, "onion_reachable").is_null(), "{s}");
    // The LED: connecting to Tor at first, a problem once it has lasted
    // board.offline_degraded_secs (10 s here).
    assert_eq!(s["board"]["led"], "degraded", "{s}");
    let because = s["board"]["led_because"].as_str().unwrap();
    assert!(
        because.contains("Tor") && because.contains("not online for"),
        "{because}"
    );

    // It retries without spinning or flooding the log.
    let lines = node.log().lines().count();
    assert!(lines < 200, "{lines} log lines in {:?}", start.elapsed());

    // A ctor node pointed at a control port where nothing listens, likewise.
    let dir = tmp.path().join("no-ctor");
    onion_config(&dir);
    let ctor = NodeProc::start_with(
        &dir,
        &["--transport", "ctor", "--control-port", "127.0.0.1:9"],
    );
    let s = wait_for(Duration::from_secs(30), "a reason", || {
        let s = ctor.status();
        s["not_online_because"]
            .as_str()
            .map(|w| w.contains("control port"))
            .unwrap_or(false)
            .then_some(s)
    });
    assert_eq!(s["online"], false);
    assert!(
        s["onion_last_failure"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{s}"
    );
}

/// Sends `GET path` for `host` over `stream` and returns the whole answer.
async fn http_get(stream: warren_node::transport::BoxStream, host: &str, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    http(stream, &req).await
}

/// Login forms for `host` with each of `passes`, sent one after another
/// on one stream (so on one rendezvous circuit), and the status of each
/// answer. The form token comes from a login page fetched on `page`.
async fn logins_on_one_stream(
    page: warren_node::transport::BoxStream,
    stream: warren_node::transport::BoxStream,
    host: &str,
    passes: &[&str],
) -> Vec<u16> {
    let page = http_get(page, host, "/login").await;
    let token = page
        .split("warren_form=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .expect("a form token")
        .to_string();
    let mut req = String::new();
    for (i, pass) in passes.iter().enumerate() {
        let body = format!("csrf={token}&passphrase={}", pass.replace(' ', "+"));
        let close = if i + 1 == passes.len() {
            "close"
        } else {
            "keep-alive"
        };
        req.push_str(&format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nConnection: {close}\r\n\
             Cookie: warren_form={token}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    }
    http(stream, &req)
        .await
        .split("HTTP/1.1 ")
        .skip(1)
        .filter_map(|a| a.get(..3)?.parse().ok())
        .collect()
}

/// Sends `req` over `stream` and returns the whole answer.
async fn http(mut stream: warren_node::transport::BoxStream, req: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(req.as_bytes()).await.unwrap();
    // Tor streams send what is buffered only when flushed.
    stream.flush().await.unwrap();
    // The server closes after answering; over Tor the close may arrive as
    // an error (an END cell) after the last byte: keep what came before.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("no answer in 60 s"),
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The node's panel on its admin onion: a client holding the owner's key
/// (taken from the panel's Access page) gets the login page; a client
/// without it cannot even find the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_onion_serves_the_panel_to_its_owner_only() {
    use common::web::Login;
    use warren_node::clock::SystemClock;
    use warren_node::tor::{ClientAuthKey, TorNetwork};
    use warren_node::transport::{ArtiOptions, ArtiTransport, Transport};
    use warren_proto::{Keypair, NodeId, PeerAddr, TransportHint};

    let tmp = tempfile::tempdir().unwrap();
    let n_dir = tmp.path().join("n");
    let node = tokio::task::block_in_place(|| arti(&n_dir, &[]));
    let base = node.status()["panel_url"].as_str().unwrap().to_string();
    let code = std::fs::read_to_string(n_dir.join("pairing-code.txt")).unwrap();
    let login = tokio::task::block_in_place(|| Login::pair(&base, code.trim(), "owner passphrase"));
    let page = tokio::task::block_in_place(|| {
        wait_for(ONION_WAIT, "the admin onion to be up", || {
            let p = login.get("/access");
            p.body.contains(">up<").then_some(p)
        })
    });
    // `<onion name>:descriptor:x25519:<key>`, as C tor's ClientOnionAuthDir takes it.
    let at = page.body.find(":descriptor:x25519:").unwrap();
    let name = &page.body[at - 56..at];
    let key_b32 = &page.body[at + 19..at + 19 + 52];
    let admin = NodeId::from_onion(&format!("{name}.onion")).unwrap();
    assert_ne!(
        admin.to_string(),
        node.status()["id"],
        "the admin onion is not the node's address"
    );
    assert!(
        page.body.contains(&format!("value=\"{key_b32}\"")),
        "the key Tor Browser asks for"
    );
    let secret: [u8; 32] = data_encoding::BASE32_NOPAD
        .decode(key_b32.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();

    let net = TorNetwork::load(&network().file).unwrap();
    let client = |name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        ArtiTransport::new(ArtiOptions {
            data_dir: &dir,
            network: Some(&net),
            keypair: Arc::new(Keypair::from_seed(&seed)),
            onion_port: 7447,
            reach: warren_node::config::TorConfig::default().reach_policy(),
            clock: Arc::new(SystemClock),
            memory_max: warren_node::config::Limits::default().tor_memory_mib << 20,
        })
        .unwrap()
    };
    let (owner, stranger) = (client("owner"), client("stranger"));
    owner
        .add_client_key(&admin, &ClientAuthKey::from_secret(secret))
        .unwrap();
    let addr = PeerAddr::new(admin, TransportHint::Onion { port: 80 });

    // The key holder reaches the login page (retrying while the descriptor spreads).
    let start = Instant::now();
    let stream = loop {
        match tokio::time::timeout(Duration::from_secs(60), owner.dial(&addr)).await {
            Ok(Ok(stream)) => break stream,
            other => {
                let why = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_string(),
                };
                assert!(
                    start.elapsed() < ONION_WAIT,
                    "the owner never got in: {why}"
                );
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
    };
    let onion = format!("{name}.onion");
    let answer = http_get(stream, &onion, "/login").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Log in"), "{answer}");
    let stream = owner.dial(&addr).await.unwrap();
    let answer = http_get(stream, &onion, "/dashboard").await;
    assert!(
        answer.starts_with("HTTP/1.1 303"),
        "no login, no dashboard: {answer}"
    );
    // Only for its own name, even over the onion.
    let stream = owner.dial(&addr).await.unwrap();
    let answer = http_get(stream, "evil.example", "/login").await;
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");

    // Login limits are per rendezvous circuit: a guesser's failures on its
    // circuit make it wait (two free, then 1 s, 2 s, 4 s…), while the
    // owner's login on another circuit goes through at once.
    let guesses = ["guess 1", "guess 2", "guess 3", "guess 4", "guess 5"];
    let statuses = logins_on_one_stream(
        owner.dial(&addr).await.unwrap(),
        owner.dial_isolated(&addr).await.unwrap(),
        &onion,
        &guesses,
    )
    .await;
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(
        statuses[3..].contains(&429),
        "the guesser waits: {statuses:?}"
    );
    let statuses = logins_on_one_stream(
        owner.dial(&addr).await.unwrap(),
        owner.dial_isolated(&addr).await.unwrap(),
        &onion,
        &["owner passphrase"],
    )
    .await;
    assert_eq!(statuses, [303], "another circuit is not refused");

    // Someone without the key cannot even find the service.
    for _ in 0..3 {
        let r = tokio::time::timeout(Duration::from_secs(60), stranger.dial(&addr)).await;
        assert!(
            !matches!(r, Ok(Ok(_))),
            "a client without the key connected"
        );
    }
    for t in [&owner, &stranger] {
        t.shutdown();
    }
}

#[test]
fn a_relaunched_onion_service_comes_back_under_the_same_address() {
    let tmp = tempfile::tempdir().unwrap();
    let (n_dir, p_dir) = (tmp.path().join("n"), tmp.path().join("p"));
    let node = arti(&n_dir, &[]);
    let before = wait_online(&node);
    assert_eq!(before["onion_launches"], 1);
    let out = warren_ok(&node.dir, &["relaunch"]);
    assert!(out.contains("relaunching"), "{out}");
    let after = wait_for(ONION_WAIT, "the relaunched service to be reachable", || {
        let s = node.status();
        (s["onion_launches"] == 2 && s["online"] == true).then_some(s)
    });
    assert_eq!(after["onion_address"], before["onion_address"]);
    // Peers reach it at the same address as before.
    let addr = before["address"].as_str().unwrap().to_string();
    let peer = arti(&p_dir, &[&addr]);
    wait_for(
        ONION_WAIT,
        "a peer to connect to the relaunched service",
        || (peer.status()["connected_peers"] == 1).then_some(()),
    );
    // TCP has no onion service to relaunch.
    let t_dir = tmp.path().join("t");
    write_config(&t_dir, "");
    let tcp = NodeProc::start(&t_dir, &[]);
    let refused = common::warren(&tcp.dir, &["relaunch"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no onion service"));
}

#[test]
fn a_ctor_node_recovers_when_its_tor_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tor = warren_localnet::CTor::start(
        &network().network,
        &tmp.path().join("tor"),
        &[],
        Duration::from_secs(120),
    )
    .unwrap();
    let dir = tmp.path().join("node");
    onion_config(&dir);
    let control = format!("127.0.0.1:{}", tor.control_port);
    let node = NodeProc::start_with(&dir, &["--transport", "ctor", "--control-port", &control]);
    let before = wait_online(&node);
    assert_eq!(before["onion_launches"], 1);

    tor.restart(Duration::from_secs(120)).unwrap();
    let after = wait_for(
        ONION_WAIT,
        "the node back online on the restarted tor",
        || {
            let s = node.status();
            (s["onion_launches"].as_u64().unwrap() >= 2 && s["online"] == true).then_some(s)
        },
    );
    assert_eq!(after["onion_address"], before["onion_address"]);
    // Later failures (a reachability check while the new descriptor
    // spreads) may follow the outage; the history keeps it.
    let failures = after["onion_recent_failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f.as_str().unwrap_or_default().contains("control")),
        "the outage was reported: {failures:?}"
    );
}

fn json_of(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&warren_ok(dir, args)).unwrap()
}

/// `warren get` until it completes: over a fresh private network the first
/// attempt can fail while descriptors are still being published.
fn get_until_complete(n: &NodeProc, link: &str, out: &Path) {
    wait_for(ONION_WAIT, "the download to complete", || {
        let o = common::warren(
            &n.dir,
            &["get", link, "--out", out.to_str().unwrap(), "--json"],
        );
        if !o.status.success() {
            eprintln!("get: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        let done: Value = serde_json::from_slice(&o.stdout).ok()?;
        (done["state"] == "complete").then_some(())
    });
}

/// A node on the C tor `tor`, bootstrapping from `boot`.
fn ctor_node(dir: &Path, tor: &warren_localnet::CTor, boot: &str) -> NodeProc {
    onion_config(dir);
    let control = format!("127.0.0.1:{}", tor.control_port);
    NodeProc::start_with(
        dir,
        &[
            "--transport",
            "ctor",
            "--control-port",
            &control,
            "--bootstrap",
            boot,
        ],
    )
}

/// Two arti nodes (`a` online, `b` bootstrapping from it) and a C tor
/// node `c` on a tor of its own, also bootstrapping from `a`.
struct Trio {
    a: NodeProc,
    sa: Value,
    b: NodeProc,
    tor: warren_localnet::CTor,
    c: NodeProc,
}

fn trio(dir: &Path) -> Trio {
    let a = arti(&dir.join("a"), &[]);
    let sa = wait_online(&a);
    let boot = sa["address"].as_str().unwrap().to_string();
    let b = arti(&dir.join("b"), &[&boot]);
    let tor = warren_localnet::CTor::start(
        &network().network,
        &dir.join("tor"),
        &[],
        Duration::from_secs(120),
    )
    .unwrap();
    let c_dir = dir.join("c");
    let c = ctor_node(&c_dir, &tor, &boot);
    Trio { a, sa, b, tor, c }
}

#[test]
fn a_file_and_a_folder_cross_the_tor_network_to_arti_and_ctor_nodes() {
    use common::data::{curl, header, page_links, random_file, same_tree};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    random_file(&src.join("talk.ogg"), 1_800_000, 11);
    let folder = src.join("garden plans");
    random_file(&folder.join("beds.png"), 600_000, 12);
    random_file(&folder.join("seeds/list.txt"), 40_000, 13);
    std::fs::write(folder.join("empty"), b"").unwrap();

    let Trio { a, sa, b, tor, c } = trio(tmp.path());
    let gateway = sa["gateway_url"].as_str().unwrap().to_string();
    assert_eq!(gateway, format!("http://{}", sa["id"].as_str().unwrap()));
    let file = json_of(
        &a.dir,
        &["share", src.join("talk.ogg").to_str().unwrap(), "--json"],
    );
    let dir = json_of(&a.dir, &["share", folder.to_str().unwrap(), "--json"]);
    let url = file["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{gateway}/s/")), "{url}");
    wait_online(&b);
    wait_online(&c);

    for n in [&b, &c] {
        let out = n.dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        for s in [&file, &dir] {
            get_until_complete(n, s["link"].as_str().unwrap(), &out);
        }
        same_tree(&src.join("talk.ogg"), &out.join("talk.ogg"));
        same_tree(&folder, &out.join("garden plans"));
    }

    // The browser link, through tor's SOCKS port as Tor Browser would use it.
    let socks = format!("socks5h://127.0.0.1:{}", tor.socks_port);
    let via = ["--proxy", socks.as_str(), "--max-time", "120"];
    let page = wait_for(ONION_WAIT, "the share page over Tor", || {
        let (code, _, page) = curl(&via, &url);
        (code == 200).then_some(String::from_utf8(page).unwrap())
    });
    let href = page_links(&page).pop().unwrap();
    let data = std::fs::read(src.join("talk.ogg")).unwrap();
    let mut args = via.to_vec();
    args.extend(["-r", "100000-299999"]);
    let (code, headers, body) = curl(&args, &format!("{gateway}{href}"));
    assert_eq!(code, 206);
    assert_eq!(
        header(&headers, "content-range"),
        Some("bytes 100000-299999/1800000")
    );
    assert!(body == data[100_000..300_000], "ranged body differs");
    // The C tor node serves it from its own onion gateway too.
    let c_gateway = c.status()["gateway_url"].as_str().unwrap().to_string();
    let (code, _, body) = curl(&via, &format!("{c_gateway}{href}"));
    assert_eq!(code, 200);
    assert!(body == data, "file from the C tor node's gateway differs");
    drop(tor);
}

#[test]
fn shares_with_onion_addresses_of_their_own_on_arti_and_ctor() {
    use common::data::{curl, random_file, same_tree};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    random_file(&src.join("minutes.pdf"), 700_000, 31);
    random_file(&src.join("budget.ods"), 300_000, 32);

    let Trio { a, sa, b, tor, c } = trio(tmp.path());
    let sc = wait_online(&c);
    wait_online(&b);

    // One share with its own onion on each Tor backend.
    let socks = format!("socks5h://127.0.0.1:{}", tor.socks_port);
    let via = ["--proxy", socks.as_str(), "--max-time", "120"];
    for (publisher, status, name) in [(&a, &sa, "minutes.pdf"), (&c, &sc, "budget.ods")] {
        let s = json_of(
            &publisher.dir,
            &[
                "share",
                src.join(name).to_str().unwrap(),
                "--own-address",
                "--json",
            ],
        );
        let link = s["link"].as_str().unwrap();
        let node_onion = status["id"].as_str().unwrap();
        assert!(!link.contains(node_onion), "{link} names the node");
        let url = s["url"].as_str().unwrap();
        assert!(!url.contains(node_onion), "{url} is on the node's address");
        let out = b.dir.join(format!("out-{name}"));
        std::fs::create_dir_all(&out).unwrap();
        get_until_complete(&b, link, &out);
        same_tree(&src.join(name), &out.join(name));
        // The browser link, through tor's SOCKS port.
        wait_for(ONION_WAIT, "the share page at its own onion", || {
            let (code, _, _) = curl(&via, url);
            (code == 200).then_some(())
        });
    }
    drop(tor);
}
