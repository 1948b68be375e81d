//! Helpers for tests that run the real `warren` binary.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]
// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

pub mod data;
pub mod netns;
pub mod raw;
pub mod transfer;
#[allow(unused_imports)]
pub use warren_localnet::web;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Proof of work for test communities: cheap, so identities mine in a blink.
pub const TEST_BITS: u8 = 12;

pub fn warren_bin() -> &'static str {
    env!("CARGO_BIN_EXE_warren")
}

/// Runs `warren --data-dir DIR ARGS…` to completion.
pub fn warren(dir: &Path, args: &[&str]) -> Output {
    Command::new(warren_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs a warren command that must succeed; returns stdout.
pub fn warren_ok(dir: &Path, args: &[&str]) -> String {
    let out = warren(dir, args);
    assert!(
        out.status.success(),
        "warren {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `warren ARGS…` in `dir`, which must succeed and print JSON.
pub fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&warren_ok(dir, args)).unwrap()
}

/// A loopback port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes a test config into `dir` (cheap proof of work, fast timers).
pub fn write_config(dir: &Path, extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!(
        "[community]\npow_difficulty = {TEST_BITS}\n\n[discovery]\nreconnect_base_secs = 1\nreconnect_max_secs = 5\n\n{extra}"
    );
    std::fs::write(dir.join("warren.toml"), text).unwrap();
}

/// A `warren run` process, stopped (SIGTERM) on drop.
pub struct NodeProc {
    pub dir: PathBuf,
    child: Option<Child>,
}

impl NodeProc {
    /// Starts `warren run --listen 127.0.0.1:0 --transport tcp [--bootstrap B]…`
    /// in `dir` and waits until its control socket answers.
    pub fn start(dir: &Path, bootstrap: &[&str]) -> NodeProc {
        let mut args = vec!["--listen", "127.0.0.1:0", "--transport", "tcp"];
        for b in bootstrap {
            args.extend(["--bootstrap", b]);
        }
        Self::start_with(dir, &args)
    }

    /// Starts `warren --data-dir DIR run ARGS…` and waits until its control
    /// socket answers. The log (appended across restarts) is `DIR/node.log`.
    pub fn start_with(dir: &Path, args: &[&str]) -> NodeProc {
        Self::start_in(dir, &[], args)
    }

    /// The same, run through `prefix` (for example `ip netns exec NS`).
    pub fn start_in(dir: &Path, prefix: &[&str], args: &[&str]) -> NodeProc {
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(warren_bin());
                c
            }
            None => Command::new(warren_bin()),
        };
        cmd.arg("--data-dir").arg(dir).arg("run").args(args);
        if !args.contains(&"--panel-listen") {
            // Many nodes run at once: each panel on a port of its own.
            cmd.args(["--panel-listen", "127.0.0.1:0"]);
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
        let mut p = NodeProc {
            dir: dir.to_path_buf(),
            child: Some(child),
        };
        wait_for(Duration::from_secs(60), "the control socket", || {
            if let Some(status) = p.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("warren run exited with {status}:\n{}", p.log());
            }
            try_status(&p.dir)
        });
        p
    }

    pub fn status(&self) -> Value {
        try_status(&self.dir)
            .unwrap_or_else(|| panic!("no status from {}:\n{}", self.dir.display(), self.log()))
    }

    pub fn address(&self) -> String {
        self.status()["address"].as_str().unwrap().to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("node did not stop within 20 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process at once (SIGKILL: no shutdown, nothing flushed)
    /// and reaps it.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Resident memory (VmRSS) and its peak (VmHWM), in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `warren status --json` of the node in `dir`, if one answers.
pub fn try_status(dir: &Path) -> Option<Value> {
    let out = warren(dir, &["status", "--json"]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The socket address the node in `dir` listens on.
pub fn listen_addr(status: &Value) -> std::net::SocketAddr {
    status["listen"].as_str().unwrap().parse().unwrap()
}

/// The panel's one-time pairing code, as the node keeps it in `dir`.
pub fn pairing_code(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pairing-code.txt"))
        .unwrap()
        .trim()
        .to_string()
}

/// `warren get LINK --out OUT` in the background (it waits as long as the
/// download does); kill it when done.
pub fn get_in_background(dir: &Path, link: &str, out: &Path) -> Child {
    Command::new(warren_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(["get", link, "--json", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The node's first download, as `downloads --json` shows it.
pub fn first_download(dir: &Path) -> Value {
    json(dir, &["downloads", "--json"])[0].clone()
}
