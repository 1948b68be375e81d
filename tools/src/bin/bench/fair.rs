//! Fair pools: how long an honest client waits while strangers hold every
//! slot of a listener — the owner's dashboard on the panel while 32 idle
//! connections and 16 bodies that never come are kept open (re-opened as
//! soon as one is closed), and a browser's 8 MB download from the gateway
//! while 40 downloads are never read — with p50/p99 and the node's RSS
//! during the attack — and `warren status` while one process keeps 40
//! control-socket connections open that never finish their request;
//! against another `warren` binary in the same run when given. An honest request that gets no answer within its time limit
//! counts as failed. (Upload slots held by one identity: see
//! `node/tests/slots.rs`, which times an honest download through them.)

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use warren_localnet::web::{Login, connect_from};

use super::procs::{Proc, Scratch, TCP_WITH_PANEL, warren_bin};

const PASS: &str = "benchmark passphrase";
const OWNER: &str = "127.0.0.2";

/// Keeps `n` connections per source open to `at`, each having sent `head`,
/// opening a new one whenever the node closes one, until `stop`.
fn attack(
    at: SocketAddr,
    n: usize,
    head: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let sources: Vec<IpAddr> = ["127.0.0.1", "127.0.1.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let open = |src: IpAddr| {
            let mut s = connect_from(&at.to_string(), Some(src));
            let _ = s.write_all(head.as_bytes());
            s.set_nonblocking(true).unwrap();
            (src, s)
        };
        let mut held: Vec<(IpAddr, TcpStream)> = Vec::new();
        for src in &sources {
            for _ in 0..n {
                held.push(open(*src));
            }
        }
        let mut reopened = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for slot in &mut held {
                let mut b = [0u8; 1];
                if matches!(slot.1.peek(&mut b), Ok(0)) {
                    *slot = open(slot.0);
                    reopened += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        reopened
    })
}

/// `curl` from the owner's address: (HTTP status, seconds).
fn curl(args: &[&str], url: &str, limit: u64) -> (u16, f64) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--interface",
            OWNER,
            "-m",
            &limit.to_string(),
        ])
        .args(["-w", "%{http_code} %{time_total}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut it = text.split_whitespace();
    let code = it.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let secs = it
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(limit as f64);
    (code, secs)
}

fn summary(what: &str, mut times: Vec<f64>, failed: usize, rss_kib: u64) {
    times.sort_by(f64::total_cmp);
    let p = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "  {what}: {} answered, {failed} failed; p50 {:.1} ms, p99 {:.1} ms; node RSS during {:.1} MiB",
        times.len(),
        p(0.5) * 1e3,
        p(0.99) * 1e3,
        rss_kib as f64 / 1024.0
    );
}

