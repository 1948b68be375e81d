//! Sharing and downloading between real `warren` processes on loopback TCP.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::data::{random_file, same_tree};
use common::transfer::{self, Rogue};
use common::{NodeProc, TEST_BITS, listen_addr, wait_for, warren, warren_ok, write_config};
use serde_json::Value;
use warren_proto::content::{
    ContentId, FileEntry, Listing, Manifest, Meta, RelPath, SwarmId, piece_hash, pieces_root,
};
use warren_proto::link::{Link, Target};
use warren_proto::{BoundedString, BoundedVec, NodeId};

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&warren_ok(dir, args)).unwrap()
}

fn share(dir: &Path, path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["share", path.to_str().unwrap(), "--json"];
    args.extend(extra);
    json(dir, &args)
}

fn get(dir: &Path, link: &str, out: &Path) -> std::process::Output {
    warren(
        dir,
        &["get", link, "--out", out.to_str().unwrap(), "--json"],
    )
}

fn get_ok(dir: &Path, link: &str, out: &Path) -> Value {
    let o = get(dir, link, out);
    assert!(
        o.status.success(),
        "get failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A node on loopback TCP with the test config plus `extra`.
fn node(dir: &Path, extra: &str, boot: &[&str]) -> NodeProc {
    write_config(dir, extra);
    NodeProc::start(dir, boot)
}

fn metric(n: &NodeProc, name: &str) -> u64 {
    n.status()["metrics"][name].as_u64().unwrap_or(0)
}

#[test]
fn a_file_and_a_folder_reach_two_other_nodes_byte_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    random_file(&src.join("notes.bin"), 2_500_000, 1);
    let folder = src.join("trip 2026");
    random_file(&folder.join("a.jpg"), 700_000, 2);
    random_file(&folder.join("day two/b.jpg"), 1_300_000, 3);
    std::fs::write(folder.join("empty"), b"").unwrap();
    std::fs::write(folder.join("ünïcødé.txt"), "🦊 hello\n").unwrap();

    let a = node(&tmp.path().join("a"), "", &[]);
    let boot = a.address();
    let b = node(&tmp.path().join("b"), "", &[&boot]);
    let c = node(&tmp.path().join("c"), "", &[&boot]);
    let file = share(&a.dir, &src.join("notes.bin"), &[]);
    let dir = share(
        &a.dir,
        &folder,
        &["--description", "photos of the trip", "--tag", "trip"],
    );
    assert_eq!(dir["files"], 4);
    assert_eq!(dir["public"], false);
    assert!(dir["link"].as_str().unwrap().starts_with("warren:"));
    assert_eq!(
        json(&a.dir, &["shares", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    for (who, n) in [("b", &b), ("c", &c)] {
        let out = tmp.path().join(format!("out-{who}"));
        std::fs::create_dir_all(&out).unwrap();
        for s in [&file, &dir] {
            let done = get_ok(&n.dir, s["link"].as_str().unwrap(), &out);
            assert_eq!(done["state"], "complete");
        }
        same_tree(&src.join("notes.bin"), &out.join("notes.bin"));
        same_tree(&folder, &out.join("trip 2026"));
        let list = json(&n.dir, &["downloads", "--json"]);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|d| d["state"] == "complete"),
            "{list}"
        );
        assert!(metric(n, "pieces_verified") > 0);
    }
    assert_eq!(metric(&b, "pieces_bad") + metric(&c, "pieces_bad"), 0);
}

/// A name whose right-to-left override makes `invoice\u{202e}fdp.exe`
/// read as `invoiceexe.pdf` is written to disk, listed and printed with
/// U+FFFD in its place; right-to-left text itself is kept.
#[test]
fn a_name_with_a_direction_override_is_written_and_printed_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("src/papers");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("invoice\u{202e}fdp.exe"), b"MZ not a pdf").unwrap();
    std::fs::write(folder.join("שלום.txt"), b"shalom").unwrap();
    let a = node(&tmp.path().join("a"), "", &[]);
    let b = node(&tmp.path().join("b"), "", &[&a.address()]);
    let shared = share(&a.dir, &folder, &[]);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let link = shared["link"].as_str().unwrap();
    assert_eq!(get_ok(&b.dir, link, &out)["state"], "complete");
    let names: Vec<String> = walk(&out)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert!(
        names.contains(&"invoice\u{fffd}fdp.exe".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"שלום.txt".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.chars().any(warren_proto::content::is_bidi_control)),
        "{names:?}"
    );
    assert_eq!(
        std::fs::read(out.join("papers/invoice\u{fffd}fdp.exe")).unwrap(),
        b"MZ not a pdf"
    );
    // What the CLI prints carries none either.
    for dir in [&a.dir, &b.dir] {
        let out = warren_ok(dir, &["downloads"]) + &warren_ok(dir, &["shares"]);
        assert!(
            !out.chars().any(warren_proto::content::is_bidi_control),
            "{out}"
        );
    }
}

