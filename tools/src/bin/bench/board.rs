//! The board's cost on an idle node: CPU time and memory of the same node
//! with no board support and with the simulated board (the actor samples
//! the button every 50 ms at rest, checks liveness every second, reads the sensors
//! every 5 s), and how soon a simulated press shows on the LED.

use std::time::{Duration, Instant};

use super::procs::{Proc, Scratch, TCP_WITH_PANEL};

/// How long each node idles while its CPU time is measured.
const IDLE: Duration = Duration::from_secs(60);

/// (CPU seconds per idle minute, resident KiB at the end).
fn idle(dir: &std::path::Path, kind: &str) -> (f64, u64) {
    let config = format!("[board]\nkind = \"{kind}\"\npairing_listen = \"127.0.0.1:0\"\n");
    let node = Proc::start(dir, &config, &TCP_WITH_PANEL);
    // Let start-up work (identity, first checks) pass before measuring.
    std::thread::sleep(Duration::from_secs(3));
    let before = node.cpu_ticks();
    std::thread::sleep(IDLE);
    let cpu = (node.cpu_ticks() - before) as f64 / 100.0 * 60.0 / IDLE.as_secs_f64();
    let rss = node.rss_kib();
    node.stop();
    (cpu, rss)
}

pub(crate) fn run() {
    println!("\n== board ==");
    let tmp = Scratch::new("board");
    let (cpu_none, rss_none) = idle(&tmp.0.join("none"), "none");
    let (cpu_sim, rss_sim) = idle(&tmp.0.join("sim"), "sim");
    println!(
        "idle node, {} s each: no board {:.2} CPU s/min, {} KiB; simulated board {:.2} CPU s/min, {} KiB",
        IDLE.as_secs(),
        cpu_none,
        rss_none,
        cpu_sim,
        rss_sim
    );
    println!(
        "the board actor costs {:.2} CPU s per idle minute ({:.2} % of one core), {:+} KiB",
        cpu_sim - cpu_none,
        (cpu_sim - cpu_none) / 60.0 * 100.0,
        rss_sim as i64 - rss_none as i64
    );

    // A short press to the LED showing pairing mode, as `warren` sees it.
    let config = "[board]\nkind = \"sim\"\npairing_listen = \"127.0.0.1:0\"\npairing_secs = 1\n";
    let node = Proc::start(&tmp.0.join("press"), config, &TCP_WITH_PANEL);
    node.wait("online", |s| s["board"]["led"] == "online");
    let mut took = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = node.cli(&["board", "press", "short"]);
        assert!(out.status.success(), "{out:?}");
        node.wait("pairing", |s| s["board"]["led"] == "pairing");
        took.push(t.elapsed());
        node.wait("online again", |s| s["board"]["led"] == "online");
    }
    let median = super::median(&mut took);
    println!(
        "`warren board press short` (a 200 ms hold) until `status` shows LED pairing: median {} ms of 5",
        median.as_millis()
    );
    node.stop();
}
