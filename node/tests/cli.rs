//! The `warren` command line, run as a real process.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{NodeProc, listen_addr, wait_for, warren, warren_ok, write_config};
use warren_proto::PeerAddr;

#[test]
fn init_prints_the_address_and_keeps_the_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    write_config(&dir, "");
    let first: serde_json::Value =
        serde_json::from_str(&warren_ok(&dir, &["init", "--json"])).unwrap();
    // The default transport is Tor: the address is the onion address itself.
    assert_eq!(first["address"], first["id"]);
    assert_eq!(first["created"], true);
    let id = first["id"].as_str().unwrap();
    let addr: PeerAddr = first["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(addr.id.to_string(), id);
    let again: serde_json::Value =
        serde_json::from_str(&warren_ok(&dir, &["init", "--json"])).unwrap();
    assert_eq!(again["created"], false);
    assert_eq!(again["id"], first["id"]);
    // The data directory is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // The store holds the secret key.
    let mode = std::fs::metadata(dir.join("warren.redb"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = warren_ok(&dir, &["init"]);
    assert!(text.contains(id), "{text}");
    // A shared folder (sticky, as /tmp) keeps its mode.
    let shared = tmp.path().join("shared");
    write_config(&shared, "");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = warren(&shared, &["init"]);
    assert!(out.status.success());
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o1777);
    assert!(String::from_utf8_lossy(&out.stderr).contains("left as it is"));
}

#[test]
fn status_reports_the_real_port_and_the_contract_fields() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), "");
    let node = NodeProc::start(tmp.path(), &[]);
    let s = node.status();
    for field in [
        "id",
        "address",
        "transport",
        "connected_peers",
        "known_peers",
    ] {
        assert!(s.get(field).is_some(), "status lacks {field}: {s}");
    }
    assert_eq!(s["transport"], "tcp");
    assert!(s["connected_peers"].is_u64() && s["known_peers"].is_u64());
    let listen = listen_addr(&s);
    assert_ne!(listen.port(), 0);
    let addr: PeerAddr = s["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(addr.to_string(), s["address"].as_str().unwrap());
    assert!(
        s["address"]
            .as_str()
            .unwrap()
            .ends_with(&listen.to_string())
    );
    // Something is listening there.
    TcpStream::connect(listen).unwrap();
    let peers: serde_json::Value =
        serde_json::from_str(&warren_ok(tmp.path(), &["peers", "--json"])).unwrap();
    assert_eq!(peers, serde_json::json!([]));
}

#[test]
fn five_nodes_find_each_other_from_one_bootstrap_address() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..5).map(|i| tmp.path().join(format!("n{i}"))).collect();
    for d in &dirs {
        write_config(d, "");
    }
    let first = NodeProc::start(&dirs[0], &[]);
    let boot = first.address();
    let mut nodes = vec![first];
    for d in &dirs[1..] {
        nodes.push(NodeProc::start(d, &[boot.as_str()]));
    }
    wait_for(
        Duration::from_secs(60),
        "five nodes to know and reach each other",
        || {
            nodes
                .iter()
                .all(|n| {
                    let s = n.status();
                    s["known_peers"] == 4 && s["connected_peers"].as_u64().unwrap() >= 1
                })
                .then_some(())
        },
    );
    // Every node lists every other by its onion address.
    let ids: Vec<String> = nodes
        .iter()
        .map(|n| n.status()["id"].as_str().unwrap().to_string())
        .collect();
    for (i, n) in nodes.iter().enumerate() {
        let peers: serde_json::Value =
            serde_json::from_str(&warren_ok(&n.dir, &["peers", "--json"])).unwrap();
        let listed: Vec<&str> = peers
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        for (j, id) in ids.iter().enumerate() {
            assert_eq!(
                listed.contains(&id.as_str()),
                i != j,
                "node {i} and node {j}"
            );
        }
    }
}

