//! Messages, on real `warren` processes:
//!
//! - latency with both members online on the private Tor network: from
//!   `send` being answered (the message kept) until the recipient has it,
//!   p50 and p99 of 200 messages (target p50 ≤ 1 s);
//! - offline backlog over one onion connection: 10,000 messages held by a
//!   box, from the recipient's start until all are in its store (target
//!   ≤ 30 s);
//! - a box holding 50 mailboxes × 1,000 envelopes (TCP on loopback): its
//!   memory (target ≤ 40 MiB) and the bytes it writes per stored message.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use warren_node::control::{self, Request};

use super::procs::{Proc, Scratch};

const LATENCY_MESSAGES: usize = 200;
const BACKLOG: usize = 10_000;
const MAILBOXES: usize = 50;
const PER_MAILBOX: usize = 1_000;

/// A box that takes a lot from one sender (the bench's sender writes fast).
const BOX: &str = "[node]\nrole = \"box\"\n\n[mail]\npoll_secs = 5\nper_sender_per_minute = 1000000\nquota_messages = 20000\n";
const MEMBER: &str = "[mail]\npoll_secs = 5\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ask(rt: &tokio::runtime::Runtime, dir: &Path, req: &Request) -> Value {
    rt.block_on(control::request(dir, req))
        .unwrap_or_else(|e| panic!("{req:?}: {e}"))
}

fn send(rt: &tokio::runtime::Runtime, from: &Proc, to: &str, text: String) {
    ask(
        rt,
        &from.dir,
        &Request::Send {
            to: to.to_string(),
            text,
        },
    );
}

fn arti(dir: &Path, net: &Path, config: &str, boot: Option<&str>) -> Proc {
    let net = net.to_str().unwrap();
    let mut args = vec!["--transport", "arti", "--tor-network", net];
    if let Some(b) = boot {
        args.extend(["--bootstrap", b]);
    }
    Proc::start(
        dir,
        &format!("[tor]\nretry_interval_secs = 2\n\n{config}"),
        &args,
    )
}

fn online(p: &Proc) -> Value {
    p.wait("the onion service reachable", |s| s["online"] == true);
    p.status().unwrap()
}

