//! A download is never called complete, seeded or served unless its files
//! hold the content: a finished download whose files are deleted or edited
//! says so (and is not silently recreated), unfinished files carry a
//! temporary name, and a downloader whose providers cannot serve says why
//! and when it tries again. Real `warren` processes on loopback TCP.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::data::{curl, random_bytes};
use common::{NodeProc, first_download, get_in_background, json, wait_for, write_config};
use serde_json::Value;
use warren_proto::files::{FileMsg, Unavailable};

const FAST_CHECKS: &str = "[files]\ncheck_interval_secs = 1\n";

fn node(dir: &Path, extra: &str, boot: &[&str]) -> NodeProc {
    write_config(dir, &format!("{FAST_CHECKS}{extra}"));
    NodeProc::start(dir, boot)
}

fn wait_download(dir: &Path, state: &str, secs: u64) -> Value {
    wait_for(
        Duration::from_secs(secs),
        &format!("download {state}"),
        || {
            let d = first_download(dir);
            (d["state"] == state).then_some(d)
        },
    )
}

fn get_ok(dir: &Path, link: &str, out: &Path) -> Value {
    json(
        dir,
        &["get", link, "--json", "--out", out.to_str().unwrap()],
    )
}

/// Starts the node in `dir` again on the port it listened on before, so
/// that links naming it still reach it.
fn restart(dir: &Path, port: u16) -> NodeProc {
    let listen = format!("127.0.0.1:{port}");
    NodeProc::start_with(dir, &["--listen", &listen, "--transport", "tcp"])
}

fn port(n: &NodeProc) -> u16 {
    common::listen_addr(&n.status()).port()
}

/// The entries of a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The same share path on another node's gateway.
fn url_on(n: &NodeProc, share_url: &str) -> String {
    let path = &share_url[share_url.find("/s/").unwrap()..];
    format!("{}{path}", n.status()["gateway_url"].as_str().unwrap())
}

#[test]
fn a_finished_download_deleted_by_its_user_is_not_recreated_nor_seeded() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    let data = random_bytes(5_000_000, 11);
    std::fs::write(&src, &data).unwrap();
    let p_dir = tmp.path().join("p");
    let mut p = node(&p_dir, "", &[]);
    let p_port = port(&p);
    let q_dir = tmp.path().join("q");
    let mut q = node(&q_dir, "", &[&p.address()]);
    let shared = json(&p.dir, &["share", src.to_str().unwrap(), "--json"]);
    let link = shared["link"].as_str().unwrap().to_string();
    let out = tmp.path().join("out-q");
    std::fs::create_dir_all(&out).unwrap();
    assert_eq!(get_ok(&q.dir, &link, &out)["state"], "complete");
    assert_eq!(entries(&out), vec!["f.bin"]);

    // The user deletes it; the node restarts.
    std::fs::remove_file(out.join("f.bin")).unwrap();
    assert!(q.stop().success());
    q = NodeProc::start(&q_dir, &[]);
    let d = wait_download(&q.dir, "missing", 30);
    assert!(entries(&out).is_empty(), "recreated: {:?}", entries(&out));
    let err = d["error"].as_str().unwrap();
    assert!(err.contains("f.bin") && err.contains("warren get"), "{err}");
    assert_eq!(d["total_bytes"], 5_000_000);
    // Its gateway says so; nothing is served.
    let listing = url_on(&q, shared["url"].as_str().unwrap());
    assert_eq!(curl(&[], &listing).0, 410);

    // Asked directly, q refuses with the reason; it no longer announces it.
    let parsed: warren_proto::link::Link = link.parse().unwrap();
    let at = common::listen_addr(&q.status());
    let q_id: warren_proto::NodeId = q.status()["id"].as_str().unwrap().parse().unwrap();
    let answer = common::transfer::open_answer(at, q_id, parsed.swarm(), common::TEST_BITS);
    assert_eq!(
        answer,
        FileMsg::Unavailable {
            why: Unavailable::Missing
        }
    );

    // With the publisher gone too, a third node that knows only q says why
    // it waits and when it tries again, and is never sent a wrong byte.
    assert!(p.stop().success());
    let r = node(&tmp.path().join("r"), "", &[&q.address()]);
    let out_r = tmp.path().join("out-r");
    std::fs::create_dir_all(&out_r).unwrap();
    let mut getter = get_in_background(&r.dir, &link, &out_r);
    let d = wait_for(Duration::from_secs(60), "r says why it waits", || {
        let d = first_download(&r.dir);
        (d["error"].is_string() && d["retry_at"].is_u64()).then_some(d)
    });
    assert!(
        matches!(d["state"].as_str(), Some("waiting" | "metadata")),
        "{d}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(first_download(&r.dir)["done_bytes"], 0);
    assert_eq!(r.status()["metrics"]["pieces_bad"], 0);
    assert!(entries(&out_r).is_empty());
    let _ = getter.kill();
    let _ = getter.wait();

    // `warren get` on q fetches it again (the publisher is back).
    p = restart(&p_dir, p_port);
    let _ = &p;
    let d = get_ok(&q.dir, &link, &out);
    assert_eq!(d["state"], "complete", "{d}");
    assert!(std::fs::read(out.join("f.bin")).unwrap() == data);
    assert_eq!(entries(&out), vec!["f.bin"]);
    let (code, _, _) = curl(&[], &listing);
    assert_eq!(code, 200);
}

