//! One network per test process, torn down when the process ends.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::file::{NETWORK_FILE, NetworkFile};
use crate::net::{Options, up};
use crate::procs::read_pids;

/// A running shared network.
#[derive(Debug)]
pub struct Shared {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `tor-network.toml`.
    pub file: PathBuf,
    /// The parsed file.
    pub network: NetworkFile,
}

static NETWORK: OnceLock<Result<Shared, String>> = OnceLock::new();

/// The network shared by every test of this process, started on first use.
///
/// Teardown does not rely on the test process ending well: a watchdog
/// process (a few lines of `sh`, in its own process group) waits for this
/// process to exit, then stops the network's tor processes and removes its
/// directory — after a pass, a failure, a panic or a kill.
///
/// # Panics
/// If the network cannot be built (tor missing, not ready in time).
pub fn shared() -> &'static Shared {
    let r = NETWORK.get_or_init(|| start().map_err(|e| e.to_string()));
    match r {
        Ok(s) => s,
        Err(e) => panic!("private Tor network: {e}"),
    }
}

fn start() -> crate::Result<Shared> {
    let dir = std::env::temp_dir().join(format!("warren-localnet-{}", std::process::id()));
    let mut opts = Options::default();
    if let Ok(params) = std::env::var("WARREN_LOCALNET_PARAMS") {
        opts.consensus_params = params;
    }
    let built = up(&dir, &opts);
    // Arm the watchdog whether or not `up` succeeded: it cleans up either way.
    guard(std::process::id(), &read_pids(&dir), &dir, true);
    let network = built?;
    Ok(Shared {
        file: dir.join(NETWORK_FILE),
        dir,
        network,
    })
}

/// Starts a watchdog that, once `parent` has exited, stops `pids` (those
/// whose command line mentions `marker`) and, if `remove`, deletes `marker`.
pub(crate) fn guard(parent: u32, pids: &[u32], marker: &std::path::Path, remove: bool) {
    use std::os::unix::process::CommandExt;
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    let script = r#"
parent=$1; marker=$2; remove=$3; shift 3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for p in "$@"; do grep -qF "$marker" "/proc/$p/cmdline" 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
sleep 3
for p in "$@"; do grep -qF "$marker" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
[ "$remove" = yes ] && rm -rf "$marker"
exit 0
"#;
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("warren-localnet-guard")
        .arg(parent.to_string())
        .arg(marker)
        .arg(if remove { "yes" } else { "no" })
        .args(pids)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}
