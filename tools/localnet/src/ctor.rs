//! A C tor client on a private network: control port, SOCKS port, cookie.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::file::NetworkFile;
use crate::ports::free_ports;
use crate::procs::{self, start_tor, stop};
use crate::{Error, Result};

/// A running C tor client. Stopped on drop (and by a watchdog if this
/// process dies first).
#[derive(Debug)]
pub struct CTor {
    /// Its data directory.
    pub dir: PathBuf,
    /// Its control port on 127.0.0.1.
    pub control_port: u16,
    /// Its SOCKS port on 127.0.0.1.
    pub socks_port: u16,
    /// The control-port authentication cookie.
    pub cookie: PathBuf,
    pid: u32,
}

impl CTor {
    /// Starts a client for `network` in `dir`; returns once it has
    /// bootstrapped (or fails after `timeout`). `extra` lines go into its torrc.
    pub fn start(
        network: &NetworkFile,
        dir: &Path,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<CTor> {
        std::fs::create_dir_all(dir).map_err(Error::io("creating the client directory"))?;
        let dir = dir
            .canonicalize()
            .map_err(Error::io("resolving the client directory"))?;
        let ports = free_ports(2)?;
        let (control_port, socks_port) = (ports[0], ports[1]);
        let cookie = dir.join("control_auth_cookie");
        let d = dir.display();
        let mut lines = vec![
            format!("DataDirectory {d}"),
            format!("Log notice file {d}/notice.log"),
            format!("ControlPort 127.0.0.1:{control_port}"),
            "CookieAuthentication 1".into(),
            format!("CookieAuthFile {}", cookie.display()),
            format!("SocksPort 127.0.0.1:{socks_port}"),
            "RunAsDaemon 0".into(),
            "SafeLogging 0".into(),
            "ShutdownWaitLength 0".into(),
        ];
        lines.extend(network.client_torrc.iter().cloned());
        lines.extend(extra.iter().map(|s| s.to_string()));
        std::fs::write(dir.join("torrc"), lines.join("\n") + "\n")
            .map_err(Error::io("writing torrc"))?;
        let mut me = CTor {
            dir,
            control_port,
            socks_port,
            cookie,
            pid: 0,
        };
        me.launch(timeout)?;
        Ok(me)
    }

    fn launch(&mut self, timeout: Duration) -> Result<()> {
        let _ = std::fs::remove_file(self.dir.join("notice.log"));
        self.pid = start_tor(&self.dir.join("torrc"), &self.dir.join("stdout.log"))?;
        crate::fixture::guard(std::process::id(), &[self.pid], &self.dir, false);
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(self.dir.join("notice.log")).unwrap_or_default();
            if log.contains("Bootstrapped 100%") {
                return Ok(());
            }
            if !procs::alive(self.pid) {
                return Err(Error::Tool(format!("tor client exited:\n{log}")));
            }
            if start.elapsed() > timeout {
                let last = log
                    .lines()
                    .rfind(|l| l.contains("Bootstrapped"))
                    .unwrap_or("no progress");
                return Err(Error::NotReady {
                    secs: timeout.as_secs(),
                    detail: last.to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the client and starts it again with the same ports and data
    /// directory, as a tor restart on a box would; returns once it has
    /// bootstrapped again.
    pub fn restart(&mut self, timeout: Duration) -> Result<()> {
        stop(&[self.pid], &self.dir, Duration::from_secs(5));
        self.launch(timeout)
    }

    /// The client's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for CTor {
    fn drop(&mut self) {
        stop(&[self.pid], &self.dir, Duration::from_secs(5));
    }
}
