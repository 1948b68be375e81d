//! Start-up, first peer and memory, measured on real `warren` processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::super::median;

fn warren_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.with_file_name("warren");
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release --bin warren",
        bin.display()
    );
    bin
}

struct Proc {
    dir: PathBuf,
    child: Child,
}

impl Proc {
    fn start(dir: &Path, net: &Path, boot: Option<&str>) -> Proc {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("warren.toml"),
            "[community]\npow_difficulty = 12\n[tor]\nretry_interval_secs = 2\n",
        )
        .unwrap();
        let mut cmd = Command::new(warren_bin());
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["run", "--transport", "arti", "--tor-network"])
            .arg(net);
        if let Some(b) = boot {
            cmd.args(["--bootstrap", b]);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc {
            dir: dir.to_path_buf(),
            child,
        }
    }

    fn status(&self) -> Option<Value> {
        let out = Command::new(warren_bin())
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["status", "--json"])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn wait(&self, what: &str, f: impl Fn(&Value) -> bool) -> Duration {
        let t = Instant::now();
        loop {
            if self.status().is_some_and(|s| f(&s)) {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn hwm_kib(&self) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let p = Proc::start(&dir, net, None);
        cold.push(p.wait("the onion service to be reachable", online));
        let addr = p.status().unwrap()["address"].as_str().unwrap().to_string();
        p.stop();
        // Warm: the same node again, with arti's state and cache.
        let p = Proc::start(&dir, net, None);
        warm.push(p.wait("the onion service to be reachable (warm)", online));
        // First peer: a new node bootstrapping from it.
        let q = Proc::start(&tmp.join(format!("peer{run}")), net, Some(&addr));
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
    let hub = Proc::start(&tmp.join("hub"), net, None);
    hub.wait("the hub online", online);
    let addr = hub.status().unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let peers: Vec<Proc> = (0..10)
        .map(|i| Proc::start(&tmp.join(format!("p{i}")), net, Some(&addr)))
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
