//! A shared file that stops being what was shared — edited in place (with
//! or without its modification time put back), truncated, grown, replaced,
//! deleted — is never served as the share: not to browsers, not to peers.
//! The share says so (state and reason, logged once), and serves again
//! once the file is put back as it was. Real `warren` processes on
//! loopback TCP, real `curl`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::data::{curl, header, page_links, random_bytes};
use common::transfer::{dial, open_answer, recv, send};
use common::{
    NodeProc, TEST_BITS, first_download, get_in_background, json, listen_addr, wait_for,
    warren_bin, write_config,
};
use serde_json::Value;
use warren_proto::files::{FileMsg, RejectReason, Unavailable};
use warren_proto::link::Link;

/// Files are looked at every second here, so that tests need not wait.
const FAST_CHECKS: &str = "[files]\ncheck_interval_secs = 1\n";

fn node(dir: &Path, boot: &[&str]) -> NodeProc {
    write_config(dir, FAST_CHECKS);
    NodeProc::start(dir, boot)
}

/// A node in `tmp/a` sharing `tmp/f.bin`, 1,000,000 random bytes: the
/// file, its bytes, the node and `share --json`'s answer.
fn one_shared_file(tmp: &Path, seed: u64) -> (std::path::PathBuf, Vec<u8>, NodeProc, Value) {
    let src = tmp.join("f.bin");
    let data = random_bytes(1_000_000, seed);
    std::fs::write(&src, &data).unwrap();
    let a = node(&tmp.join("a"), &[]);
    let shared = json(&a.dir, &["share", src.to_str().unwrap(), "--json"]);
    (src, data, a, shared)
}

/// The browser URL of the share's first file.
fn file_url(share: &Value) -> String {
    let url = share["url"].as_str().unwrap();
    let (code, _, page) = curl(&[], url);
    assert_eq!(code, 200);
    let page = String::from_utf8(page).unwrap();
    let base = &url[..url.find("/s/").unwrap()];
    format!("{base}{}", page_links(&page)[0])
}

fn share_state(dir: &Path) -> (String, String) {
    let v = json(dir, &["shares", "--json"]);
    (
        v[0]["state"].as_str().unwrap().to_string(),
        v[0]["reason"].as_str().unwrap_or("").to_string(),
    )
}

fn wait_share_state(dir: &Path, want: &str) -> String {
    wait_for(Duration::from_secs(30), &format!("share {want}"), || {
        let (s, r) = share_state(dir);
        (s == want).then_some(r)
    })
}

/// How often the node logged that a share's files changed.
fn warnings(n: &NodeProc) -> usize {
    n.log()
        .matches("files no longer hold what was shared or downloaded")
        .count()
}

/// What `a` answers a peer that opens the share's swarm.
fn peer_answer(a: &NodeProc, shared: &Value) -> FileMsg {
    let link: Link = shared["link"].as_str().unwrap().parse().unwrap();
    open_answer(
        listen_addr(&a.status()),
        link.at.id,
        link.swarm(),
        TEST_BITS,
    )
}

fn mtime(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Writes `bytes` at `offset` in place, as `dd conv=notrunc` does.
fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

#[test]
fn a_file_edited_while_shared_is_refused_until_it_is_put_back() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    let data = random_bytes(1_000_000, 1);
    std::fs::write(&src, &data).unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    let b = node(&tmp.path().join("b"), &[&a.address()]);
    let shared = json(&a.dir, &["share", src.to_str().unwrap(), "--json"]);
    assert_eq!(shared["state"], "ok");
    let url = file_url(&shared);
    let (code, headers, body) = curl(&[], &url);
    assert_eq!(code, 200);
    assert!(body == data);
    let etag = header(&headers, "etag").unwrap().to_string();

    // Edited in place: same length, new content.
    overwrite(&src, 0, b"EDITED");
    let (code, headers, body) = curl(&[], &url);
    assert_eq!(code, 409, "{}", String::from_utf8_lossy(&body));
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("File changed"), "{page}");
    assert!(!page.contains("EDITED"));
    assert!(
        header(&headers, "etag").is_none(),
        "no ETag names other bytes"
    );
    // A resumed browser download gets no stitched bytes either.
    let (code, _, body) = curl(
        &["-H", "Range: bytes=0-5", "-H", &format!("If-Range: {etag}")],
        &url,
    );
    assert_eq!(code, 409);
    assert!(!String::from_utf8_lossy(&body).contains("EDITED"));
    let reason = wait_share_state(&a.dir, "changed");
    assert!(reason.contains("f.bin"), "{reason}");
    let text = String::from_utf8(
        Command::new(warren_bin())
            .arg("--data-dir")
            .arg(&a.dir)
            .arg("shares")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains("state    changed"), "{text}");

    // Another node asking for it is told why, and keeps trying.
    let link = shared["link"].as_str().unwrap().to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut getter = get_in_background(&b.dir, &link, &out);
    let d = wait_for(Duration::from_secs(30), "b says why it waits", || {
        let d = first_download(&b.dir);
        let err = d["error"].as_str().unwrap_or("").to_string();
        err.contains("changed").then_some(d)
    });
    assert_eq!(d["state"], "waiting", "{d}");
    assert!(d["retry_at"].as_u64().is_some(), "{d}");
    assert_eq!(d["done_bytes"], 0);
    // Many requests, one log line.
    for _ in 0..5 {
        assert_eq!(curl(&[], &url).0, 409);
    }
    assert_eq!(warnings(&a), 1, "{}", a.log());

    // Put back as it was: served again, and b's download completes.
    overwrite(&src, 0, &data[..6]);
    wait_share_state(&a.dir, "ok");
    let (code, _, body) = curl(&[], &url);
    assert_eq!(code, 200);
    assert!(body == data);
    wait_for(Duration::from_secs(90), "b completes", || {
        (first_download(&b.dir)["state"] == "complete").then_some(())
    });
    assert!(std::fs::read(out.join("f.bin")).unwrap() == data);
    let _ = getter.kill();
    let _ = getter.wait();
}

