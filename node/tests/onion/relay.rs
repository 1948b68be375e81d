//! The box's relay on the private Tor network: a box on its own C tor turns
//! the relay on; the network's consensus lists it Running without the Exit
//! flag; another tor builds a circuit through it and the box counts it;
//! the box's onion service answers throughout; turning it off closes the
//! ORPort and the onion service still answers.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use warren_node::transport::ctor::Control;

use super::common::data::curl;
use super::common::{NodeProc, json, wait_for, write_config};
use super::{ONION_WAIT, network, wait_online};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The flags the first authority's latest consensus gives `nickname`.
fn consensus_flags(nickname: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(network().dir.join("auth0/cached-consensus")).ok()?;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("r ") && l.split(' ').nth(1) == Some(nickname) {
            let s = lines.next()?.strip_prefix("s ")?;
            return Some(s.split(' ').map(String::from).collect());
        }
    }
    None
}

fn relay_status(dir: &Path) -> Value {
    json(dir, &["relay", "status", "--json"])
}

/// An HTTP answer from the box's web gateway over Tor: its onion service
/// works.
fn onion_answers(socks_port: u16, gateway: &str) {
    let socks = format!("socks5h://127.0.0.1:{socks_port}");
    wait_for(ONION_WAIT, "the box's onion service to answer", || {
        let (code, _, _) = curl(&["--proxy", &socks, "--max-time", "60"], gateway);
        (code != 0).then_some(())
    });
}

/// Builds a circuit `first → middle → last` from `tor`, once `tor` has a
/// consensus that lists all three.
fn extend_circuit(tor: &warren_localnet::CTor, path: [&str; 3]) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hops: Vec<String> = path.iter().map(|fp| format!("${fp}")).collect();
    let line = format!("EXTENDCIRCUIT 0 {}", hops.join(","));
    wait_for(ONION_WAIT, "the other tor to build a circuit through the box", || {
        rt.block_on(async {
            let addr = format!("127.0.0.1:{}", tor.control_port).parse().unwrap();
            let mut ctl = Control::connect(addr).await.unwrap();
            ctl.authenticate(Some(&tor.cookie)).await.unwrap();
            match ctl.command(&line).await {
                Ok(r) => Some(r.lines[0].trim_start_matches("EXTENDED ").to_string()),
                Err(e) => {
                    // "No such router" until its consensus lists the box.
                    eprintln!("{line}: {e}");
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    None
                }
            }
        })
    })
}

#[test]
fn a_ctor_box_relays_when_turned_on_and_keeps_its_onion_service() {
    let tmp = tempfile::tempdir().unwrap();
    let net = &network().network;
    let tor = warren_localnet::CTor::start(
        net,
        &tmp.path().join("tor"),
        &[],
        Duration::from_secs(120),
    )
    .unwrap();
    let or_port = free_port();
    let dir = tmp.path().join("box");
    write_config(
        &dir,
        &format!(
            "[node]\nrole = \"box\"\ntransport = \"ctor\"\n\n\
             [tor]\ncontrol_port = \"127.0.0.1:{}\"\nretry_interval_secs = 5\ncheck_timeout_secs = 60\n\n\
             [relay]\nor_port = \"127.0.0.1:{or_port}\"\naddress = \"127.0.0.1\"\n\
             rate_kib = 200\nburst_kib = 400\n",
            tor.control_port
        ),
    );
    let node = NodeProc::start_with(&dir, &[]);
    let status = wait_online(&node);
    let gateway = status["gateway_url"].as_str().unwrap().to_string();
    assert_eq!(status["relay"]["enabled"], false);
    assert_eq!(relay_status(&dir)["relaying"], false);

    // A second tor: another user of the network.
    let other = warren_localnet::CTor::start(
        net,
        &tmp.path().join("other"),
        &[],
        Duration::from_secs(120),
    )
    .unwrap();
    onion_answers(other.socks_port, &gateway);

    let on = json(&dir, &["relay", "on", "--json"]);
    assert_eq!(on["enabled"], true);
    assert_eq!(on["relaying"], true, "{on}");
    assert_eq!(on["rate"], 200 * 1024);
    assert_eq!(on["burst"], 400 * 1024);
    let config = std::fs::read_to_string(dir.join("warren.toml")).unwrap();
    assert!(config.contains("enabled = true"), "kept: {config}");
    let nickname = on["nickname"].as_str().unwrap().to_string();
    let fingerprint = on["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fingerprint.len(), 40);

    let flags = wait_for(ONION_WAIT, "the relay in the network's consensus", || {
        consensus_flags(&nickname).filter(|f| f.iter().any(|x| x == "Running"))
    });
    assert!(!flags.iter().any(|f| f == "Exit"), "a middle relay: {flags:?}");
    let seen = wait_for(ONION_WAIT, "the box to see itself Running and reachable", || {
        let r = relay_status(&dir);
        let running = r["flags"].as_array()?.iter().any(|f| f == "Running");
        (running && r["reachable"] == true).then_some(r)
    });
    assert!(seen["problem"].is_null(), "{seen}");
    assert!(seen["reachability_advice"].is_null(), "{seen}");

    // The other tor builds a circuit through the box, as a middle hop.
    let relays = &net.relays;
    let first = relays.iter().find(|r| !r.exit).unwrap();
    let exit = relays.iter().find(|r| r.exit).unwrap();
    let before = seen["circuits"].as_u64().unwrap();
    let circ = extend_circuit(
        &other,
        [&first.rsa_identity, &fingerprint, &exit.rsa_identity],
    );
    assert!(!circ.is_empty());
    let after = wait_for(
        Duration::from_secs(60),
        "the box to count the circuit",
        || {
            let r = relay_status(&dir);
            (r["circuits"].as_u64()? > before).then_some(r)
        },
    );
    assert!(after["bytes_today"].as_u64().unwrap() > 0, "{after}");
    assert!(after["hours"].as_array().unwrap().len() == 24);
    assert!(after["accounting"]["written"].as_u64().unwrap() > 0);
    // The onion service still answers while the box relays.
    onion_answers(other.socks_port, &gateway);

    let off = json(&dir, &["relay", "off", "--json"]);
    assert_eq!(off["enabled"], false);
    assert_eq!(off["relaying"], false, "{off}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", or_port)).is_err(),
        "the ORPort is closed"
    );
    let config = std::fs::read_to_string(dir.join("warren.toml")).unwrap();
    assert!(config.contains("enabled = false"), "kept: {config}");
    onion_answers(other.socks_port, &gateway);
    assert_eq!(node.status()["relay"]["relaying"], false);
}
