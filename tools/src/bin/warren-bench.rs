//! Prints Warren's figures: handshakes per second, frame throughput,
//! proof-of-work mining times and discovery convergence.
//!
//! `cargo run --release -p warren-tools --bin warren-bench -- all`
//! (or `proto`, `pow`, `discovery`, `onion`, `onion-stream`, `panel`, `board`, `files`,
//! `files-tor`, `messages`, `serve [OTHER_WARREN]`, `fair [OTHER_WARREN]`). Figures, not pass/fail: run it on
//! the machine you care about.

// A benchmark measures real elapsed time.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

mod bench;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Print Warren's performance figures")]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum What {
    /// Handshakes per second and frame encode/decode throughput.
    Proto,
    /// Proof-of-work mining time at 16, 20 and 24 bits.
    Pow,
    /// Rounds and seconds until 50 simulated nodes know each other.
    Discovery,
    /// On a private Tor network: start-up, first peer, throughput, memory.
    Onion,
    /// On a private Tor network: one stream's throughput, raw arti and raw
    /// C tor against Warren on each (the last part of `onion`).
    OnionStream,
    /// File transfer on loopback: 1 GiB against openssl, three seeders, memory, writes.
    Files,
    /// File transfer on the private Tor network: against plain HTTP and OnionShare, circuits, seeders.
    FilesTor,
    /// The web panel: page weights, dashboard time (p50/p99), memory it adds.
    Panel,
    /// The board actor: idle CPU and memory it adds, press-to-LED time.
    Board,
    /// What verifying every piece on the way out costs: gateway and peer
    /// download throughput on loopback and the seeder's CPU per GiB, and
    /// SHA-256 throughput; against another `warren` binary when given.
    Serve {
        /// Another build of `warren` (an older one) to measure in the same
        /// run, interleaved.
        other: Option<std::path::PathBuf>,
    },
    /// Fair pools: an honest client's time (p50/p99) and the node's RSS
    /// while strangers hold every panel and gateway slot; against another
    /// `warren` binary when given.
    Fair {
        /// Another build of `warren` to measure in the same run.
        other: Option<std::path::PathBuf>,
    },
    /// Messages: latency with both online and a 10,000-message offline
    /// backlog on the private Tor network; a box's memory holding 50
    /// mailboxes × 1,000 messages.
    Messages,
    /// The box's relay on the private Tor network: tor's and warren's CPU
    /// and RSS with the relay off and on, bytes carried per second, cap
    /// accuracy over a minute.
    Relay,
    /// Everything above except the file, message and relay benchmarks
    /// (minutes each).
    All,
}

fn main() {
    let args = Args::parse();
    let w = args.what;
    println!(
        "warren-bench {} on {} cores",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if matches!(w, What::Proto | What::All) {
        bench::proto::run();
    }
    if matches!(w, What::Pow | What::All) {
        bench::pow::run();
    }
    if matches!(w, What::Discovery | What::All) {
        bench::discovery::run();
    }
    if matches!(w, What::Onion | What::All) {
        bench::onion::run();
    }
    if w == What::OnionStream {
        bench::onion::run_stream();
    }
    if matches!(w, What::Panel | What::All) {
        bench::panel::run();
    }
    if matches!(w, What::Board | What::All) {
        bench::board::run();
    }
    if matches!(w, What::Files | What::FilesTor) {
        bench::files::run(w == What::Files, w == What::FilesTor);
    }
    if w == What::Messages {
        bench::messages::run();
    }
    if w == What::Relay {
        bench::relay::run();
    }
    if let What::Fair { other } = &w {
        bench::fair::run(other.as_deref());
    }
    if let What::Serve { other } = &w {
        bench::serve::run(other.as_deref());
    }
}