#[test]
fn garbage_on_the_port_does_not_stop_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_config(&a, "");
    write_config(&b, "");
    let mut node = NodeProc::start(&a, &[]);
    let at = listen_addr(&node.status());
    let junk: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0xff; 4096],
        vec![0, 0, 0, 10, 0, 0, 0, 0, 1, 2, 3], // truncated handshake frame
        vec![0, 0, 0, 0, 0, 0, 0, 0],           // empty handshake payload
        vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0], // absurd length
        (0..=255u8).cycle().take(65_536).collect(),
    ];
    for bytes in &junk {
        let mut s = TcpStream::connect(at).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(bytes);
        // The node hangs up (EOF or reset) instead of waiting for more.
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf);
    }
    // Connections that say nothing at all hold handshake places only until
    // newer dialers need them: opening more than there are places does not
    // lock anyone out.
    let silent: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(at).unwrap()).collect();
    assert!(node.alive());
    let s = node.status();
    assert!(
        s["metrics"]["handshakes_failed"].as_u64().unwrap() >= junk.len() as u64 - 1,
        "{s}"
    );
    // A real node still gets in.
    let other = NodeProc::start(&b, &[node.address().as_str()]);
    wait_for(Duration::from_secs(10), "an honest node to connect", || {
        (other.status()["connected_peers"] == 1).then_some(())
    });
    assert!(
        node.status()["metrics"]["handshakes_evicted"]
            .as_u64()
            .unwrap()
            > 0
    );
    drop(silent);
    assert!(node.stop().success());
}

#[test]
fn bad_bytes_on_the_control_socket_get_an_error_line() {
    use std::os::unix::net::UnixStream;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "");
    let node = NodeProc::start(&dir, &[]);
    for (sent, said) in [
        (&b"\xff\xfe{\"cmd\":\"status\"}\n"[..], "not UTF-8"),
        (&b"{\"cmd\":\"no such\"}\n"[..], "bad request"),
        (&b"not json\n"[..], "bad request"),
    ] {
        let mut s = UnixStream::connect(dir.join("control.sock")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(sent).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let v: serde_json::Value = serde_json::from_str(answer.trim()).unwrap();
        assert_eq!(v["ok"], false, "{answer}");
        assert!(v["error"].as_str().unwrap().contains(said), "{answer}");
    }
    assert!(node.status()["id"].is_string(), "the node still answers");
}

/// A process holding control connections that never finish their
/// request (a stuck script) holds at most half of the clients' slots, its
/// own stalest closed for its next: the owner's `warren status` answers at
/// once throughout.
#[test]
fn a_process_holding_control_connections_never_keeps_the_owner_out() {
    use std::os::unix::net::UnixStream;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "[limits]\ncontrol_clients = 4\n");
    let node = NodeProc::start(&dir, &[]);
    let sock = dir.join("control.sock");
    let mut held: Vec<UnixStream> = (0..40)
        .map(|_| {
            let mut s = UnixStream::connect(&sock).unwrap();
            s.write_all(b"{\"cmd\":").unwrap();
            s
        })
        .collect();
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        assert!(node.status()["id"].is_string());
        worst = worst.max(t.elapsed());
        // More, as a stuck script keeps opening them.
        for _ in 0..8 {
            let mut s = UnixStream::connect(&sock).unwrap();
            s.write_all(b"{\"cmd\":").unwrap();
            held.push(s);
        }
    }
    assert!(worst < Duration::from_secs(3), "status took {worst:?}");
    drop(held);
}