#[test]
fn a_finished_download_edited_by_its_user_stops_being_seeded_and_can_be_fetched_again() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("f.bin");
    let data = random_bytes(2_000_000, 12);
    std::fs::write(&src, &data).unwrap();
    let p = node(&tmp.path().join("p"), "", &[]);
    let q = node(&tmp.path().join("q"), "", &[&p.address()]);
    let shared = json(&p.dir, &["share", src.to_str().unwrap(), "--json"]);
    let link = shared["link"].as_str().unwrap().to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    get_ok(&q.dir, &link, &out);

    // Edited (its bytes, not its length).
    let mut edited = data.clone();
    edited[1_000_000..1_000_006].copy_from_slice(b"EDITED");
    std::fs::write(out.join("f.bin"), &edited).unwrap();
    let d = wait_download(&q.dir, "changed", 30);
    assert!(d["error"].as_str().unwrap().contains("f.bin"), "{d}");
    assert_eq!(
        curl(&[], &url_on(&q, shared["url"].as_str().unwrap())).0,
        409
    );
    assert!(q.log().contains("files no longer hold"));

    // `warren recheck` says how much still matches; `warren get` restores it.
    let report = json(&q.dir, &["recheck", &link, "--json"]);
    assert!(
        report["good"].as_u64().unwrap() + 1 == report["pieces"].as_u64().unwrap(),
        "one piece differs: {report}"
    );
    wait_download(&q.dir, "complete", 60);
    assert!(std::fs::read(out.join("f.bin")).unwrap() == data);
}

