//! The panel's figures: page weights, the dashboard's time to answer
//! (p50/p99, loopback, a new connection per request as a browser's first
//! visit), and the memory the panel adds to a node.

use std::time::{Duration, Instant};

use warren_localnet::web::{Login, request};

use super::procs::{Proc, Scratch, TCP_WITH_PANEL};

/// Dashboard requests timed.
const REQUESTS: usize = 1000;
const PASS: &str = "benchmark passphrase";

fn pct(v: &[Duration], p: f64) -> Duration {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn run() {
    println!("\n== panel ==");
    let tmp = Scratch::new("panel");
    let args = TCP_WITH_PANEL;

    // The same node without a panel, then with one.
    let off = Proc::start(&tmp.0.join("off"), "[panel]\nenabled = false\n", &args);
    std::thread::sleep(Duration::from_secs(3));
    let rss_off = off.rss_kib();
    off.stop();

    let root = tmp.0.join("files");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), b"hello").unwrap();
    let dir = tmp.0.join("on");
    let node = Proc::start(
        &dir,
        &format!("[panel]\nshare_roots = [\"{}\"]\n", root.display()),
        &args,
    );
    std::thread::sleep(Duration::from_secs(3));
    let rss_idle = node.rss_kib();
    let base = node.status().unwrap()["panel_url"]
        .as_str()
        .unwrap()
        .to_string();
    let pair_page = request(&base, "GET", "/pair", &[], &[], None).body.len();
    let code = std::fs::read_to_string(dir.join("pairing-code.txt")).unwrap();
    let login = Login::pair(&base, code.trim(), PASS);
    login.post("/shares", &[("path", &format!("{}/a.txt", root.display()))]);
    std::thread::sleep(Duration::from_secs(1));

    let css_path = {
        let page = login.get("/dashboard");
        let tail = page
            .body
            .split("rel=\"stylesheet\" href=\"")
            .nth(1)
            .unwrap();
        tail.split('"').next().unwrap().to_string()
    };
    let css = request(&base, "GET", &css_path, &[], &[], None).body.len();
    assert!(css > 0, "the stylesheet at {css_path}");
    println!("page weights (HTML + {css} B of CSS, cached after the first visit):");
    for path in [
        "/dashboard",
        "/peers",
        "/shares",
        "/downloads",
        "/logs",
        "/settings",
        "/access",
    ] {
        let n = login.get(path).body.len();
        println!("  {path:<12} {n:>6} B  ({:>6} B with CSS)", n + css);
    }
    let login_page = request(&base, "GET", "/login", &[], &[], None).body.len();
    for (path, n) in [("/pair", pair_page), ("/login", login_page)] {
        println!("  {path:<12} {n:>6} B  ({:>6} B with CSS)", n + css);
    }

    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let r = login.get("/dashboard");
        times.push(t.elapsed());
        assert_eq!(r.status, 200);
    }
    times.sort();
    println!(
        "dashboard, {REQUESTS} requests: p50 {:.2} ms, p99 {:.2} ms",
        pct(&times, 0.5).as_secs_f64() * 1e3,
        pct(&times, 0.99).as_secs_f64() * 1e3
    );
    let rss_busy = node.rss_kib();
    println!(
        "memory: node without panel {:.1} MiB; with panel idle {:.1} MiB (+{:.1}); after pairing and {REQUESTS} pages {:.1} MiB (+{:.1}); peak {:.1} MiB (argon2id hashing takes 19 MiB while it runs)",
        rss_off as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
        (rss_idle as f64 - rss_off as f64) / 1024.0,
        rss_busy as f64 / 1024.0,
        (rss_busy as f64 - rss_off as f64) / 1024.0,
        node.hwm_kib() as f64 / 1024.0,
    );
    node.stop();
}
