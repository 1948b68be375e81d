//! `warren-localnet up DIR` / `down DIR`: a private Tor network on 127.0.0.1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use warren_localnet::{NETWORK_FILE, Options, down, up};

const USAGE: &str = "usage: warren-localnet up DIR [--hsdir-interval MIN|0] [--timeout SECS]
       warren-localnet down DIR

up    builds a private Tor network (3 authorities, 5 relays) on 127.0.0.1 in DIR,
      waits until it is usable and writes DIR/tor-network.toml.
      --hsdir-interval: onion time period in minutes published to clients
      (default 8, which lets C tor and arti reach each other; 0: arti's default)
down  stops the processes `up` started in DIR";

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

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