#[test]
fn unfinished_files_carry_a_temporary_name_and_progress_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("album");
    std::fs::create_dir_all(dir.join("inner")).unwrap();
    let big = random_bytes(3_000_000, 13);
    std::fs::write(dir.join("inner/big.bin"), &big).unwrap();
    std::fs::write(dir.join("small.txt"), b"hello\n").unwrap();
    // A slow publisher: 400 kB/s.
    let p_dir = tmp.path().join("p");
    let mut p = node(&p_dir, "upload_rate_limit = 400000\n", &[]);
    let p_port = port(&p);
    let q_dir = tmp.path().join("q");
    let mut q = node(&q_dir, "", &[&p.address()]);
    let link = json(&p.dir, &["share", dir.to_str().unwrap(), "--json"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut getter = get_in_background(&q.dir, &link, &out);
    let d = wait_for(Duration::from_secs(30), "some bytes", || {
        let d = first_download(&q.dir);
        (d["done_bytes"].as_u64().unwrap_or(0) > 0).then_some(d)
    });
    assert_eq!(d["state"], "downloading", "{d}");
    // Half-written: under the temporary name only.
    assert_eq!(
        entries(&out.join("album/inner")),
        vec!["big.bin.warren-part"]
    );
    let _ = getter.kill();
    let _ = getter.wait();

    // Stopped, and started with the publisher gone: the stored progress is
    // shown at once, not 0 B of 0 B.
    assert!(q.stop().success());
    assert!(p.stop().success());
    q = NodeProc::start(&q_dir, &[]);
    let d = first_download(&q.dir);
    assert_eq!(d["total_bytes"], 3_000_006, "{d}");
    let done = d["done_bytes"].as_u64().unwrap();
    assert!(done > 0 && done < 3_000_006, "{d}");
    assert_eq!(
        entries(&out.join("album/inner")),
        vec!["big.bin.warren-part"]
    );

    // Publisher back: the same command resumes and the names become final.
    p = restart(&p_dir, p_port);
    let _ = &p;
    assert_eq!(get_ok(&q.dir, &link, &out)["state"], "complete");
    assert_eq!(entries(&out.join("album")), vec!["inner", "small.txt"]);
    assert_eq!(entries(&out.join("album/inner")), vec!["big.bin"]);
    assert!(std::fs::read(out.join("album/inner/big.bin")).unwrap() == big);
}

/// A 3,000,000-byte share (bytes from `seed`) on a publisher slowed to
/// 400 kB/s, being downloaded into `out` by a second node in the
/// background until it holds more than `past` bytes.
struct SlowDownload {
    _p: NodeProc,
    q: NodeProc,
    link: String,
    out: std::path::PathBuf,
    data: Vec<u8>,
    getter: std::process::Child,
}

impl SlowDownload {
    fn start(tmp: &Path, seed: u64, past: u64) -> SlowDownload {
        let src = tmp.join("f.bin");
        let data = random_bytes(3_000_000, seed);
        std::fs::write(&src, &data).unwrap();
        let p = node(&tmp.join("p"), "upload_rate_limit = 400000\n", &[]);
        let q = node(&tmp.join("q"), "", &[&p.address()]);
        let link = json(&p.dir, &["share", src.to_str().unwrap(), "--json"])["link"]
            .as_str()
            .unwrap()
            .to_string();
        let out = tmp.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let getter = get_in_background(&q.dir, &link, &out);
        wait_for(Duration::from_secs(30), "some bytes", || {
            (first_download(&q.dir)["done_bytes"].as_u64().unwrap_or(0) > past).then_some(())
        });
        SlowDownload {
            _p: p,
            q,
            link,
            out,
            data,
            getter,
        }
    }

    /// Stops the background `get`, asks again and checks the file.
    fn finish_again(mut self) {
        let _ = self.getter.kill();
        let _ = self.getter.wait();
        assert_eq!(
            get_ok(&self.q.dir, &self.link, &self.out)["state"],
            "complete"
        );
        assert!(std::fs::read(self.out.join("f.bin")).unwrap() == self.data);
    }
}

#[test]
fn a_part_file_deleted_while_downloading_stops_it_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dl = SlowDownload::start(tmp.path(), 14, 0);
    std::fs::remove_file(dl.out.join("f.bin.warren-part")).unwrap();
    let d = wait_download(&dl.q.dir, "missing", 60);
    assert!(
        d["error"].as_str().unwrap().contains("f.bin.warren-part"),
        "{d}"
    );
    assert!(entries(&dl.out).is_empty(), "{:?}", entries(&dl.out));
    // Asked again, it starts over and finishes.
    dl.finish_again();
}

#[test]
fn a_part_file_written_to_by_someone_else_is_never_called_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let dl = SlowDownload::start(tmp.path(), 15, 1_000_000);
    // Someone writes into the unfinished file: a byte in every piece, so
    // that pieces already on disk are hit too.
    let part = dl.out.join("f.bin.warren-part");
    let f = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
    for piece in 0..46u64 {
        std::os::unix::fs::FileExt::write_all_at(&f, b"X", piece * 65_536 + 7).unwrap();
    }
    drop(f);
    let d = wait_for(Duration::from_secs(60), "the download stops", || {
        let d = first_download(&dl.q.dir);
        matches!(d["state"].as_str(), Some("changed" | "complete")).then_some(d)
    });
    assert_eq!(
        d["state"], "changed",
        "never complete with those bytes: {d}"
    );
    assert!(
        d["error"].as_str().unwrap().contains("f.bin.warren-part"),
        "{d}"
    );
    assert!(!dl.out.join("f.bin").exists());
    // Asked again: what no longer matches is fetched again.
    dl.finish_again();
}