#[test]
fn a_killed_download_resumes_from_what_was_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.bin");
    let size = 12_000_000;
    random_file(&src, size, 7);
    // 2 MB/s: the download takes about six seconds, time to kill it midway.
    let a = node(
        &tmp.path().join("a"),
        "[files]\nupload_rate_limit = 2000000\n",
        &[],
    );
    let b_dir = tmp.path().join("b");
    let mut b = node(&b_dir, "", &[&a.address()]);
    let link = share(&a.dir, &src, &[])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();

    // A `warren get` killed midway: the node goes on, a second one attaches.
    let mut cli = Command::new(common::warren_bin())
        .arg("--data-dir")
        .arg(&b_dir)
        .args(["get", &link, "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let progress = |n: &NodeProc| -> u64 {
        json(&n.dir, &["downloads", "--json"])
            .as_array()
            .and_then(|l| l.first().cloned())
            .map_or(0, |d| d["done_bytes"].as_u64().unwrap_or(0))
    };
    wait_for(Duration::from_secs(30), "some progress", || {
        (progress(&b) > 0).then_some(())
    });
    cli.kill().unwrap();
    cli.wait().unwrap();

    // Now the node itself dies, hard, partway through.
    wait_for(Duration::from_secs(30), "a quarter", || {
        (progress(&b) >= size as u64 / 4).then_some(())
    });
    let before = progress(&b);
    assert!(before < size as u64, "finished before it could be killed");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(b.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = b.stop();

    // Restarted, it resumes by itself; `warren get` attaches and waits.
    let b = NodeProc::start(&b_dir, &[&a.address()]);
    let done = get_ok(&b.dir, &link, &out);
    assert_eq!(done["state"], "complete");
    same_tree(&src, &out.join("big.bin"));
    let fetched_again = metric(&b, "bytes_downloaded");
    assert!(
        fetched_again < size as u64 - before / 2,
        "after the restart {fetched_again} bytes were fetched; {before} were already verified"
    );
}

#[test]
fn bad_pieces_from_a_lying_provider_do_not_corrupt_the_result_nor_learn_who_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("data.bin");
    random_file(&src, 3_000_000, 11);
    let a = node(&tmp.path().join("a"), "", &[]);
    let b = node(&tmp.path().join("b"), "", &[&a.address()]);
    let s = share(&a.dir, &src, &["--public"]);
    let content = ContentId::from_base32(s["content"].as_str().unwrap()).unwrap();
    let a_status = a.status();
    let a_id: NodeId = a_status["id"].as_str().unwrap().parse().unwrap();
    let at = listen_addr(&a_status);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rogue, dialers) = rt.block_on(async {
        let (c, manifest, hashes) =
            transfer::fetch_meta(at, a_id, SwarmId::from(content), TEST_BITS).await;
        assert_eq!(c, content);
        transfer::rogue(content, manifest, hashes, Rogue::BadPieces, TEST_BITS).await
    });
    // The link sends B to the liar first; the honest copy is found through
    // the tracker (A is B's peer).
    let link = Link {
        at: rogue,
        target: Target::Public(content),
    }
    .to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let done = get_ok(&b.dir, &link, &out);
    assert_eq!(done["state"], "complete");
    same_tree(&src, &out.join("data.bin"));
    assert!(metric(&b, "pieces_bad") >= 1, "the bad pieces were noticed");
    // The provider saw one identity for the whole download, and not B's.
    let seen = dialers.lock().unwrap().clone();
    let b_id: NodeId = b.status()["id"].as_str().unwrap().parse().unwrap();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|d| *d == seen[0]), "{seen:?}");
    assert_ne!(seen[0], b_id, "the provider learned which node downloads");
    drop(rt);
}