#[test]
fn an_edit_that_puts_the_modification_time_back_is_still_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, data, a, shared) = one_shared_file(tmp.path(), 2);
    let url = file_url(&shared);
    assert_eq!(curl(&[], &url).0, 200);

    // Piece 5 (64 KiB pieces) changes; the file's size and modification
    // time are put back (only its change time, which nobody can set, and
    // its bytes tell).
    let before = mtime(&src);
    overwrite(&src, 5 * 65_536 + 10, b"EDITED");
    let f = std::fs::File::options().write(true).open(&src).unwrap();
    f.set_modified(before).unwrap();
    drop(f);
    assert_eq!(mtime(&src), before);

    // Checked before the first byte: refused, nothing sent.
    let (code, _, body) = curl(&[], &url);
    assert_eq!(code, 409, "{} bytes", body.len());
    assert!(String::from_utf8_lossy(&body).contains("File changed"));
    let _ = data;
    wait_share_state(&a.dir, "changed");
    // It stays changed, scan after scan (the stamps say nothing new).
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(share_state(&a.dir).0, "changed");
    assert_eq!(warnings(&a), 1, "{}", a.log());

    // A peer asking for it is refused with the reason, never sent bytes.
    let answer = peer_answer(&a, &shared);
    assert_eq!(
        answer,
        FileMsg::Unavailable {
            why: Unavailable::Changed
        }
    );
}

#[test]
fn a_piece_that_no_longer_matches_is_refused_to_a_peer_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, data, a, shared) = one_shared_file(tmp.path(), 3);
    let link: Link = shared["link"].as_str().unwrap().parse().unwrap();
    let at = listen_addr(&a.status());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = dial(at, link.at.id, TEST_BITS).await;
        send(
            &mut c,
            FileMsg::Open {
                swarm: link.swarm(),
            },
        )
        .await;
        assert!(matches!(
            recv(&mut c).await.unwrap(),
            FileMsg::Opened { .. }
        ));
        // The session is open; now the file changes under it (time kept).
        let before = mtime(&src);
        overwrite(&src, 2 * 65_536, b"EDITED");
        let f = std::fs::File::options().write(true).open(&src).unwrap();
        f.set_modified(before).unwrap();
        for (piece, offset) in [(0, 0), (2, 0)] {
            send(
                &mut c,
                FileMsg::Request {
                    piece,
                    offset,
                    len: 32_768,
                },
            )
            .await;
        }
        let mut got = Vec::new();
        while let Some(m) = recv(&mut c).await {
            match m {
                FileMsg::Block { piece, data: d, .. } => {
                    assert_eq!(piece, 0, "only piece 0 still matches");
                    assert_eq!(d.as_slice(), &data[..32_768]);
                    got.push(piece);
                }
                FileMsg::Reject { piece, reason, .. } => {
                    assert_eq!(piece, 2);
                    assert_eq!(reason, RejectReason::Unavailable(Unavailable::Changed));
                    got.push(piece);
                }
                _ => {}
            }
        }
        assert_eq!(got, vec![0, 2]);
    });
    wait_share_state(&a.dir, "changed");
}

#[test]
fn a_piece_shared_by_two_files_names_the_one_that_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pair");
    std::fs::create_dir_all(&dir).unwrap();
    // 64 KiB pieces: piece 4 holds the end of a.bin and the start of b.bin.
    std::fs::write(dir.join("a.bin"), random_bytes(300_000, 7)).unwrap();
    std::fs::write(dir.join("b.bin"), random_bytes(300_000, 8)).unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    json(&a.dir, &["share", dir.to_str().unwrap(), "--json"]);
    overwrite(&dir.join("b.bin"), 1000, b"EDITED");
    let reason = wait_share_state(&a.dir, "changed");
    assert!(reason.contains("b.bin changed"), "{reason}");
    assert!(!reason.contains("a.bin"), "{reason}");
}

