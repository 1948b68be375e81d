//! Bringing a network up and down.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::file::{AuthorityEntry, NETWORK_FILE, NetworkFile, RelayEntry};
use crate::keys::{authority_keys, relay_keys};
use crate::ports::free_ports;
use crate::procs::{self, pid_file, read_pids, start_tor, stop};
use crate::torrc::{self, Server};
use crate::{Error, Result};

const AUTHORITIES: usize = 3;

/// How to build the network.
#[derive(Debug, Clone)]
pub struct Options {
    /// Relays besides the authorities.
    pub relays: usize,
    /// How many of the relays are exits (to 127.0.0.0/8 only).
    pub exits: usize,
    /// How long to wait for a complete consensus.
    pub timeout: Duration,
    /// Extra consensus parameters. The default, `hsdir_interval=8`, makes
    /// arti use the 8-minute onion time period that C tor derives on a
    /// testing network, so that the two can reach each other's services
    /// (at each rotation services are briefly unreachable: clients retry).
    pub consensus_params: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            relays: 5,
            exits: 2,
            timeout: Duration::from_secs(300),
            consensus_params: "hsdir_interval=8".into(),
        }
    }
}

struct Planned {
    nickname: String,
    datadir: PathBuf,
    or_port: u16,
    dir_port: u16,
    exit: bool,
    authority: bool,
}

/// Builds and starts a network in `dir` (created if missing; must not hold
/// a running network). Returns once every node's consensus lists every
/// relay as an HSDir, having written `dir/tor-network.toml`.
pub fn up(dir: &Path, opts: &Options) -> Result<NetworkFile> {
    std::fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(Error::io("resolving the network directory"))?;
    if read_pids(&dir)
        .iter()
        .any(|p| procs::alive(*p) && procs::is_ours(*p, &dir))
    {
        return Err(Error::Tool(format!(
            "a network is already running in {} (warren-localnet down first)",
            dir.display()
        )));
    }
    let n = AUTHORITIES + opts.relays;
    let ports = free_ports(2 * n)?;
    let plan: Vec<Planned> = (0..n)
        .map(|i| {
            let authority = i < AUTHORITIES;
            let nickname = if authority {
                format!("auth{i}")
            } else {
                format!("relay{}", i - AUTHORITIES)
            };
            Planned {
                datadir: dir.join(&nickname),
                nickname,
                or_port: ports[2 * i],
                dir_port: ports[2 * i + 1],
                exit: !authority && i - AUTHORITIES < opts.exits,
                authority,
            }
        })
        .collect();

    let mut authorities = Vec::new();
    let mut relays = Vec::new();
    for p in &plan {
        // Fresh keys every time: clear what an earlier network left.
        let _ = std::fs::remove_dir_all(&p.datadir);
        std::fs::create_dir_all(&p.datadir).map_err(Error::io("creating a node directory"))?;
        let keys = relay_keys(&p.datadir, &p.nickname, p.or_port)?;
        if p.authority {
            let v3ident = authority_keys(&p.datadir, p.dir_port)?;
            authorities.push(AuthorityEntry {
                nickname: p.nickname.clone(),
                v3ident,
                rsa_identity: keys.rsa,
                ed25519_identity: keys.ed25519,
                address: "127.0.0.1".into(),
                or_port: p.or_port,
                dir_port: p.dir_port,
            });
        } else {
            relays.push(RelayEntry {
                nickname: p.nickname.clone(),
                rsa_identity: keys.rsa,
                ed25519_identity: keys.ed25519,
                address: "127.0.0.1".into(),
                or_port: p.or_port,
                dir_port: p.dir_port,
                exit: p.exit,
            });
        }
    }

    let exits: Vec<String> = relays
        .iter()
        .filter(|r| r.exit)
        .map(|r| r.rsa_identity.clone())
        .collect();
    let mut pids = Vec::new();
    for p in &plan {
        let text = torrc::server(
            &Server {
                nickname: &p.nickname,
                datadir: &p.datadir,
                or_port: p.or_port,
                dir_port: p.dir_port,
                exit: p.exit,
                authority: p.authority,
                consensus_params: &opts.consensus_params,
            },
            &authorities,
            &exits,
        );
        let path = p.datadir.join("torrc");
        std::fs::write(&path, text).map_err(Error::io("writing torrc"))?;
        match start_tor(&path, &p.datadir.join("stdout.log")) {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                stop(&pids, &dir, Duration::from_secs(5));
                return Err(e);
            }
        }
        let list: String = pids.iter().map(|p| format!("{p}\n")).collect();
        std::fs::write(pid_file(&dir), list).map_err(Error::io("writing the pid list"))?;
    }

    let file = NetworkFile {
        name: "warren-localnet".into(),
        client_torrc: torrc::network_lines(&authorities, &exits),
        authorities,
        relays,
    };
    let names: Vec<&str> = plan.iter().map(|p| p.nickname.as_str()).collect();
    let dirs: Vec<&Path> = plan.iter().map(|p| p.datadir.as_path()).collect();
    if let Err(e) = wait_ready(&dirs, &names, &pids, &dir, opts.timeout) {
        stop(&pids, &dir, Duration::from_secs(5));
        return Err(e);
    }
    file.write(&dir.join(NETWORK_FILE))?;
    Ok(file)
}