#[test]
fn commands_without_a_running_node_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = warren(tmp.path(), &["status", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no node is running"), "{err}");
    let out = warren(tmp.path(), &["peers"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn trust_works_with_and_without_a_running_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_config(&a, "");
    write_config(&b, "");
    warren_ok(&a, &["init"]);
    let peer_node = NodeProc::start(&b, &[]);
    let b_addr = peer_node.address();

    // Offline: written to the store, used at the next start.
    let out = warren_ok(&a, &["trust", "add", &b_addr]);
    assert!(out.contains("takes effect when the node starts"), "{out}");
    let bad = warren(&a, &["trust", "add", "not-an-address"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid"),
        "{bad:?}"
    );

    let node = NodeProc::start(&a, &[]);
    let own = node.address();
    wait_for(
        Duration::from_secs(30),
        "the trusted node to be dialed",
        || {
            let s = node.status();
            (s["trusted_peers"] == 1 && s["connected_peers"] == 1).then_some(())
        },
    );
    let list: serde_json::Value =
        serde_json::from_str(&warren_ok(&a, &["trust", "list", "--json"])).unwrap();
    assert_eq!(list[0]["address"], b_addr.as_str());
    // Online: through the control socket.
    let refuse = warren(&a, &["trust", "add", &own]);
    assert!(
        String::from_utf8_lossy(&refuse.stderr).contains("own address"),
        "{refuse:?}"
    );
    let b_id = b_addr.split('@').next().unwrap();
    let out = warren_ok(&a, &["trust", "remove", b_id]);
    assert!(out.contains("no longer trusted"), "{out}");
    assert_eq!(node.status()["trusted_peers"], 0);
}

#[test]
fn a_restarted_node_keeps_its_identity_and_its_peers() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_config(&a, "");
    write_config(&b, "");
    let hub = NodeProc::start(&a, &[]);
    let mut leaf = NodeProc::start(&b, &[hub.address().as_str()]);
    wait_for(Duration::from_secs(30), "connection", || {
        (leaf.status()["connected_peers"] == 1).then_some(())
    });
    let id = leaf.status()["id"].clone();
    assert!(leaf.stop().success(), "clean exit on SIGTERM");
    // No --bootstrap this time: the stored peer table is enough.
    let leaf = NodeProc::start(&b, &[]);
    assert_eq!(leaf.status()["id"], id);
    wait_for(
        Duration::from_secs(30),
        "reconnection from the stored peers",
        || (leaf.status()["connected_peers"] == 1).then_some(()),
    );
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("warren.toml"),
        "[node]\nlisten_on = \"x\"\n",
    )
    .unwrap();
    let out = warren(tmp.path(), &["run"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warren.toml") && err.contains("listen_on"),
        "{err}"
    );
    std::fs::write(
        tmp.path().join("warren.toml"),
        "[community]\npow_difficulty = 99\n",
    )
    .unwrap();
    let err = String::from_utf8_lossy(&warren(tmp.path(), &["init"]).stderr).to_string();
    assert!(err.contains("pow_difficulty"), "{err}");
    std::fs::remove_file(tmp.path().join("warren.toml")).unwrap();
    let out = warren(tmp.path(), &["run", "--bootstrap", "nonsense"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bootstrap") && err.contains("nonsense"),
        "{err}"
    );
}

#[test]
fn only_a_c_tor_node_can_relay_and_the_others_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("arti");
    write_config(&dir, "[relay]\nenabled = true\n");
    // The default transport is arti: refused before anything starts.
    let out = warren(&dir, &["run"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("relay.enabled") && err.contains("arti cannot relay yet"),
        "{err}"
    );
    // A running node on another transport refuses `relay on` with why.
    std::fs::create_dir_all(tmp.path().join("tcp")).unwrap();
    let tcp = NodeProc::start(&tmp.path().join("tcp"), &[]);
    for action in ["on", "off", "status"] {
        let out = warren(&tcp.dir, &["relay", action]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("this node cannot relay: the tcp transport has no tor"),
            "{err}"
        );
    }
    assert!(tcp.status()["relay"].is_null());
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    write_config(&dir, "");
    let _node = NodeProc::start(&dir, &[]);
    for i in 0..3 {
        let f = tmp.path().join(format!("file-{i}.txt"));
        std::fs::write(&f, format!("file {i}\n")).unwrap();
        warren_ok(&dir, &["share", f.to_str().unwrap()]);
    }
    let commands: &[&[&str]] = &[
        &["status"],
        &["status", "--json"],
        &["peers"],
        &["shares"],
        &["shares", "--json"],
        &["downloads", "--json"],
        &["catalogue"],
        &["mirrors"],
        &["trust", "list"],
        &["--help"],
    ];
    for args in commands {
        for reader in ["true", "head -c 1"] {
            for _ in 0..5 {
                // As `ls | head`: the writer ends when the reader is gone,
                // by SIGPIPE (status 141 in the shell) or by having written
                // everything first (0); never a panic.
                let script = format!(
                    "\"$0\" --data-dir \"$1\" {} 2>\"$2\" | {reader} >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
                    args.join(" ")
                );
                let err = tmp.path().join("stderr");
                let out = std::process::Command::new("bash")
                    .args(["-c", &script])
                    .arg(common::warren_bin())
                    .arg(&dir)
                    .arg(&err)
                    .output()
                    .unwrap();
                let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
                let stderr = std::fs::read_to_string(&err).unwrap_or_default();
                assert!(
                    status == "0" || status == "141",
                    "warren {args:?} | {reader}: status {status}, stderr: {stderr}"
                );
                assert!(stderr.is_empty(), "warren {args:?} | {reader}: {stderr}");
            }
        }
        // A full disk is an error said in words, not a panic.
        let full = std::process::Command::new(common::warren_bin())
            .arg("--data-dir")
            .arg(&dir)
            .args(*args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&full.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if args[0] != "--help" {
            // (clap prints help itself, and ignores a failed write.)
            assert_eq!(
                full.status.code(),
                Some(1),
                "warren {args:?} >/dev/full: {stderr}"
            );
            assert!(stderr.contains("No space left on device"), "{stderr}");
        }
    }
}
