//! A damaged store fails safe: `warren run` on it never panics and never
//! comes up as another node — it stops with a clean error that says what
//! is wrong, or (damage in unused pages) runs as the same node — and the
//! file is left as it is; `warren store check` finds the damage. A flipped
//! bit in the stored identity key is caught by the public key beside it.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::data::random_bytes;
use common::{json, warren, warren_bin, write_config};
use sha2::{Digest, Sha256};
use warren_node::store::{Db, Table};

/// A data folder with an identity and a few stored rows, the node stopped;
/// returns the node's address.
fn stopped_node(dir: &Path) -> String {
    write_config(dir, "");
    json(dir, &["init", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn digest(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).unwrap()).into()
}

/// What `warren run` on `dir` did within 20 s: `Err(stderr)` if it
/// stopped, `Ok(address)` if it came up.
fn run(dir: &Path) -> Result<String, (Option<i32>, String)> {
    let mut child = Command::new(warren_bin())
        .arg("--data-dir")
        .arg(dir)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--transport",
            "tcp",
            "--panel-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return Err((status.code(), err));
        }
        if let Some(s) = common::try_status(dir) {
            let id = s["id"].as_str().unwrap().to_string();
            let _ = warren(dir, &["stop"]);
            let _ = child.wait();
            return Ok(id);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("warren run neither stopped nor answered in 20 s");
}

/// A way of damaging a file: its name and what it does to the bytes.
type Damage = (&'static str, fn(&mut Vec<u8>));

/// Each way of damaging the file, applied to `bytes`.
fn damages() -> Vec<Damage> {
    vec![
        ("0x55 into one byte of every 4 KiB page", |b| {
            for at in (0..b.len()).step_by(4096) {
                let i = (at + 1234).min(b.len() - 1);
                b[i] ^= 0x55;
            }
        }),
        ("0x55 into the first byte of every page", |b| {
            for at in (0..b.len()).step_by(4096) {
                b[at] ^= 0x55;
            }
        }),
        (
            "0x55 into the last byte of every page but the header",
            |b| {
                for at in (8191..b.len()).step_by(4096) {
                    b[at] ^= 0x55;
                }
            },
        ),
        ("0x55 into one byte of every page but the header", |b| {
            for at in (4096..b.len()).step_by(4096) {
                let i = (at + 777).min(b.len() - 1);
                b[i] ^= 0x55;
            }
        }),
        ("200 random bit flips past the header", |b| {
            let noise = random_bytes(800, 99);
            for k in noise.chunks(4) {
                let r = u32::from_le_bytes([k[0], k[1], k[2], k[3]]) as usize;
                let i = 4096 + r % (b.len() - 4096);
                b[i] ^= 1 << (r % 8);
            }
        }),
        ("every page past the header zeroed", |b| {
            for x in b.iter_mut().skip(4096) {
                *x = 0;
            }
        }),
        ("cut in half", |b| b.truncate(b.len() / 2)),
        ("the header zeroed", |b| {
            for x in b.iter_mut().take(4096) {
                *x = 0;
            }
        }),
    ]
}

#[test]
fn a_damaged_store_never_panics_never_changes_who_the_node_is_and_is_left_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    let id = stopped_node(&good);
    // Some rows besides the identity.
    write_config(&good, "");
    let node = common::NodeProc::start(&good, &[]);
    drop(node);
    let original = std::fs::read(good.join("warren.redb")).unwrap();
    let mut outcomes = Vec::new();
    for (what, damage) in damages() {
        let dir = tmp.path().join(what.replace(' ', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(good.join("warren.toml"), dir.join("warren.toml")).unwrap();
        let mut bytes = original.clone();
        damage(&mut bytes);
        let store = dir.join("warren.redb");
        std::fs::write(&store, &bytes).unwrap();
        let before = digest(&store);
        match run(&dir) {
            Err((code, err)) => {
                assert_ne!(code, Some(101), "{what}: a panic:\n{err}");
                assert!(!err.contains("panicked"), "{what}:\n{err}");
                assert!(err.contains("store"), "{what}: says what is wrong:\n{err}");
                assert_eq!(digest(&store), before, "{what}: the file was changed");
                let check = warren(&dir, &["store", "check"]);
                assert!(!check.status.success(), "{what}: store check passed");
                let said = String::from_utf8_lossy(&check.stderr);
                assert!(!said.contains("panicked"), "{what}: {said}");
                assert_eq!(digest(&store), before, "{what}: the check changed the file");
                let said = err.lines().find(|l| l.starts_with("error")).unwrap_or("");
                outcomes.push(format!("{what}: refused: {said}"));
            }
            Ok(ran_as) => {
                assert_eq!(ran_as, id, "{what}: came up as another node");
                outcomes.push(format!("{what}: ran as the same node"));
            }
        }
    }
    eprintln!("{}", outcomes.join("\n"));
    assert!(
        outcomes.iter().any(|o| o.contains("refused")),
        "no damage was found at all: {outcomes:?}"
    );
}

#[test]
fn a_flipped_bit_in_the_identity_key_is_found_not_turned_into_a_new_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    let id = stopped_node(&dir);
    let report = json(&dir, &["store", "check", "--json"]);
    assert_eq!(report["identity"], id.as_str());
    {
        let db = Db::open(&dir.join("warren.redb")).unwrap();
        let mut seed = db.get(Table::Identity, b"seed").unwrap().unwrap();
        seed[7] ^= 0x10;
        db.apply(&[(Table::Identity, b"seed".to_vec(), Some(seed))])
            .unwrap();
    }
    let before = digest(&dir.join("warren.redb"));
    let (code, err) = run(&dir).expect_err("it must not start");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("damaged"), "{err}");
    assert!(err.contains("does not match its public key"), "{err}");
    assert!(err.contains(&id), "names who the node is: {err}");
    assert_eq!(digest(&dir.join("warren.redb")), before);
    // `init` does not make a new one either.
    let out = warren(&dir, &["init"]);
    assert!(!out.status.success());
    let check = warren(&dir, &["store", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("does not match its public key"));
}

#[test]
fn store_check_says_a_healthy_store_is_consistent_and_refuses_while_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    let id = stopped_node(&dir);
    let text = String::from_utf8(warren(&dir, &["store", "check"]).stdout).unwrap();
    assert!(text.contains("the store is consistent"), "{text}");
    assert!(text.contains(&id), "{text}");
    let node = common::NodeProc::start(&dir, &[]);
    let out = warren(&dir, &["store", "check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));
    drop(node);
    // No copy is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".warren-check"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_lost_or_damaged_store_comes_back_with_one_command_as_the_same_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(&dir, "");
    write_config(&tmp.path().join("b"), "");
    let b = common::NodeProc::start(&tmp.path().join("b"), &[]);
    let mut node = common::NodeProc::start(&dir, &[]);
    let id = node.status()["id"].as_str().unwrap().to_string();
    common::warren_ok(&dir, &["trust", "add", &b.address()]);
    // A share of its own, and a download of b's share.
    let mine = tmp.path().join("mine.bin");
    std::fs::write(&mine, random_bytes(300_000, 7)).unwrap();
    let my_link = json(&dir, &["share", mine.to_str().unwrap(), "--json"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs = tmp.path().join("theirs.bin");
    std::fs::write(&theirs, random_bytes(500_000, 8)).unwrap();
    let b_dir = tmp.path().join("b");
    let their_link = json(&b_dir, &["share", theirs.to_str().unwrap(), "--json"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let got = json(
        &dir,
        &["get", &their_link, "--out", out.to_str().unwrap(), "--json"],
    );
    assert_eq!(got["state"], "complete");
    node.stop();
    assert!(dir.join("warren.keep").exists());
    let trusted = |d: &Path| json(d, &["trust", "list", "--json"]).to_string();
    let b_id = b.status()["id"].as_str().unwrap().to_string();

    for (what, damage) in [
        ("deleted", None),
        (
            "zeroed past its header",
            Some(damages()[5].1 as fn(&mut Vec<u8>)),
        ),
    ] {
        let store = dir.join("warren.redb");
        match damage {
            None => std::fs::remove_file(&store).unwrap(),
            Some(f) => {
                let mut bytes = std::fs::read(&store).unwrap();
                f(&mut bytes);
                std::fs::write(&store, bytes).unwrap();
            }
        }
        let (code, err) = run(&dir).expect_err(what);
        assert_eq!(code, Some(1), "{what}: {err}");
        assert!(
            err.contains("warren store restore"),
            "{what}: says how: {err}"
        );
        if damage.is_none() {
            assert!(err.contains(&id), "{what}: names who the node was: {err}");
        }
        let said = common::warren_ok(&dir, &["store", "restore"]);
        assert!(said.contains(&id), "{what}: {said}");
        assert_eq!(run(&dir).unwrap(), id, "{what}: the same node again");
        assert!(trusted(&dir).contains(&b_id), "{what}: its trust is back");
        // Its share keeps its link; its download is there, complete.
        let again = common::NodeProc::start(&dir, &[]);
        // (The link's address hint names this run's port: the token is
        // what must come back.)
        let shares = json(&dir, &["shares", "--json"]).to_string();
        let token = my_link.rsplit("/s/").next().unwrap();
        assert!(
            shares.contains(&format!("/s/{token}\"")),
            "{what}: {shares}"
        );
        let downloads = json(&dir, &["downloads", "--json"]);
        let d = &downloads.as_array().unwrap()[0];
        assert_eq!(d["state"], "complete", "{what}: {downloads}");
        drop(again);
    }
    // Nothing was deleted: the damaged store was set aside.
    let aside = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("warren.redb.damaged-")
        })
        .count();
    assert!(aside >= 1, "the damaged store is kept");
}