/// Which of `names` a consensus file lists with the HSDir flag.
fn listed_as_hsdir(consensus: &str, names: &[&str]) -> usize {
    let mut count = 0;
    let mut current: Option<&str> = None;
    for line in consensus.lines() {
        if let Some(rest) = line.strip_prefix("r ") {
            current = rest.split_whitespace().next();
        } else if let Some(flags) = line.strip_prefix("s ") {
            if current.is_some_and(|n| names.contains(&n))
                && flags.split_whitespace().any(|f| f == "HSDir")
            {
                count += 1;
            }
            current = None;
        }
    }
    count
}

fn wait_ready(
    dirs: &[&Path],
    names: &[&str],
    pids: &[u32],
    marker: &Path,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if let Some(dead) = pids.iter().position(|p| !procs::alive(*p)) {
            let log = std::fs::read_to_string(dirs[dead].join("notice.log"))
                .or_else(|_| std::fs::read_to_string(dirs[dead].join("stdout.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            return Err(Error::Tool(format!(
                "tor ({}) exited during start-up:\n{}",
                names[dead],
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        // Every node (the caches clients ask first) must hold a consensus
        // listing every relay as an HSDir.
        let ready: Vec<usize> = dirs
            .iter()
            .map(|d| {
                let text = std::fs::read_to_string(d.join("cached-microdesc-consensus"))
                    .unwrap_or_default();
                listed_as_hsdir(&text, names)
            })
            .collect();
        if ready.iter().all(|r| *r == names.len()) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            let _ = marker;
            return Err(Error::NotReady {
                secs: timeout.as_secs(),
                detail: format!("HSDirs listed per node: {ready:?} of {}", names.len()),
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Stops every process the network in `dir` started; returns how many.
pub fn down(dir: &Path) -> Result<usize> {
    let dir = dir
        .canonicalize()
        .map_err(Error::io(format!("resolving {}", dir.display())))?;
    let pids = read_pids(&dir);
    let n = stop(&pids, &dir, Duration::from_secs(10));
    let _ = std::fs::remove_file(pid_file(&dir));
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::listed_as_hsdir;

    #[test]
    fn counts_hsdirs_by_name() {
        let c = "r auth0 x y\nm z\ns Authority HSDir Running\nr relay0 x\ns Fast Running\nr relay1 x\ns HSDir\nr other x\ns HSDir\n";
        assert_eq!(listed_as_hsdir(c, &["auth0", "relay0", "relay1"]), 2);
    }
}
