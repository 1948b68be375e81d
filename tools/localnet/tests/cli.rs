//! `warren-localnet up DIR` / `down DIR`, run as the real command.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Child, Command};

use warren_localnet::NetworkFile;

fn localnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warren-localnet"))
        .args(args)
        .output()
        .unwrap()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// A process whose command line mentions `marker` but that `up` did not start.
fn decoy(marker: &Path) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg("sleep 600; true")
        .arg(marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn up_builds_a_usable_network_and_down_stops_exactly_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let out = localnet(&["up", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tor-network.toml"), "{stdout}");

    let file = NetworkFile::read(&dir.join("tor-network.toml")).unwrap();
    assert_eq!(file.authorities.len(), 3);
    assert_eq!(file.relays.len(), 5);
    assert_eq!(file.relays.iter().filter(|r| r.exit).count(), 2);
    let dir_auth_lines = file
        .client_torrc
        .iter()
        .filter(|l| l.starts_with("DirAuthority "))
        .count();
    assert_eq!(dir_auth_lines, 3);
    let mut ports: Vec<u16> = file
        .authorities
        .iter()
        .flat_map(|a| [a.or_port, a.dir_port])
        .collect();
    ports.extend(file.relays.iter().flat_map(|r| [r.or_port, r.dir_port]));
    let n = ports.len();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), n, "every port distinct");

    let pids: Vec<u32> = std::fs::read_to_string(dir.join("localnet.pids"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 8);
    assert!(pids.iter().all(|p| alive(*p)));

    // A second `up` on a running network is refused.
    let again = localnet(&["up", dir.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));

    client_runs_until_stopped(&dir, &tmp.path().join("client"));

    let mut bystander = decoy(&dir);
    let out = localnet(&["down", dir.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped 8 tor processes"));
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "every tor of the network is gone"
    );
    assert!(
        alive(bystander.id()),
        "a process down did not start survives"
    );
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

/// `client`: a C tor client on the network that answers on the control
/// port it prints, with the cookie it prints, bootstrapped; its tor stops
/// when the command is killed.
fn client_runs_until_stopped(net: &Path, dir: &Path) {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_warren-localnet"))
        .args(["client", net.to_str().unwrap(), dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = std::collections::HashMap::new();
    let mut tor_pid = 0u32;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(pid) = line.strip_prefix("tor client ready (pid ") {
            tor_pid = pid.trim_end_matches(')').parse().unwrap();
        } else if let Some((k, v)) = line.split_once(": ") {
            printed.insert(k.to_string(), v.to_string());
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    let control = &printed["control port"];
    let cookie = std::fs::read(&printed["control cookie"]).unwrap();
    assert!(
        printed["a node on it"].contains("--transport ctor"),
        "{printed:?}"
    );
    let mut conn = std::net::TcpStream::connect(control).unwrap();
    let hex: String = cookie.iter().map(|b| format!("{b:02x}")).collect();
    write!(
        conn,
        "AUTHENTICATE {hex}\r\nGETINFO status/bootstrap-phase\r\nQUIT\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.starts_with("250 OK"), "{answer}");
    assert!(answer.contains("PROGRESS=100"), "{answer}");

    assert!(alive(tor_pid), "pid {tor_pid} printed: {printed:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let start = std::time::Instant::now();
    while alive(tor_pid) && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(!alive(tor_pid), "the client's tor stops with the command");
}

#[test]
fn usage_errors_are_explained() {
    let out = localnet(&["sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: warren-localnet up DIR"));
    let out = localnet(&["down", "/nonexistent/warren-localnet"]);
    assert!(!out.status.success());
}
