//! Traffic along chosen relays, for tests and benchmarks of a relay: a
//! blocking control-port client for a [`CTor`] (control-spec: COOKIE
//! authentication, replies with data blocks), circuits built along a given
//! path (`EXTENDCIRCUIT`), and data pulled from a loopback server over one
//! of them (the stream left unattached, then `ATTACHSTREAM`ed by hand).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::{CTor, Error, Result};

/// Longest reply accepted from tor, lines.
const MAX_LINES: usize = 4096;
/// Longest data block accepted from tor, bytes.
const MAX_DATA: usize = 4 << 20;
/// How long a pulled stream may go without a byte before it fails.
const STALL: Duration = Duration::from_secs(30);

/// A blocking, authenticated control connection to a [`CTor`].
#[derive(Debug)]
pub struct TorControl {
    read: BufReader<TcpStream>,
    write: TcpStream,
}

impl TorControl {
    /// Connects to `tor`'s control port and authenticates with its cookie.
    ///
    /// # Errors
    /// The port does not answer, or tor refuses the cookie.
    pub fn connect(tor: &CTor) -> Result<TorControl> {
        let s = TcpStream::connect(("127.0.0.1", tor.control_port))
            .map_err(Error::io("connecting to tor's control port"))?;
        let write = s
            .try_clone()
            .map_err(Error::io("cloning the control connection"))?;
        let mut c = TorControl {
            read: BufReader::new(s),
            write,
        };
        let cookie = std::fs::read(&tor.cookie).map_err(Error::io("reading the control cookie"))?;
        let hex: String = cookie.iter().map(|b| format!("{b:02x}")).collect();
        c.command(&format!("AUTHENTICATE {hex}"))?;
        Ok(c)
    }

    /// Sends one command; returns the text of its reply's lines (a data
    /// block folded into its line).
    ///
    /// # Errors
    /// The connection failed, or tor answered with an error status (its
    /// words in [`Error::Tool`]).
    pub fn command(&mut self, line: &str) -> Result<Vec<String>> {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(Error::io("writing to tor's control port"))?;
        let mut lines = Vec::new();
        loop {
            let l = self.line()?;
            let parts = (l.get(..3), l.get(3..4), l.get(4..));
            let (Some(code), Some(sep), Some(text)) = parts else {
                return Err(Error::Tool(format!("unexpected control reply {l:?}")));
            };
            if lines.len() > MAX_LINES {
                return Err(Error::Tool("control reply too long".into()));
            }
            if !code.starts_with('2') {
                return Err(Error::Tool(format!("tor said {l}")));
            }
            match sep {
                "+" => {
                    let mut data = text.to_string();
                    loop {
                        let d = self.line()?;
                        if d == "." {
                            break;
                        }
                        if data.len() > MAX_DATA {
                            return Err(Error::Tool("control data block too long".into()));
                        }
                        data.push('\n');
                        data.push_str(d.strip_prefix('.').unwrap_or(&d));
                    }
                    lines.push(data);
                }
                "-" => lines.push(text.to_string()),
                _ => {
                    lines.push(text.to_string());
                    return Ok(lines);
                }
            }
        }
    }

