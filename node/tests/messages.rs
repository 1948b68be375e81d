//! Messages between members, on real processes: in order with their
//! receipts when both are online; through two boxes while the recipient is
//! offline (one box stopped before it comes back); a sender no box trusts
//! refused; a sender killed right after sending loses nothing and sends
//! nothing twice; the boxes' mail files hold no text and no sender.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{NodeProc, free_port, json, wait_for, warren_ok, write_config};
use serde_json::Value;

const MAIL: &str = "[mail]\npoll_secs = 2\n";

/// A node on a fixed port (so its address survives a restart).
fn start(dir: &Path, port: u16, role_box: bool) -> NodeProc {
    let role = if role_box {
        "[node]\nrole = \"box\"\n"
    } else {
        ""
    };
    write_config(dir, &format!("{role}{MAIL}"));
    let listen = format!("127.0.0.1:{port}");
    NodeProc::start_with(dir, &["--listen", &listen, "--transport", "tcp"])
}

fn id_of(n: &NodeProc) -> String {
    n.status()["id"].as_str().unwrap().to_string()
}

fn trust(a: &NodeProc, b: &NodeProc) {
    warren_ok(&a.dir, &["trust", "add", &b.address()]);
}

fn thread(n: &NodeProc, with: &str) -> Vec<Value> {
    json(&n.dir, &["messages", with, "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn thread_lines(dir: &Path, with: &str) -> Vec<Value> {
    warren_ok(dir, &["messages", with, "--json", "--limit", "1000"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

fn mailbox_count(b: &NodeProc, member: &str) -> Option<u64> {
    json(&b.dir, &["mailboxes", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == member)
        .map(|m| m["envelopes"].as_u64().unwrap())
}

#[test]
fn two_members_online_talk_in_order_with_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = start(&da, free_port(), false);
    let b = start(&db, free_port(), false);
    trust(&a, &b);
    trust(&b, &a);
    let (ida, idb) = (id_of(&a), id_of(&b));
    for i in 1..=5 {
        warren_ok(&a.dir, &["send", &b.address(), &format!("hello {i}")]);
    }
    let got = wait_for(Duration::from_secs(60), "B has five messages", || {
        let t = thread_lines(&b.dir, &ida);
        (t.len() == 5).then_some(t)
    });
    assert_eq!(
        texts(&got),
        (1..=5).map(|i| format!("hello {i}")).collect::<Vec<_>>()
    );
    assert!(
        got.iter()
            .all(|m| m["outgoing"] == false && m["author"] == ida.as_str())
    );
    wait_for(Duration::from_secs(60), "A sees all five delivered", || {
        let t = thread_lines(&a.dir, &idb);
        t.iter().all(|m| m["delivery"] == "delivered").then_some(())
    });
    let convs = json(&b.dir, &["conversations", "--json"]);
    assert_eq!(convs[0]["peer"], ida.as_str());

    // Killed right after sending: kept, sent once after the restart.
    let port = a.address().rsplit(':').next().unwrap().parse::<u16>().ok();
    warren_ok(&a.dir, &["send", &b.address(), "after the crash"]);
    a.kill9();
    let a = match port {
        Some(p) => start(&da, p, false),
        None => start(&da, free_port(), false),
    };
    let got = wait_for(
        Duration::from_secs(60),
        "the message written before the kill",
        || {
            let t = thread_lines(&b.dir, &ida);
            (t.len() >= 6).then_some(t)
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    let got_later = thread_lines(&b.dir, &ida);
    assert_eq!(got_later.len(), 6, "shown twice: {:?}", texts(&got_later));
    assert_eq!(texts(&got).last().unwrap(), "after the crash");
    drop(a);
}

#[test]
fn offline_mail_through_two_boxes_and_strangers_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let (px, py, pb) = (free_port(), free_port(), free_port());
    let mut x = start(&d("x"), px, true);
    let y = start(&d("y"), py, true);
    let a = start(&d("a"), free_port(), false);
    let mut b = start(&d("b"), pb, false);
    for member in [&a, &b] {
        for bx in [&x, &y] {
            trust(member, bx);
            trust(bx, member);
        }
    }
    let (ida, idb) = (id_of(&a), id_of(&b));
    wait_for(Duration::from_secs(60), "B's mailbox on both boxes", || {
        (mailbox_count(&x, &idb).is_some() && mailbox_count(&y, &idb).is_some()).then_some(())
    });
    let baddr = b.address();
    b.stop();

    let words: Vec<String> = (1..=6)
        .map(|i| format!("while you were away {i}"))
        .collect();
    for w in &words {
        warren_ok(&a.dir, &["send", &baddr, w]);
    }
    wait_for(
        Duration::from_secs(90),
        "both boxes store every message",
        || {
            let t = thread_lines(&a.dir, &idb);
            (t.len() == 6
                && t.iter()
                    .all(|m| m["delivery"] == serde_json::json!({"stored": 2})))
            .then_some(())
        },
    );
    assert_eq!(mailbox_count(&x, &idb), Some(6));
    assert_eq!(mailbox_count(&y, &idb), Some(6));

    // A node no box trusts is refused, and told why.
    let c = start(&d("c"), free_port(), false);
    trust(&c, &x);
    warren_ok(&c.dir, &["send", &baddr, "let me in"]);
    wait_for(Duration::from_secs(60), "the stranger's refusal", || {
        let t = thread_lines(&c.dir, &idb);
        t.iter()
            .any(|m| {
                m["refusal"]
                    .as_str()
                    .is_some_and(|r| r.contains("does not trust"))
            })
            .then_some(())
    });
    assert_eq!(mailbox_count(&x, &idb), Some(6));

    // The boxes' mail files hold neither the text nor the sender.
    for bx in [&x, &y] {
        let bytes = std::fs::read(bx.dir.join("mail.redb")).unwrap();
        let has = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
        assert!(
            !has(b"while you were away"),
            "plaintext in a box's mail file"
        );
        assert!(
            !has(ida.as_bytes()),
            "the sender's address in a box's mail file"
        );
    }

    // One box down; B comes back and reads everything, in order, from the
    // other; that box deletes after B's acknowledgement.
    x.stop();
    let b = start(&d("b"), pb, false);
    let got = wait_for(Duration::from_secs(90), "B reads every message", || {
        let t = thread_lines(&b.dir, &ida);
        (t.len() == 6).then_some(t)
    });
    assert_eq!(texts(&got), words);
    wait_for(
        Duration::from_secs(60),
        "the box that served B deletes",
        || (mailbox_count(&y, &idb) == Some(0)).then_some(()),
    );
    // The stopped box comes back: B fetches the same envelopes there, shows
    // nothing twice, and its acknowledgement deletes them.
    let x = start(&d("x"), px, true);
    wait_for(Duration::from_secs(90), "the other box deletes too", || {
        (mailbox_count(&x, &idb) == Some(0)).then_some(())
    });
    assert_eq!(thread_lines(&b.dir, &ida).len(), 6);
    wait_for(Duration::from_secs(90), "A sees them delivered", || {
        let t = thread_lines(&a.dir, &idb);
        t.iter().all(|m| m["delivery"] == "delivered").then_some(())
    });
    let _ = thread;
}

/// `kill -9` of the box while a sender's deposits are under way, then of
/// the recipient while it fetches: every message arrives once, in order,
/// and the box ends empty.
#[test]
fn kills_during_deposit_and_fetch_lose_nothing_and_show_nothing_twice() {
    const N: usize = 300;
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let (px, pb) = (free_port(), free_port());
    let fast = "[mail]\npoll_secs = 2\nper_sender_per_minute = 100000\n";
    let start_box = |port: u16| {
        write_config(&d("x"), &format!("[node]\nrole = \"box\"\n{fast}"));
        let listen = format!("127.0.0.1:{port}");
        NodeProc::start_with(&d("x"), &["--listen", &listen, "--transport", "tcp"])
    };
    let mut x = start_box(px);
    let a = start(&d("a"), free_port(), false);
    let mut b = start(&d("b"), pb, false);
    for m in [&a, &b] {
        trust(m, &x);
        trust(&x, m);
    }
    let (ida, idb) = (id_of(&a), id_of(&b));
    wait_for(Duration::from_secs(60), "B's mailbox", || {
        mailbox_count(&x, &idb).map(|_| ())
    });
    let baddr = b.address();
    b.stop();

    // The box dies while A is still writing and depositing.
    let words: Vec<String> = (1..=N).map(|i| format!("message {i:03}")).collect();
    for (i, w) in words.iter().enumerate() {
        warren_ok(&a.dir, &["send", &baddr, w]);
        if i == N / 3 {
            wait_for(Duration::from_secs(30), "deposits under way", || {
                (mailbox_count(&x, &idb).unwrap_or(0) > 0).then_some(())
            });
            x.kill9();
        }
    }
    let x = start_box(px);
    wait_for(
        Duration::from_secs(120),
        "every message stored once",
        || {
            let t = thread_lines(&a.dir, &idb);

            (t.len() == N
                && t.iter()
                    .all(|m| m["delivery"] == serde_json::json!({"stored": 1})))
            .then_some(())
        },
    );
    assert_eq!(
        mailbox_count(&x, &idb),
        Some(N as u64),
        "no envelope stored twice"
    );

    // The recipient dies while it fetches.
    let mut b = start(&d("b"), pb, false);
    wait_for(Duration::from_secs(60), "B fetching", || {
        (!thread_lines(&b.dir, &ida).is_empty()).then_some(())
    });
    b.kill9();
    let b = start(&d("b"), pb, false);
    let got = wait_for(Duration::from_secs(120), "B has every message", || {
        let t = thread_lines(&b.dir, &ida);
        (t.len() >= N).then_some(t)
    });
    assert_eq!(texts(&got), words, "each once, in order");
    wait_for(Duration::from_secs(60), "the box empty", || {
        (mailbox_count(&x, &idb) == Some(0)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(thread_lines(&b.dir, &ida).len(), N);
}
