//! `warren-localnet up DIR` / `down DIR`: a private Tor network on 127.0.0.1;
//! `client DIR CLIENT_DIR`: a C tor client on it, for a node on the `ctor`
//! transport.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use warren_localnet::{CTor, NETWORK_FILE, NetworkFile, Options, down, up};

const USAGE: &str = "usage: warren-localnet up DIR [--hsdir-interval MIN|0] [--timeout SECS]
       warren-localnet down DIR
       warren-localnet client DIR CLIENT_DIR [--timeout SECS]

up    builds a private Tor network (3 authorities, 5 relays) on 127.0.0.1 in DIR,
      waits until it is usable and writes DIR/tor-network.toml.
      --hsdir-interval: onion time period in minutes published to clients
      (default 8, which lets C tor and arti reach each other; 0: arti's default)
down  stops the processes `up` started in DIR
client starts a C tor client on the network in DIR, its data in CLIENT_DIR
      (control port with cookie authentication, SOCKS port), prints where they
      are and how to run a node on it, and runs until stopped (Ctrl-C); its
      tor stops with it";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") if args.len() >= 2 => {
            let dir = PathBuf::from(&args[1]);
            let mut opts = Options::default();
            let mut rest = args[2..].iter();
            while let Some(flag) = rest.next() {
                let value = rest.next();
                match (flag.as_str(), value) {
                    ("--hsdir-interval", Some(v)) if v == "0" => opts.consensus_params.clear(),
                    ("--hsdir-interval", Some(v)) => {
                        opts.consensus_params = format!("hsdir_interval={v}")
                    }
                    ("--timeout", Some(v)) => match v.parse() {
                        Ok(s) => opts.timeout = Duration::from_secs(s),
                        Err(_) => return usage(),
                    },
                    _ => return usage(),
                }
            }
            eprintln!(
                "building the network in {} (about a minute)…",
                dir.display()
            );
            up(&dir, &opts).map(|f| {
                println!(
                    "network ready: {} authorities, {} relays\n{}",
                    f.authorities.len(),
                    f.relays.len(),
                    dir.join(NETWORK_FILE).display()
                );
            })
        }
        Some("client") if args.len() == 3 || (args.len() == 5 && args[3] == "--timeout") => {
            let timeout = match args.get(4).map(|v| v.parse()) {
                None => Duration::from_secs(120),
                Some(Ok(s)) => Duration::from_secs(s),
                Some(Err(_)) => return usage(),
            };
            client(&PathBuf::from(&args[1]), &PathBuf::from(&args[2]), timeout)
        }
        Some("down") if args.len() == 2 => {
            down(&PathBuf::from(&args[1])).map(|n| println!("stopped {n} tor processes"))
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a C tor client on the network in `net` until this process is
/// stopped (the client's watchdog then stops its tor) or its tor exits.
fn client(
    net: &std::path::Path,
    dir: &std::path::Path,
    timeout: Duration,
) -> warren_localnet::Result<()> {
    let file = NetworkFile::read(&net.join(NETWORK_FILE))?;
    eprintln!(
        "starting a tor client in {} (bootstrapping)…",
        dir.display()
    );
    let tor = CTor::start(&file, dir, &[], timeout)?;
    let control = format!("127.0.0.1:{}", tor.control_port);
    println!("tor client ready (pid {})", tor.pid());
    println!("control port: {control}");
    println!("control cookie: {}", tor.cookie.display());
    println!("socks port: 127.0.0.1:{}", tor.socks_port);
    println!(
        "a node on it: warren run --transport ctor --control-port {control} --control-cookie {}",
        tor.cookie.display()
    );
    println!("Ctrl-C stops it");
    let stat = format!("/proc/{}/stat", tor.pid());
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let running = std::fs::read_to_string(&stat).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        if !running {
            return Err(warren_localnet::Error::Tool(format!(
                "the tor client exited; its log: {}",
                tor.dir.join("notice.log").display()
            )));
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
