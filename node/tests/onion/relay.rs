//! The box's relay on the private Tor network: a box on its own C tor turns
//! the relay on; the network's consensus lists it Running without the Exit
//! flag; another tor pulls a minute of data through it, no faster than
//! its cap, and the box counts the bytes; a member it trusts checks its
//! relay claim against the consensus, and a forged claim does not hold;
//! the box's onion service answers throughout; turning it off closes the
//! ORPort and the onion service still answers.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::common::data::curl;
use super::common::{
    NodeProc, free_port, json, pairing_code, wait_for, warren, warren_ok, write_config,
};
use super::{ONION_WAIT, network, wait_online};
use warren_localnet::circuit;
use warren_localnet::web::Login;

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

#[test]
fn a_ctor_box_relays_when_turned_on_and_keeps_its_onion_service() {
    let tmp = tempfile::tempdir().unwrap();
    let net = &network().network;
    let tor =
        warren_localnet::CTor::start(net, &tmp.path().join("tor"), &[], Duration::from_secs(120))
            .unwrap();
    let or_port = free_port();
    let dir = tmp.path().join("box");
    write_config(
        &dir,
        &format!(
            "[node]\nrole = \"box\"\ntransport = \"ctor\"\n\n\
             [tor]\ncontrol_port = \"127.0.0.1:{}\"\nretry_interval_secs = 5\ncheck_timeout_secs = 60\n\n\
             [relay]\nor_port = \"127.0.0.1:{or_port}\"\naddress = \"127.0.0.1\"\n\
             rate_kib = 200\nburst_kib = 400\nupnp = false\n",
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

    // The owner turns it on with the panel's switch.
    let panel = status["panel_url"].as_str().unwrap().to_string();
    let owner = Login::pair(&panel, &pairing_code(&dir), "owner passphrase");
    let page = owner.get("/relay");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Turn the relay on"), "{}", page.body);
    let switched = owner.post("/relay", &[("on", "true")]);
    assert_eq!(switched.status, 303);
    let on = relay_status(&dir);
    assert_eq!(on["enabled"], true);
    assert_eq!(on["relaying"], true, "{on}");
    assert_eq!(on["rate"], 200 * 1024);
    assert_eq!(on["burst"], 400 * 1024);
    let config = std::fs::read_to_string(dir.join("warren.toml")).unwrap();
    assert!(config.contains("enabled = true"), "kept: {config}");
    let nickname = on["nickname"].as_str().unwrap().to_string();
    let fingerprint = on["fingerprint"].as_str().unwrap().to_string();
    // The public nickname says nothing of the node's address.
    let onion = status["onion_address"].as_str().unwrap();
    assert!(!nickname.contains(&onion[..6]), "{nickname} vs {onion}");
    assert_eq!(fingerprint.len(), 40);

    let flags = wait_for(ONION_WAIT, "the relay in the network's consensus", || {
        consensus_flags(&nickname).filter(|f| f.iter().any(|x| x == "Running"))
    });
    assert!(
        !flags.iter().any(|f| f == "Exit"),
        "a middle relay: {flags:?}"
    );
    let seen = wait_for(
        ONION_WAIT,
        "the box to see itself Running and reachable",
        || {
            let r = relay_status(&dir);
            let running = r["flags"].as_array()?.iter().any(|f| f == "Running");
            (running && r["reachable"] == true).then_some(r)
        },
    );
    assert!(seen["problem"].is_null(), "{seen}");
    assert!(seen["reachability_advice"].is_null(), "{seen}");

    // The other tor builds a circuit through the box, as a middle hop.
    let relays = &net.relays;
    let first = relays.iter().find(|r| !r.exit).unwrap();
    let exit = relays.iter().find(|r| r.exit).unwrap();
    let before = seen["accounting"]["written"].as_u64().unwrap();
    let circ = circuit::build_circuit(
        &other,
        &[&first.rsa_identity, &fingerprint, &exit.rsa_identity],
        ONION_WAIT,
    )
    .unwrap();
    // A minute of load through the box, capped at 200 KiB/s.
    let circuit::Pulled { bytes, took } =
        circuit::pull_through(&other, &circ, Duration::from_secs(60)).unwrap();
    let rate = bytes as f64 / took.as_secs_f64();
    let cap = 200.0 * 1024.0;
    eprintln!(
        "carried {bytes} bytes in {:.1} s through the box: {:.1} KiB/s, {:.3}× its cap",
        took.as_secs_f64(),
        rate / 1024.0,
        rate / cap
    );
    assert!(rate <= cap * 1.1, "the cap holds: {rate:.0} B/s");
    assert!(bytes > 1 << 20, "the load went through: {bytes} bytes");
    // The box counted what it carried (its next look at tor).
    let after = wait_for(Duration::from_secs(30), "the box to count it", || {
        let r = relay_status(&dir);
        let written = r["accounting"]["written"].as_u64()?;
        (written >= before + bytes).then_some(r)
    });
    assert!(after["bytes_today"].as_u64().unwrap() >= bytes, "{after}");
    assert_eq!(after["hours"].as_array().unwrap().len(), 24);
    // The panel's hourly chart shows it: a bar of megabytes.
    let page = owner.get("/relay").body;
    assert!(page.contains("Turn the relay off") && page.contains("Running"));
    let (hourly, _) = page.split_once("per day").unwrap();
    let hourly = hourly.split_once("per hour").unwrap().1;
    assert_eq!(hourly.matches("<rect").count(), 24);
    assert!(hourly.contains(" MiB ("), "{hourly}");
    // The onion service still answers while the box relays.
    onion_answers(other.socks_port, &gateway);

    // A member on the other tor, trusted by the box, checks the claim.
    let member_dir = tmp.path().join("member");
    write_config(
        &member_dir,
        &format!(
            "[node]\ntransport = \"ctor\"\n\n[tor]\ncontrol_port = \"127.0.0.1:{}\"\n\
             retry_interval_secs = 5\ncheck_timeout_secs = 60\n",
            other.control_port
        ),
    );
    let member = NodeProc::start_with(&member_dir, &[]);
    let member_addr = wait_online(&member)["address"]
        .as_str()
        .unwrap()
        .to_string();
    let box_addr = status["address"].as_str().unwrap().to_string();
    warren_ok(&dir, &["trust", "add", &member_addr]);
    warren_ok(&member_dir, &["trust", "add", &box_addr]);
    let checked = wait_for(ONION_WAIT, "the member to check the box's claim", || {
        let o = warren(&member_dir, &["relay", "check", &box_addr, "--json"]);
        if !o.status.success() {
            eprintln!("relay check: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        serde_json::from_slice::<Value>(&o.stdout).ok()
    });
    assert_eq!(checked["verified"], true);
    assert_eq!(checked["fingerprint"], fingerprint);
    assert_eq!(checked["nickname"], nickname);
    assert!(
        checked["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "Running")
    );
    // A claim naming the box's relay, signed by another node, does not
    // hold against the same consensus.
    let entry = circuit::TorControl::connect(&other)
        .unwrap()
        .getinfo(&format!("ns/id/{fingerprint}"))
        .ok();
    assert!(entry.is_some(), "the other tor lists the box");
    let forger = warren_proto::Keypair::from_seed(&[42; 32]);
    let forged = warren_proto::relay::RelayClaim {
        node: forger.id(),
        fingerprint: warren_proto::relay::parse_fingerprint(&fingerprint).unwrap(),
        secret: [1; 32],
        issued_at: 0,
        expires_at: 1,
    };
    let refused = warren_node::tor::relay::check_claim(entry.as_deref(), &forged).unwrap_err();
    assert!(
        refused.to_string().contains("not its operator's"),
        "{refused}"
    );

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
