//! Figures on the private Tor network: start-up to reachable (cold, warm),
//! time to the first peer, one-stream throughput against a raw stream, and
//! the memory of a node with ten peers.

mod nodes;
pub(crate) mod stream;

pub(crate) fn run() {
    let net = network();
    nodes::run(&net.file);
    stream::run(net);
}

/// Only the one-stream throughput.
pub(crate) fn run_stream() {
    stream::run(network());
}

fn network() -> &'static warren_localnet::Shared {
    println!("\n== onion (private Tor network on loopback: 3 authorities, 5 relays)");
    let t = std::time::Instant::now();
    let net = warren_localnet::shared();
    println!(
        "private network ready after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    net
}