fn panel(bin: &Path, tmp: &Path) {
    let dir = tmp.join("panel");
    let node = Proc::start_bin(bin, &dir, "", &TCP_WITH_PANEL);
    let base = node.status().unwrap()["panel_url"]
        .as_str()
        .unwrap()
        .to_string();
    let code = std::fs::read_to_string(dir.join("pairing-code.txt")).unwrap();
    let login = Login::pair(&base, code.trim(), PASS);
    let at: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let cookie = format!("Cookie: warren_session={}", login.session);
    let stop = Arc::new(AtomicBool::new(false));
    let idle = attack(at, 8, String::new(), stop.clone());
    let body = attack(
        at,
        8,
        format!("POST /login HTTP/1.1\r\nHost: {at}\r\nContent-Length: 1000\r\n\r\ncsrf="),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let (mut times, mut failed) = (Vec::new(), 0);
    for _ in 0..20 {
        match curl(&["-H", &cookie], &format!("{base}/dashboard"), 10) {
            (200, s) => times.push(s),
            _ => failed += 1,
        }
    }
    let rss = node.rss_kib();
    stop.store(true, Ordering::Relaxed);
    let reopened = idle.join().unwrap() + body.join().unwrap();
    summary(
        &format!("panel dashboard, pool full ({reopened} attacker connections re-opened)"),
        times,
        failed,
        rss,
    );
    node.stop();
}

fn gateway(bin: &Path, tmp: &Path) {
    let dir = tmp.join("gateway");
    let node = Proc::start_bin(bin, &dir, "", &TCP_WITH_PANEL);
    let file = tmp.join("film.bin");
    let data: Vec<u8> = (0..8_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let shared = node.json(&["share", file.to_str().unwrap(), "--json"]);
    let listing = shared["url"].as_str().unwrap().to_string();
    let base = node.status().unwrap()["gateway_url"]
        .as_str()
        .unwrap()
        .to_string();
    let page = Command::new("curl")
        .args(["-s", &listing])
        .output()
        .unwrap()
        .stdout;
    let page = String::from_utf8_lossy(&page);
    let href = page
        .split("href=\"")
        .find(|h| h.starts_with("/s/") && h.contains("film"))
        .unwrap();
    let path = href.split('"').next().unwrap().to_string();
    let at: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let unread = attack(
        at,
        20,
        format!("GET {path} HTTP/1.1\r\nHost: {at}\r\n\r\n"),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let (mut times, mut failed) = (Vec::new(), 0);
    for _ in 0..8 {
        match curl(&[], &format!("{base}{path}"), 30) {
            (200, s) => times.push(s),
            _ => failed += 1,
        }
    }
    let rss = node.rss_kib();
    stop.store(true, Ordering::Relaxed);
    let reopened = unread.join().unwrap();
    summary(
        &format!("gateway 8 MB download, 40 unread downloads ({reopened} re-opened)"),
        times,
        failed,
        rss,
    );
    node.stop();
}

/// `warren status` while this process holds 40 control connections that
/// never finish their request (re-opened as soon as one is closed).
fn control(bin: &Path, tmp: &Path) {
    use std::os::unix::net::UnixStream;
    let dir = tmp.join("control");
    let node = Proc::start_bin(bin, &dir, "", &TCP_WITH_PANEL);
    let sock = dir.join("control.sock");
    let stop = Arc::new(AtomicBool::new(false));
    let holder = {
        let (sock, stop) = (sock.clone(), stop.clone());
        std::thread::spawn(move || {
            let open = || {
                let mut s = UnixStream::connect(&sock).ok()?;
                s.write_all(b"{\"cmd\":").ok()?;
                s.set_nonblocking(true).ok()?;
                Some(s)
            };
            let mut held: Vec<Option<UnixStream>> = (0..40).map(|_| open()).collect();
            let mut reopened = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for slot in &mut held {
                    let mut b = [0u8; 1];
                    let closed = match slot {
                        Some(s) => match std::io::Read::read(s, &mut b) {
                            Ok(n) => n == 0,
                            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
                        },
                        None => true,
                    };
                    if closed {
                        *slot = open();
                        reopened += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            reopened
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let (mut times, mut failed) = (Vec::new(), 0);
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let ok = Command::new("timeout")
            .arg("15")
            .arg(bin)
            .arg("--data-dir")
            .arg(&dir)
            .args(["status", "--json"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            times.push(t.elapsed().as_secs_f64());
        } else {
            failed += 1;
        }
    }
    let rss = node.rss_kib();
    stop.store(true, Ordering::Relaxed);
    let reopened = holder.join().unwrap();
    summary(
        &format!("control socket `warren status`, 40 held by one process ({reopened} re-opened)"),
        times,
        failed,
        rss,
    );
    node.stop();
}

pub(crate) fn run(other: Option<&Path>) {
    println!("\n== fair pools: an honest client while strangers hold every slot ==");
    let mut builds = vec![("this build".to_string(), warren_bin())];
    if let Some(o) = other {
        builds.push((o.display().to_string(), o.to_path_buf()));
    }
    for (name, bin) in builds {
        println!("{name}:");
        let tmp = Scratch::new("fair");
        panel(&bin, &tmp.0);
        gateway(&bin, &tmp.0);
        control(&bin, &tmp.0);
    }
}
