//! The box's relay on the private Tor network: what it costs (tor's and
//! warren's CPU and RSS, the relay off, then on and idle), what it carries
//! (another tor pulls data over a circuit through the box, a minute per
//! cap), and how close each cap holds over that minute.

use std::time::{Duration, Instant};

use warren_localnet::CTor;
use warren_localnet::circuit::{Pulled, build_circuit, pull_through};

use super::procs::{Proc, Scratch, cpu_ticks, status_kib};

/// The caps measured, KiB/s.
const CAPS_KIB: [u64; 2] = [200, 1024];
/// How long each load lasts.
const LOAD: Duration = Duration::from_secs(60);
/// How long an idle window lasts.
const IDLE: Duration = Duration::from_secs(30);

/// CPU (percent of one core) and RSS (MiB) of tor and warren over a window.
struct Cost {
    tor_cpu: f64,
    tor_rss: f64,
    warren_cpu: f64,
    warren_rss: f64,
}

fn cost(tor: u32, warren: u32, during: impl FnOnce()) -> Cost {
    let (t0, w0, start) = (cpu_ticks(tor), cpu_ticks(warren), Instant::now());
    during();
    let secs = start.elapsed().as_secs_f64();
    let pct = |ticks: u64| ticks as f64 / secs; // 100 ticks a second
    Cost {
        tor_cpu: pct(cpu_ticks(tor) - t0),
        tor_rss: status_kib(tor, "VmRSS") as f64 / 1024.0,
        warren_cpu: pct(cpu_ticks(warren) - w0),
        warren_rss: status_kib(warren, "VmRSS") as f64 / 1024.0,
    }
}

fn row(what: &str, c: &Cost) {
    println!(
        "{what:<36} tor {:>5.1} % CPU {:>6.1} MiB   warren {:>5.1} % CPU {:>5.1} MiB",
        c.tor_cpu, c.tor_rss, c.warren_cpu, c.warren_rss
    );
}

pub(crate) fn run() {
    println!("\n== relay (private Tor network on loopback; the box on a C tor of its own)");
    let net = warren_localnet::shared();
    let scratch = Scratch::new("relay");
    let start_tor = |name: &str| {
        CTor::start(
            &net.network,
            &scratch.0.join(name),
            &[],
            Duration::from_secs(120),
        )
        .expect("a C tor on the private network")
    };
    let tor = start_tor("tor");
    let or_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let config = |cap: u64| {
        format!(
            "[node]\nrole = \"box\"\ntransport = \"ctor\"\n\n[tor]\ncontrol_port = \"127.0.0.1:{}\"\n\n\
             [relay]\nor_port = \"127.0.0.1:{or_port}\"\naddress = \"127.0.0.1\"\nrate_kib = {cap}\nburst_kib = {}\nupnp = false\n",
            tor.control_port,
            cap * 2
        )
    };
    let dir = scratch.0.join("box");
    let mut node = Proc::start(
        &dir,
        &config(CAPS_KIB[0]),
        &["--panel-listen", "127.0.0.1:0"],
    );
    node.wait("the onion service", |s| s["online"] == true);
    row(
        "relay off, idle",
        &cost(tor.pid(), node.pid(), || std::thread::sleep(IDLE)),
    );

    let other = start_tor("other");
    let first = net
        .network
        .relays
        .iter()
        .find(|r| !r.exit)
        .expect("a middle");
    let exit = net.network.relays.iter().find(|r| r.exit).expect("an exit");
    for (i, cap) in CAPS_KIB.iter().enumerate() {
        if i > 0 {
            // A new cap: the node reads it at start.
            node.stop();
            node = Proc::start(&dir, &config(*cap), &["--panel-listen", "127.0.0.1:0"]);
        }
        let on = node.json(&["relay", "on", "--json"]);
        let fingerprint = on["fingerprint"].as_str().unwrap_or_default().to_string();
        let t = Instant::now();
        node.wait("the relay Running in the consensus", |s| {
            s["relay"]["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "Running"))
        });
        if i == 0 {
            println!(
                "in the consensus, Running, {:.0} s after `relay on`",
                t.elapsed().as_secs_f64()
            );
            row(
                "relay on, idle",
                &cost(tor.pid(), node.pid(), || std::thread::sleep(IDLE)),
            );
        }
        let circ = build_circuit(
            &other,
            &[&first.rsa_identity, &fingerprint, &exit.rsa_identity],
            Duration::from_secs(300),
        )
        .expect("a circuit through the box");
        let mut pulled = Pulled {
            bytes: 0,
            took: Duration::ZERO,
        };
        let c = cost(tor.pid(), node.pid(), || {
            pulled = pull_through(&other, &circ, LOAD).expect("data through the box");
        });
        let rate = pulled.bytes as f64 / pulled.took.as_secs_f64();
        row(&format!("relay on, carrying (cap {cap} KiB/s)"), &c);
        println!(
            "carried {:.1} KiB/s over {:.0} s with a cap of {cap} KiB/s: {:.3}× the cap",
            rate / 1024.0,
            pulled.took.as_secs_f64(),
            rate / (*cap as f64 * 1024.0)
        );
    }
    let off = node.json(&["relay", "off", "--json"]);
    assert_eq!(off["relaying"], false, "the relay stops");
    node.stop();
}
