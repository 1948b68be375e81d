//! Real `warren` processes for the benchmarks (the release binary beside
//! `warren-bench`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `warren` binary next to this one.
pub(crate) fn warren_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.with_file_name("warren");
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release --bin warren",
        bin.display()
    );
    bin
}

/// A `warren run` process, killed on drop.
pub(crate) struct Proc {
    pub(crate) dir: PathBuf,
    /// The `warren` binary it runs (and its commands use).
    bin: PathBuf,
    child: Child,
}

impl Proc {
    /// `warren --data-dir DIR run ARGS…` with `config` after a low proof of
    /// work setting in `warren.toml`; its log goes to `DIR/node.log`.
    pub(crate) fn start(dir: &Path, config: &str, args: &[&str]) -> Proc {
        Proc::start_bin(&warren_bin(), dir, config, args)
    }

    /// The same with another `warren` binary (an older build, to compare).
    pub(crate) fn start_bin(bin: &Path, dir: &Path, config: &str, args: &[&str]) -> Proc {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("warren.toml"),
            format!("[community]\npow_difficulty = 12\n\n{config}"),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .unwrap();
        let child = Command::new(bin)
            .arg("--data-dir")
            .arg(dir)
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let p = Proc {
            dir: dir.to_path_buf(),
            bin: bin.to_path_buf(),
            child,
        };
        p.wait("the control socket", |_| true);
        p
    }

    /// `warren --data-dir DIR ARGS…`, run to its end.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A command's `--json` answer; panics with its stderr on failure.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "warren {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }

    /// `status --json`, when the node answers.
    pub(crate) fn status(&self) -> Option<Value> {
        let out = self.cli(&["status", "--json"]);
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Polls `status` until `f` holds; how long that took.
    pub(crate) fn wait(&self, what: &str, f: impl Fn(&Value) -> bool) -> Duration {
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

    fn status_kib(&self, key: &str) -> u64 {
        status_kib(self.child.id(), key)
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far, KiB.
    pub(crate) fn hwm_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// Resident memory now, KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// CPU time used so far (user + system), in clock ticks (1/100 s).
    pub(crate) fn cpu_ticks(&self) -> u64 {
        cpu_ticks(self.child.id())
    }

    /// (bytes handed to write calls, bytes sent to the storage layer) so far.
    pub(crate) fn written(&self) -> (u64, u64) {
        let text =
            std::fs::read_to_string(format!("/proc/{}/io", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        };
        (field("wchar:"), field("write_bytes:"))
    }

    /// Stops the node with SIGTERM and waits.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// Stops the node and returns what it used over its whole life, every
    /// thread counted (also those that ended): the growth of this
    /// process's `getrusage(RUSAGE_CHILDREN)` across the wait, which reaps
    /// only this child.
    pub(crate) fn stop_usage(self) -> Usage {
        let before = Usage::children();
        self.stop();
        let after = Usage::children();
        Usage {
            cpu_s: after.cpu_s - before.cpu_s,
            context_switches: after.context_switches - before.context_switches,
        }
    }
}

/// A `/proc/PID/status` memory line of any process (`VmHWM`, `VmRSS`), KiB.
pub(crate) fn status_kib(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|l| l.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time any process used so far (user + system), in clock ticks
/// (1/100 s).
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// CPU time and context switches of a process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// User + system CPU, seconds.
    pub(crate) cpu_s: f64,
    /// Voluntary + involuntary context switches.
    pub(crate) context_switches: i64,
}

impl Usage {
    fn children() -> Usage {
        use nix::sys::resource::{UsageWho, getrusage};
        let u = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        Usage {
            cpu_s: secs(u.user_time()) + secs(u.system_time()),
            context_switches: u.voluntary_context_switches() + u.involuntary_context_switches(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder removed at the end: `warren-bench-NAME-PID` in the temp folder.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        Scratch(std::env::temp_dir().join(format!("warren-bench-{name}-{}", std::process::id())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The nodes' logs say what went wrong.
            eprintln!("kept {} (the benchmark failed)", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `warren run` on TCP with its panel, each on a free loopback port.
pub(crate) const TCP_WITH_PANEL: [&str; 6] = [
    "--transport",
    "tcp",
    "--listen",
    "127.0.0.1:0",
    "--panel-listen",
    "127.0.0.1:0",
];