fn trust(p: &Proc, addr: &str) {
    let o = p.cli(&["trust", "add", addr]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn held(x: &Proc) -> u64 {
    x.json(&["mailboxes", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["envelopes"].as_u64().unwrap())
        .sum()
}

fn mailboxes(x: &Proc) -> usize {
    x.json(&["mailboxes", "--json"]).as_array().unwrap().len()
}

fn has_mailbox(x: &Proc, member: &str) -> bool {
    x.json(&["mailboxes", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["member"] == member)
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64()
}

pub(crate) fn run() {
    println!("\n== messages");
    let net = warren_localnet::shared();
    latency(&net.file);
    backlog(&net.file);
    box_memory();
}

/// The last message `p` has from `peer`, as text.
fn last_text(rt: &tokio::runtime::Runtime, p: &Proc, peer: &str) -> Option<String> {
    let v = ask(
        rt,
        &p.dir,
        &Request::Messages {
            with: peer.to_string(),
            limit: Some(1),
        },
    );
    v[0]["text"].as_str().map(str::to_string)
}

fn latency(net: &Path) {
    let tmp = Scratch::new("messages-latency");
    let rt = rt();
    let a = arti(&tmp.0.join("a"), net, MEMBER, None);
    let sa = online(&a);
    let a_addr = sa["address"].as_str().unwrap().to_string();
    let b = arti(&tmp.0.join("b"), net, MEMBER, Some(&a_addr));
    let sb = online(&b);
    let b_addr = sb["address"].as_str().unwrap().to_string();
    let a_id = sa["id"].as_str().unwrap().to_string();
    trust(&a, &b_addr);
    trust(&b, &a_addr);
    let one = |text: String| {
        let t = Instant::now();
        send(&rt, &a, &b_addr, text.clone());
        wait_until("the message", Duration::from_secs(300), || {
            last_text(&rt, &b, &a_id).as_deref() == Some(text.as_str())
        });
        t.elapsed()
    };
    let first = one("first contact".into());
    let mut v: Vec<Duration> = (0..LATENCY_MESSAGES)
        .map(|i| one(format!("message {i}")))
        .collect();
    println!(
        "first message (keys from the recipient, a new circuit): {:.2} s",
        first.as_secs_f64()
    );
    println!(
        "latency, both online on the private Tor network ({LATENCY_MESSAGES} messages, one after another): p50 {:.3} s, p99 {:.3} s, max {:.3} s (target p50 ≤ 1 s)",
        pct(&mut v, 0.5),
        pct(&mut v, 0.99),
        pct(&mut v, 1.0)
    );
}

fn backlog(net: &Path) {
    let tmp = Scratch::new("messages-backlog");
    let rt = rt();
    let x = arti(&tmp.0.join("x"), net, BOX, None);
    let sx = online(&x);
    let x_addr = sx["address"].as_str().unwrap().to_string();
    let a = arti(&tmp.0.join("a"), net, MEMBER, Some(&x_addr));
    let b = arti(&tmp.0.join("b"), net, MEMBER, Some(&x_addr));
    let (sa, sb) = (online(&a), online(&b));
    let b_addr = sb["address"].as_str().unwrap().to_string();
    for (p, s) in [(&a, &sa), (&b, &sb)] {
        trust(p, &x_addr);
        trust(&x, s["address"].as_str().unwrap());
    }
    let b_id = sb["id"].as_str().unwrap().to_string();
    wait_until("B's mailbox", Duration::from_secs(300), || {
        has_mailbox(&x, &b_id)
    });
    b.stop();
    let t = Instant::now();
    for i in 0..BACKLOG {
        send(&rt, &a, &b_addr, format!("queued message {i:05}"));
    }
    let queued = t.elapsed();
    let stored = wait_until(
        "the box to hold the backlog",
        Duration::from_secs(1800),
        || held(&x) as usize == BACKLOG,
    );
    println!(
        "backlog: {BACKLOG} messages written in {:.1} s, all stored on the box {:.1} s later",
        queued.as_secs_f64(),
        stored.as_secs_f64()
    );
    let t = Instant::now();
    let b = arti(&tmp.0.join("b"), net, MEMBER, Some(&x_addr));
    let started = t.elapsed();
    let all = wait_until("B to have the backlog", Duration::from_secs(1800), || {
        b.status()
            .is_some_and(|s| s["mail"]["unread"].as_u64() == Some(BACKLOG as u64))
    });
    println!(
        "offline backlog: {BACKLOG} messages in the recipient's store {:.1} s after it started ({:.1} s to start; target ≤ 30 s), over one onion connection to the box",
        all.as_secs_f64(),
        started.as_secs_f64()
    );
    let emptied = wait_until("the box to empty", Duration::from_secs(600), || {
        held(&x) == 0
    });
    println!(
        "  the box deleted everything {:.1} s after that",
        emptied.as_secs_f64()
    );
}

fn box_memory() {
    let tmp = Scratch::new("messages-box");
    let rt = rt();
    let tcp = ["--transport", "tcp", "--listen", "127.0.0.1:0"];
    let x = Proc::start(&tmp.0.join("x"), BOX, &tcp);
    let x_addr = x.status().unwrap()["address"].as_str().unwrap().to_string();
    let s = Proc::start(&tmp.0.join("sender"), MEMBER, &tcp);
    let s_addr = s.status().unwrap()["address"].as_str().unwrap().to_string();
    trust(&s, &x_addr);
    trust(&x, &s_addr);
    let mut members = Vec::new();
    for i in 0..MAILBOXES {
        let m = Proc::start(&tmp.0.join(format!("m{i}")), MEMBER, &tcp);
        let addr = m.status().unwrap()["address"].as_str().unwrap().to_string();
        trust(&m, &x_addr);
        trust(&x, &addr);
        members.push((m, addr));
    }
    // The sender is a member too: it holds a mailbox of its own.
    wait_until("every mailbox", Duration::from_secs(600), || {
        mailboxes(&x) == MAILBOXES + 1
    });
    let addrs: Vec<String> = members
        .into_iter()
        .map(|(m, a)| {
            m.stop();
            a
        })
        .collect();
    let (_, before) = x.written();
    let rss_before = x.rss_kib();
    let t = Instant::now();
    for i in 0..PER_MAILBOX {
        for a in &addrs {
            send(&rt, &s, a, format!("for the box {i:04}"));
        }
    }
    let total = (MAILBOXES * PER_MAILBOX) as u64;
    wait_until(
        "the box to hold everything",
        Duration::from_secs(3600),
        || held(&x) == total,
    );
    let took = t.elapsed();
    let (_, after) = x.written();
    let file = std::fs::metadata(x.dir.join("mail.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "a box holding {MAILBOXES} mailboxes × {PER_MAILBOX} envelopes (TCP on loopback, stored in {:.0} s):",
        took.as_secs_f64()
    );
    println!(
        "  RSS {:.1} MiB (before {:.1} MiB, peak {:.1} MiB; target ≤ 40 MiB)",
        x.rss_kib() as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        x.hwm_kib() as f64 / 1024.0
    );
    println!(
        "  written to disk: {:.0} bytes per stored message (storage layer); mail.redb {:.0} bytes per message",
        after.saturating_sub(before) as f64 / total as f64,
        file as f64 / total as f64
    );
}