/// A manifest a well-behaved node would never make.
fn evil_manifest(path: &str) -> (ContentId, Vec<u8>, Vec<[u8; 32]>) {
    let data = vec![0x41u8; 1000];
    let hashes = vec![piece_hash(&data)];
    let listing = Listing {
        name: BoundedString::new("evil").unwrap(),
        // RelPath refuses `..` when built; the bytes are crafted by hand below.
        files: BoundedVec::truncating([FileEntry {
            path: RelPath::new("xxxxxxxxxxxxx").unwrap(),
            size: 1000,
        }]),
        description: None,
        tags: BoundedVec::new(),
        created_at: 1,
    };
    let m = Manifest {
        piece_size: 64 * 1024,
        total_size: 1000,
        pieces_root: pieces_root(&hashes),
        meta: Meta::Plain(listing),
    };
    let mut bytes = m.encode();
    let at = bytes
        .windows(13)
        .position(|w| w == b"xxxxxxxxxxxxx")
        .unwrap();
    assert_eq!(path.len(), 13);
    bytes[at..at + 13].copy_from_slice(path.as_bytes());
    (warren_proto::content::id_of_encoding(&bytes), bytes, hashes)
}

#[test]
fn manifests_with_unsafe_paths_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let b = node(&tmp.path().join("b"), "", &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = tmp.path().join("jail");
    let out = base.join("out");
    std::fs::create_dir_all(&out).unwrap();
    for evil in ["../escape.txt", "/tmp/abs.txt", "a/../../x.txt"] {
        let padded = format!("{evil:x<13}");
        let (content, bytes, hashes) = evil_manifest(&padded);
        let (rogue, _) = rt.block_on(transfer::rogue(
            content,
            bytes,
            hashes,
            Rogue::AnyManifest,
            TEST_BITS,
        ));
        let link = Link {
            at: rogue,
            target: Target::Public(content),
        }
        .to_string();
        let o = get(&b.dir, &link, &out);
        assert!(!o.status.success(), "{padded:?} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("nobody serves") || err.contains("manifest") || err.contains("unsafe"),
            "{padded:?}: {err}"
        );
    }
    // Nothing anywhere near the target folder.
    let found: Vec<_> = walk(&base);
    assert!(found.iter().all(|p| p.starts_with(&out)), "{found:?}");
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing in the target either"
    );
    assert!(!Path::new("/tmp/abs.txt").exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn unknown_links_and_refused_shares_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let a = node(&tmp.path().join("a"), "", &[]);
    let b = node(&tmp.path().join("b"), "", &[&a.address()]);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A token nobody issued.
    let unknown = format!("warren:{}/s/{}", a.address(), "a".repeat(26));
    let o = get(&b.dir, &unknown, &out);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nobody serves this link"),
        "{o:?}"
    );
    // A folder with a symlink leading out of it.
    let folder = tmp.path().join("leaky");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("ok.txt"), "fine").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", folder.join("passwd")).unwrap();
    let o = warren(&a.dir, &["share", folder.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("outside the shared folder"),
        "{o:?}"
    );
    // A link that does not parse.
    let o = get(&b.dir, "warren:nonsense", &out);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("invalid"),
        "{o:?}"
    );
    // A file that already exists is not overwritten.
    let src = tmp.path().join("x.bin");
    random_file(&src, 10_000, 3);
    let link = share(&a.dir, &src, &[])["link"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(out.join("x.bin"), b"mine").unwrap();
    let o = get(&b.dir, &link, &out);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already exists"),
        "{o:?}"
    );
    assert_eq!(std::fs::read(out.join("x.bin")).unwrap(), b"mine");
}