    /// `GETINFO key`: its value.
    ///
    /// # Errors
    /// As [`TorControl::command`]; a reply without the key.
    pub fn getinfo(&mut self, key: &str) -> Result<String> {
        let prefix = format!("{key}=");
        self.command(&format!("GETINFO {key}"))?
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim_start_matches('\n').to_string())
            .ok_or_else(|| Error::Tool(format!("GETINFO {key}: no value")))
    }

    fn line(&mut self) -> Result<String> {
        let mut l = String::new();
        let n = (&mut self.read)
            .take(64 * 1024)
            .read_line(&mut l)
            .map_err(Error::io("reading tor's control port"))?;
        if n == 0 {
            return Err(Error::Tool("tor closed the control connection".into()));
        }
        Ok(l.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// Builds a circuit from `tor` along `path` (RSA fingerprints, the first
/// hop first) and returns its id once tor reports it BUILT. A relay that
/// `tor` does not know yet (a new one, before its next consensus) is waited
/// for, as is a circuit that failed: both are tried again until `timeout`.
///
/// # Errors
/// No built circuit within `timeout`.
pub fn build_circuit(tor: &CTor, path: &[&str], timeout: Duration) -> Result<String> {
    let hops: Vec<String> = path.iter().map(|fp| format!("${fp}")).collect();
    let line = format!("EXTENDCIRCUIT 0 {}", hops.join(","));
    let start = Instant::now();
    let mut last = String::from("not tried");
    while start.elapsed() < timeout {
        let mut ctl = TorControl::connect(tor)?;
        match ctl.command(&line) {
            Ok(r) => {
                let id = r
                    .first()
                    .and_then(|l| l.strip_prefix("EXTENDED "))
                    .unwrap_or_default()
                    .to_string();
                while start.elapsed() < timeout {
                    let status = ctl.getinfo("circuit-status")?;
                    let state = status
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{id} ")))
                        .and_then(|l| l.split(' ').next())
                        .unwrap_or("CLOSED");
                    match state {
                        "BUILT" => return Ok(id),
                        "LAUNCHED" | "EXTENDED" => std::thread::sleep(Duration::from_millis(200)),
                        other => {
                            last = format!("circuit {id} {other}");
                            break;
                        }
                    }
                }
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    Err(Error::NotReady {
        secs: timeout.as_secs(),
        detail: format!("{line}: {last}"),
    })
}

/// What [`pull_through`] carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// Bytes received.
    pub bytes: u64,
    /// From the first byte to the last.
    pub took: Duration,
}

/// Pulls bytes from a new loopback server through `tor`'s SOCKS port over
/// circuit `circ` for `secs` from the first byte (the stream is left
/// unattached by tor and attached to `circ` here; the exit must allow
/// 127.0.0.1).
///
/// # Errors
/// The stream never shows up, tor refuses to attach it, or the SOCKS
/// exchange fails.
pub fn pull_through(tor: &CTor, circ: &str, secs: Duration) -> Result<Pulled> {
    let server =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::io("binding the data server"))?;
    let port = server
        .local_addr()
        .map_err(Error::io("reading the data server's port"))?
        .port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = server.accept() {
            let chunk = vec![0x5au8; 64 * 1024];
            while s.write_all(&chunk).is_ok() {}
        }
    });
    let mut ctl = TorControl::connect(tor)?;
    ctl.command("SETCONF __LeaveStreamsUnattached=1")?;
    // Whatever happens below, tor attaches streams itself again after.
    let _reset = Unattached(tor);
    let socks = tor.socks_port;
    let reader = std::thread::spawn(move || -> Result<Pulled> {
        let mut s = socks_connect(socks, port)?;
        s.set_read_timeout(Some(STALL))
            .map_err(Error::io("setting the stream's timeout"))?;
        let mut buf = vec![0u8; 64 * 1024];
        let first = s.read(&mut buf).map_err(Error::io("reading the stream"))?;
        let start = Instant::now();
        let mut bytes = first as u64;
        while start.elapsed() < secs {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes += n as u64,
            }
        }
        Ok(Pulled {
            bytes,
            took: start.elapsed(),
        })
    });
    let target = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let stream = loop {
        let status = ctl.getinfo("stream-status")?;
        if let Some(id) = status
            .lines()
            .find(|l| l.ends_with(&target))
            .and_then(|l| l.split(' ').next())
        {
            break id.to_string();
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(Error::Tool(format!("no stream to {target} in 30 s")));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    ctl.command(&format!("ATTACHSTREAM {stream} {circ}"))?;
    reader
        .join()
        .map_err(|_| Error::Tool("the reading thread panicked".into()))?
}

/// Sets `__LeaveStreamsUnattached` back to 0 when dropped.
struct Unattached<'a>(&'a CTor);

impl Drop for Unattached<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = TorControl::connect(self.0) {
            let _ = c.command("SETCONF __LeaveStreamsUnattached=0");
        }
    }
}

/// A SOCKS5 CONNECT to 127.0.0.1:`port` through `socks_port` (RFC 1928:
/// no authentication, an IPv4 address).
fn socks_connect(socks_port: u16, port: u16) -> Result<TcpStream> {
    let io = |what: &'static str| Error::io(what);
    let mut s = TcpStream::connect(("127.0.0.1", socks_port)).map_err(io("connecting to SOCKS"))?;
    // The reply waits for the stream to be attached and to connect.
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(io("setting the SOCKS timeout"))?;
    s.write_all(&[5, 1, 0]).map_err(io("SOCKS greeting"))?;
    let mut hello = [0u8; 2];
    s.read_exact(&mut hello).map_err(io("SOCKS greeting"))?;
    let [hi, lo] = port.to_be_bytes();
    s.write_all(&[5, 1, 0, 1, 127, 0, 0, 1, hi, lo])
        .map_err(io("SOCKS connect"))?;
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).map_err(io("SOCKS connect"))?;
    if hello != [5, 0] || reply[1] != 0 {
        return Err(Error::Tool(format!(
            "SOCKS refused: greeting {hello:?}, reply {reply:?}"
        )));
    }
    Ok(s)
}
