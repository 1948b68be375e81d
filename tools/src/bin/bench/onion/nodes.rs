//! Start-up, first peer and memory, measured on real `warren` processes.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::super::median;
use super::super::procs::Proc;

fn arti(dir: &Path, net: &Path, boot: Option<&str>) -> Proc {
    let net = net.to_str().unwrap();
    let mut args = vec!["--transport", "arti", "--tor-network", net];
    if let Some(b) = boot {
        args.extend(["--bootstrap", b]);
    }
    Proc::start(dir, "[tor]\nretry_interval_secs = 2\n", &args)
}

fn online(s: &Value) -> bool {
    s["online"] == true
}

pub(super) fn run(net: &Path) {
    let tmp = std::env::temp_dir().join(format!("warren-bench-onion-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (mut cold, mut warm, mut first_peer) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..3 {
        // Cold: a data directory that has never run.
        let dir = tmp.join(format!("start{run}"));
        let p = arti(&dir, net, None);
        cold.push(p.wait("the onion service to be reachable", online));
        let addr = p.status().unwrap()["address"].as_str().unwrap().to_string();
        p.stop();
        // Warm: the same node again, with arti's state and cache.
        let p = arti(&dir, net, None);
        warm.push(p.wait("the onion service to be reachable (warm)", online));
        // First peer: a new node bootstrapping from it.
        let q = arti(&tmp.join(format!("peer{run}")), net, Some(&addr));
        first_peer.push(q.wait("the first peer connection", |s| {
            s["connected_peers"].as_u64().unwrap_or(0) >= 1
        }));
        q.stop();
        p.stop();
    }
    let show = |v: &mut Vec<Duration>| {
        let all: Vec<String> = v
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect();
        format!(
            "median {:.1} s (runs: {} s)",
            median(v).as_secs_f64(),
            all.join(", ")
        )
    };
    println!(
        "node start → own onion service reachable, cold: {}",
        show(&mut cold)
    );
    println!(
        "node start → own onion service reachable, warm: {}",
        show(&mut warm)
    );
    println!(
        "node start → first peer connected (bootstrap node online): {}",
        show(&mut first_peer)
    );

    // Memory: one node with ten peers.
    let hub = arti(&tmp.join("hub"), net, None);
    hub.wait("the hub online", online);
    let addr = hub.status().unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let peers: Vec<Proc> = (0..10)
        .map(|i| arti(&tmp.join(format!("p{i}")), net, Some(&addr)))
        .collect();
    hub.wait("ten peers connected", |s| {
        s["connected_peers"].as_u64().unwrap_or(0) >= 10
    });
    std::thread::sleep(Duration::from_secs(10));
    println!(
        "peak RSS of a release node on arti with 10 connected peers: {:.1} MiB",
        hub.hwm_kib() as f64 / 1024.0
    );
    drop(peers);
    drop(hub);
    let _ = std::fs::remove_dir_all(&tmp);
}