#[test]
fn requests_beyond_the_end_and_request_floods_are_refused() {
    use warren_proto::files::{FileMsg, RejectReason};
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    random_file(&src, 200_000, 5);
    let a = node(&tmp.path().join("a"), "", &[]);
    let s = share(&a.dir, &src, &["--public"]);
    let content = ContentId::from_base32(s["content"].as_str().unwrap()).unwrap();
    let st = a.status();
    let (at, id): (_, NodeId) = (
        listen_addr(&st),
        st["id"].as_str().unwrap().parse().unwrap(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = transfer::dial(at, id, TEST_BITS).await;
        transfer::send(
            &mut c,
            FileMsg::Open {
                swarm: SwarmId::from(content),
            },
        )
        .await;
        // Opened, then the bitfield.
        assert!(matches!(
            transfer::recv(&mut c).await,
            Some(FileMsg::Opened { .. })
        ));
        assert!(matches!(
            transfer::recv(&mut c).await,
            Some(FileMsg::Bitfield { .. })
        ));
        for (piece, offset, len, why) in [
            (0, 60_000, 10_000, RejectReason::BadRange),
            (0, 0, 64 * 1024, RejectReason::BadRange),
            (99, 0, 100, RejectReason::NotHave),
        ] {
            transfer::send(&mut c, FileMsg::Request { piece, offset, len }).await;
            match transfer::recv(&mut c).await {
                Some(FileMsg::Reject { reason, .. }) => assert_eq!(reason, why),
                other => panic!("{piece}/{offset}/{len}: {other:?}"),
            }
        }
        // A flood of requests, never reading: beyond the queue, Busy.
        for i in 0..2000u32 {
            transfer::send(
                &mut c,
                FileMsg::Request {
                    piece: 0,
                    offset: (i % 2) * 16384,
                    len: 16384,
                },
            )
            .await;
        }
        let mut busy = 0;
        let mut blocks = 0;
        while let Ok(Some(m)) =
            tokio::time::timeout(Duration::from_secs(5), transfer::recv(&mut c)).await
        {
            match m {
                FileMsg::Reject {
                    reason: RejectReason::Busy,
                    ..
                } => busy += 1,
                FileMsg::Block { .. } => blocks += 1,
                _ => {}
            }
        }
        assert!(busy > 0 && blocks > 0, "{busy} busy, {blocks} blocks");
    });
    assert!(metric(&a, "upload_busy") > 0);
    // And the node serves an honest downloader right after.
    let b = node(&tmp.path().join("b"), "", &[&a.address()]);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    get_ok(&b.dir, s["link"].as_str().unwrap(), &out);
    same_tree(&src, &out.join("f.bin"));
}

#[test]
fn a_full_disk_stops_the_download_cleanly_and_it_resumes_after() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.bin");
    random_file(&src, 6_000_000, 9);
    let a = node(&tmp.path().join("a"), "", &[]);
    let b = node(&tmp.path().join("b"), "", &[&a.address()]);
    let link = share(&a.dir, &src, &[])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let small = tmp.path().join("small-disk");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    if !mounted.success() {
        assert_ne!(
            nix::unistd::getuid().as_raw(),
            0,
            "root could not mount a tmpfs"
        );
        eprintln!("skipped: mounting a small filesystem needs root");
        return;
    }
    let cleanup = Unmount(small.clone());
    let o = get(&b.dir, &link, &small);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("disk full"), "{err}");
    // Paused (not failed), with the bytes that did reach the disk.
    let d = json(&b.dir, &["downloads", "--json"])[0].clone();
    assert_eq!(d["state"], "paused", "{d}");
    assert!(d["error"].as_str().unwrap().contains("disk full"), "{d}");
    let done = d["done_bytes"].as_u64().unwrap();
    assert!(done > 0 && done < 6_000_000, "{d}");
    assert_eq!(d["total_bytes"], 6_000_000);
    // Space freed (the filesystem grows): the same command resumes.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(grown.success());
    get_ok(&b.dir, &link, &small);
    same_tree(&src, &small.join("big.bin"));
    drop(cleanup);
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn whoever_downloaded_a_share_seeds_it_when_the_publisher_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("album.bin");
    random_file(&src, 3_000_000, 21);
    let mut a = node(&tmp.path().join("a"), "", &[]);
    let boot = a.address();
    let b_dir = tmp.path().join("b");
    let mut b = node(&b_dir, "", &[&boot]);
    let shared = share(&a.dir, &src, &["--public"]);
    let link = shared["public_link"].as_str().unwrap().to_string();
    let out_b = tmp.path().join("out-b");
    std::fs::create_dir_all(&out_b).unwrap();
    assert_eq!(get_ok(&b.dir, &link, &out_b)["state"], "complete");

    // B restarts (its finished download must go on being served), then the
    // publisher goes away.
    assert!(b.stop().success());
    b = NodeProc::start(&b_dir, &[]);
    let b_addr = b.address();
    assert!(a.stop().success());

    // C knows only B, and the link names A: it finds B by asking who has it.
    let c = node(&tmp.path().join("c"), "", &[&b_addr]);
    wait_for(Duration::from_secs(30), "c connected to b", || {
        (c.status()["connected_peers"].as_u64() == Some(1)).then_some(())
    });
    let out_c = tmp.path().join("out-c");
    std::fs::create_dir_all(&out_c).unwrap();
    assert_eq!(get_ok(&c.dir, &link, &out_c)["state"], "complete");
    same_tree(&src, &out_c.join("album.bin"));
    assert!(metric(&b, "bytes_uploaded") >= 3_000_000);
}
