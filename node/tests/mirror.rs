//! Boxes that keep copies for others: a sealed share seeded by a box that
//! cannot read it, found through a trusted node's tracker mirror while the
//! publisher is offline; the seeding quota.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::data::{curl, random_file, same_tree};
use common::{NodeProc, wait_for, warren, warren_ok, write_config};
use serde_json::Value;

const BOX: &str = "[node]\nrole = \"box\"\n";

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&warren_ok(dir, args)).unwrap()
}

fn node(dir: &Path, extra: &str, boot: &[&str]) -> NodeProc {
    write_config(dir, extra);
    NodeProc::start(dir, boot)
}

fn id_of(n: &NodeProc) -> String {
    n.status()["id"].as_str().unwrap().to_string()
}

/// `a` and `b` trust each other.
fn trust_both(a: &NodeProc, b: &NodeProc) {
    warren_ok(&a.dir, &["trust", "add", &b.address()]);
    warren_ok(&b.dir, &["trust", "add", &a.address()]);
}

fn connected(a: &NodeProc, b: &NodeProc) -> bool {
    let id = id_of(b);
    json(&a.dir, &["peers", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id.as_str() && !p["connected"].is_null())
}

fn mirrors(n: &NodeProc) -> Value {
    json(&n.dir, &["mirrors", "--json"])
}

/// Waits until `n`'s only mirror is in `state`; returns it.
fn mirror_in_state(n: &NodeProc, state: &str) -> Value {
    wait_for(
        Duration::from_secs(90),
        &format!("a mirror {state}"),
        || {
            let m = mirrors(n)["mirrors"][0].clone();
            (m["state"] == state).then_some(m)
        },
    )
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_box_seeds_a_sealed_share_it_cannot_read_while_the_publisher_is_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("letters.bin");
    random_file(&src, 2_500_000, 41);
    let plain = std::fs::read(&src).unwrap();

    // P publishes; B is a box; T is a tracker P trusts; D trusts only T.
    let mut p = node(&tmp.path().join("p"), "", &[]);
    let boot = p.address();
    let b = node(&tmp.path().join("b"), BOX, &[&boot]);
    let t = node(&tmp.path().join("t"), "", &[&boot]);
    trust_both(&p, &b);
    trust_both(&p, &t);
    wait_for(Duration::from_secs(30), "b and t connected to p", || {
        (connected(&p, &b) && connected(&p, &t)).then_some(())
    });

    // Shared sealed, and the trusted box asked to keep a copy.
    let shared = json(
        &p.dir,
        &[
            "share",
            src.to_str().unwrap(),
            "--sealed",
            "--mirror",
            "--json",
        ],
    );
    assert_eq!(shared["mirror_asked"], serde_json::json!([id_of(&b)]));
    let link = shared["link"].as_str().unwrap().to_string();
    let key = link.split('#').nth(1).unwrap().to_string();
    let m = mirror_in_state(&b, "complete");
    assert_eq!(m["asked_by"], id_of(&p).as_str());
    assert_eq!(m["total_bytes"], 2_500_000);
    let list = mirrors(&b);
    assert_eq!(list["used_bytes"], 2_500_000);

    // What B stores is ciphertext: no piece of the plaintext, and not the
    // key, is in any file of its data folder.
    let blob = std::fs::read(m["file"].as_str().unwrap()).unwrap();
    assert_eq!(blob.len(), plain.len());
    assert_ne!(blob, plain);
    for f in files_under(&b.dir) {
        let bytes = std::fs::read(&f).unwrap();
        for at in [0, 1_000_000, plain.len() - 4096] {
            assert!(
                !contains(&bytes, &plain[at..at + 64]),
                "{} holds plaintext",
                f.display()
            );
        }
        assert!(
            !contains(&bytes, key.as_bytes()),
            "{} holds the key",
            f.display()
        );
    }
    // B's web gateway will not show what it cannot read.
    let url = shared["url"].as_str().unwrap();
    let path = &url[url.find("/s/").unwrap()..];
    let b_url = format!("{}{path}", b.status()["gateway_url"].as_str().unwrap());
    let (code, _, _) = curl(&[], &b_url);
    assert_eq!(code, 403);

    // T learns that B provides the swarm only from P's tracker (B announces
    // private swarms to the nodes it trusts, which T is not).
    wait_for(Duration::from_secs(60), "t synced p's providers", || {
        (t.status()["metrics"]["tracker_synced_providers"].as_u64() >= Some(1)).then_some(())
    });
    assert!(p.stop().success());

    // D trusts only T; the link names P, who is gone. T points D at B, and
    // D decrypts with the link's key.
    let d = node(&tmp.path().join("d"), "", &[&t.address()]);
    warren_ok(&d.dir, &["trust", "add", &t.address()]);
    let out = tmp.path().join("out-d");
    std::fs::create_dir_all(&out).unwrap();
    let o = warren(
        &d.dir,
        &["get", &link, "--out", out.to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_tree(&src, &out.join("letters.bin"));
    assert!(b.status()["metrics"]["bytes_uploaded"].as_u64().unwrap() >= 2_500_000);
}

#[test]
fn the_seeding_quota_bounds_mirrors_which_outlive_a_restart_until_unmirrored() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.bin");
    let small = tmp.path().join("small.bin");
    random_file(&big, 3_000_000, 42);
    random_file(&small, 600_000, 43);
    let mut p = node(&tmp.path().join("p"), "", &[]);
    let mut b = node(
        &tmp.path().join("b"),
        &format!("{BOX}\n[files]\nseeding_quota_bytes = 1000000\n"),
        &[&p.address()],
    );
    trust_both(&p, &b);
    wait_for(Duration::from_secs(30), "b connected to p", || {
        connected(&p, &b).then_some(())
    });

    // Asked by its owner with a link: over the quota once the size is known.
    let big_link = json(&p.dir, &["share", big.to_str().unwrap(), "--json"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    json(&b.dir, &["mirror", &big_link, "--json"]);
    let m = mirror_in_state(&b, "failed");
    assert!(
        m["error"].as_str().unwrap().contains("seeding quota"),
        "{m}"
    );
    assert_eq!(mirrors(&b)["used_bytes"], 0);
    assert!(!Path::new(m["file"].as_str().unwrap()).exists());
    warren_ok(&b.dir, &["unmirror", &big_link]);

    // Asked by a trusted node: a request over the quota is refused at once.
    let big_share = json(&p.dir, &["shares", "--json"])[0]["link"]
        .as_str()
        .unwrap()
        .to_string();
    let asked = json(&p.dir, &["ask-mirror", &big_share, "--json"]);
    assert_eq!(asked, serde_json::json!([id_of(&b)]));
    wait_for(Duration::from_secs(20), "the refusal in b's log", || {
        b.log().contains("mirror request refused").then_some(())
    });
    assert_eq!(mirrors(&b)["mirrors"], serde_json::json!([]));

    // Within the quota it is kept, counted, and given back by unmirror.
    let small_link = json(&p.dir, &["share", small.to_str().unwrap(), "--json"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    json(&b.dir, &["mirror", &small_link, "--json"]);
    let m = mirror_in_state(&b, "complete");
    assert_eq!(mirrors(&b)["used_bytes"], 600_000);
    let file = PathBuf::from(m["file"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&small).unwrap()
    );

    // Kept across a restart of the box, and served with the publisher gone.
    assert!(b.stop().success());
    b = NodeProc::start(&b.dir.clone(), &[]);
    assert_eq!(mirror_in_state(&b, "complete")["file"], m["file"]);
    assert_eq!(mirrors(&b)["used_bytes"], 600_000);
    assert!(p.stop().success());
    let c = node(&tmp.path().join("c"), "", &[&b.address()]);
    warren_ok(&c.dir, &["trust", "add", &b.address()]);
    let out = tmp.path().join("out-c");
    std::fs::create_dir_all(&out).unwrap();
    let o = warren(
        &c.dir,
        &["get", &small_link, "--out", out.to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_tree(&small, &out.join("small.bin"));

    warren_ok(&b.dir, &["unmirror", m["content"].as_str().unwrap()]);
    assert!(!file.exists());
    assert_eq!(mirrors(&b)["used_bytes"], 0);
}