#[test]
fn truncated_grown_and_replaced_files_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("album");
    std::fs::create_dir_all(&dir).unwrap();
    let data = random_bytes(300_000, 4);
    for n in ["a.bin", "b.bin", "c.bin"] {
        std::fs::write(dir.join(n), &data).unwrap();
    }
    let a = node(&tmp.path().join("a"), &[]);
    let shared = json(&a.dir, &["share", dir.to_str().unwrap(), "--json"]);
    let url = shared["url"].as_str().unwrap().to_string();
    let base = &url[..url.find("/s/").unwrap()];
    let (_, _, page) = curl(&[], &url);
    let links: Vec<String> = page_links(&String::from_utf8(page).unwrap())
        .into_iter()
        .map(|l| format!("{base}{l}"))
        .collect();

    // Replaced by a copy of itself (a new file, the same bytes): still the
    // share, once checked.
    let copy = tmp.path().join("copy");
    std::fs::write(&copy, &data).unwrap();
    std::fs::rename(&copy, dir.join("b.bin")).unwrap();
    let (code, _, body) = curl(&[], &links[1]);
    assert_eq!(code, 200);
    assert!(body == data);
    assert_eq!(share_state(&a.dir).0, "ok");

    // Grown: no longer the share.
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("c.bin"))
        .unwrap();
    f.write_all_at(b"more", 300_000).unwrap();
    let reason = wait_share_state(&a.dir, "changed");
    assert!(
        reason.contains("c.bin") && reason.contains("300004 bytes long"),
        "{reason}"
    );
    for l in &links {
        assert_eq!(curl(&[], l).0, 409, "{l}");
    }
    // Back to its length but other bytes: still changed.
    std::fs::write(dir.join("c.bin"), random_bytes(300_000, 5)).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(share_state(&a.dir).0, "changed");
    // Its bytes back: served again; `warren recheck` says all match.
    std::fs::write(dir.join("c.bin"), &data).unwrap();
    wait_share_state(&a.dir, "ok");
    // The browser URL names the share as well as the link does.
    let report = json(&a.dir, &["recheck", &url, "--json"]);
    assert_eq!(report["state"], "ok", "{report}");
    assert_eq!(report["good"], report["pieces"]);
    // Truncated: changed, with the length in the reason.
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("a.bin"))
        .unwrap()
        .set_len(1000)
        .unwrap();
    assert_eq!(curl(&[], &links[0]).0, 409);
    let report = json(
        &a.dir,
        &["recheck", shared["link"].as_str().unwrap(), "--json"],
    );
    assert_eq!(report["state"], "changed", "{report}");
    assert!(
        report["good"].as_u64() < report["pieces"].as_u64(),
        "{report}"
    );
}

#[test]
fn a_deleted_shared_file_is_gone_for_everyone_and_says_so_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    let data = random_bytes(1_000_000, 6);
    std::fs::write(&src, &data).unwrap();
    let a_dir = tmp.path().join("a");
    let mut a = node(&a_dir, &[]);
    let b = node(&tmp.path().join("b"), &[&a.address()]);
    let shared = json(&a.dir, &["share", src.to_str().unwrap(), "--json"]);
    let url = file_url(&shared);
    std::fs::remove_file(&src).unwrap();

    let (code, headers, body) = curl(&[], &url);
    assert_eq!(code, 410, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("File gone"));
    assert_ne!(header(&headers, "content-length"), Some("1000000"));
    let reason = wait_share_state(&a.dir, "missing");
    assert!(
        reason.contains("f.bin") && reason.contains("gone"),
        "{reason}"
    );

    // The listing page says so too, and the peer protocol.
    assert_eq!(curl(&[], shared["url"].as_str().unwrap()).0, 410);
    let answer = peer_answer(&a, &shared);
    assert_eq!(
        answer,
        FileMsg::Unavailable {
            why: Unavailable::Missing
        }
    );
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut getter = get_in_background(&b.dir, shared["link"].as_str().unwrap(), &out);
    let d = wait_for(Duration::from_secs(30), "b says why", || {
        let d = first_download(&b.dir);
        d["error"]
            .as_str()
            .unwrap_or("")
            .contains("gone")
            .then_some(d)
    });
    assert_eq!(d["state"], "waiting", "{d}");
    let _ = getter.kill();
    let _ = getter.wait();

    // After a restart it is still missing (and logged once more, at start).
    assert!(a.stop().success());
    a = NodeProc::start(&a_dir, &[]);
    wait_share_state(&a.dir, "missing");
    // The gateway listens on a new port.
    let url = format!(
        "{}{}",
        a.status()["gateway_url"].as_str().unwrap(),
        &url[url.find("/s/").unwrap()..]
    );
    assert_eq!(curl(&[], &url).0, 410);
    // Put back: found by the next look, served again.
    std::fs::write(&src, &data).unwrap();
    wait_share_state(&a.dir, "ok");
    let (code, _, body) = curl(&[], &url);
    assert_eq!(code, 200);
    assert!(body == data);
}
