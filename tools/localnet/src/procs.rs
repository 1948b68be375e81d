//! Starting and stopping tor processes, by pid file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{Error, Result};

/// File listing the pids `up` started, one per line.
pub(crate) const PIDS: &str = "localnet.pids";

/// Starts `tor -f TORRC` detached from our process group; returns its pid.
pub(crate) fn start_tor(torrc: &Path, log: &Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out =
        std::fs::File::create(log).map_err(Error::io(format!("creating {}", log.display())))?;
    let child = Command::new("tor")
        .arg("-f")
        .arg(torrc)
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(Error::io("log file"))?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .map_err(|e| {
            Error::Tool(format!(
                "cannot run tor (apt-get install --no-install-recommends tor): {e}"
            ))
        })?;
    Ok(child.id())
}

/// Whether `pid` runs a command line mentioning `marker` (so that we never
/// signal a process that merely reused the pid).
pub(crate) fn is_ours(pid: u32, marker: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let marker = marker.to_string_lossy();
    String::from_utf8_lossy(&cmdline).contains(marker.as_ref())
}

/// Whether `pid` is alive (and not a zombie).
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Sends SIGTERM to each of `pids` that is ours, waits up to `grace`, then
/// SIGKILLs what remains. Returns how many were stopped.
pub(crate) fn stop(pids: &[u32], marker: &Path, grace: Duration) -> usize {
    let ours: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| is_ours(*p, marker))
        .collect();
    for p in &ours {
        let _ = kill(Pid::from_raw(*p as i32), Signal::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < grace && ours.iter().any(|p| alive(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in ours.iter().filter(|p| alive(**p)) {
        let _ = kill(Pid::from_raw(*p as i32), Signal::SIGKILL);
    }
    ours.len()
}

/// Reads the pid list of the network in `dir`.
pub(crate) fn read_pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(pid_file(dir))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

pub(crate) fn pid_file(dir: &Path) -> PathBuf {
    dir.join(PIDS)
}
