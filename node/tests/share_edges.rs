//! The rough edges of sharing and downloading: files that cannot be
//! shared, empty folders, the file limit, large listings in a browser, and
//! a downloader whose only provider lies. Real `warren` processes.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::data::{curl, page_links, random_file};
use common::transfer::{self, Rogue};
use common::{NodeProc, TEST_BITS, json, listen_addr, wait_for, warren, warren_bin, write_config};
use warren_proto::NodeId;
use warren_proto::content::{ContentId, SwarmId};
use warren_proto::link::{Link, Target};

fn node(dir: &Path, boot: &[&str]) -> NodeProc {
    write_config(dir, "");
    NodeProc::start(dir, boot)
}

#[test]
fn unsafe_names_are_skipped_on_request_and_empty_folders_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    let dir = tmp.path().join("mixed");
    std::fs::create_dir_all(dir.join("empty/deeper")).unwrap();
    std::fs::write(dir.join("good.txt"), "fine\n").unwrap();
    std::fs::write(dir.join("two\nlines.txt"), "newline in the name\n").unwrap();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(dir.join(latin1), "not UTF-8\n").unwrap();
    nix::unistd::mkfifo(&dir.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();

    // Without the flag: refused, saying which file and how to go on.
    let o = warren(&a.dir, &["share", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--skip-unsafe"), "{err}");
    assert!(
        json(&a.dir, &["shares", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    // With it: shared, and every file left out is listed.
    let s = json(
        &a.dir,
        &["share", dir.to_str().unwrap(), "--skip-unsafe", "--json"],
    );
    assert_eq!(s["files"], 1, "{s}");
    let notes: Vec<String> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    let all = notes.join("\n");
    assert!(all.contains("lines.txt"), "{all}");
    assert!(all.contains("not valid UTF-8"), "{all}");
    assert!(
        all.contains("pipe") && all.contains("not a regular file"),
        "{all}"
    );
    assert!(
        all.contains("empty folder \"mixed/empty/deeper\"") && all.contains("\"mixed/empty\""),
        "{all}"
    );
    // The text output lists them too.
    let text = common::warren_ok(&a.dir, &["share", dir.to_str().unwrap(), "--skip-unsafe"]);
    assert!(text.contains("note     left out:"), "{text}");
}

#[test]
fn the_file_limit_is_named_in_the_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    let dir = tmp.path().join("many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..=8192 {
        std::fs::write(dir.join(format!("{i:05}")), b"").unwrap();
    }
    let o = warren(&a.dir, &["share", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("at most 8192") && err.contains("subfolders separately"),
        "{err}"
    );
}

#[test]
fn a_listing_of_thousands_of_files_is_paged_in_small_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    let dir = tmp.path().join("archive");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..5000 {
        std::fs::write(
            dir.join(format!("photo-from-the-summer-trip-{i:05}.jpg")),
            i.to_string(),
        )
        .unwrap();
    }
    let s = json(&a.dir, &["share", dir.to_str().unwrap(), "--json"]);
    let url = s["url"].as_str().unwrap().to_string();
    let mut files = Vec::new();
    let mut page = url.clone();
    let mut pages = 0;
    loop {
        let (code, _, body) = curl(&[], &page);
        assert_eq!(code, 200, "{page}");
        assert!(body.len() <= 30_000, "{page}: {} bytes", body.len());
        let text = String::from_utf8(body).unwrap();
        let links = page_links(&text);
        files.extend(links.iter().filter(|l| l.ends_with(".jpg")).cloned());
        pages += 1;
        match links
            .iter()
            .find(|l| text.contains(&format!("<a href=\"{l}\">next</a>")))
        {
            Some(next) => page = format!("{}{next}", &url[..url.find("/s/").unwrap()]),
            None => break,
        }
        assert!(pages < 100, "too many pages");
    }
    assert!(pages > 1);
    assert_eq!(files.len(), 5000, "every file on some page, once");
    files.dedup();
    assert_eq!(files.len(), 5000);
    // Past the last page: not found.
    assert_eq!(curl(&[], &format!("{url}?page={}", pages + 1)).0, 404);
}

#[test]
fn a_downloader_whose_provider_sends_bad_pieces_says_so_and_when_it_tries_again() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("data.bin");
    random_file(&src, 2_000_000, 31);
    let a = node(&tmp.path().join("a"), &[]);
    let s = json(
        &a.dir,
        &["share", src.to_str().unwrap(), "--public", "--json"],
    );
    let content = ContentId::from_base32(s["content"].as_str().unwrap()).unwrap();
    let a_status = a.status();
    let a_id: NodeId = a_status["id"].as_str().unwrap().parse().unwrap();
    let at = listen_addr(&a_status);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rogue, _) = rt.block_on(async {
        let (_, manifest, hashes) =
            transfer::fetch_meta(at, a_id, SwarmId::from(content), TEST_BITS).await;
        transfer::rogue(content, manifest, hashes, Rogue::BadPieces, TEST_BITS).await
    });
    // B knows nobody but the liar.
    let b = node(&tmp.path().join("b"), &[]);
    let link = Link {
        at: rogue,
        target: Target::Public(content),
    }
    .to_string();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut getter = Command::new(warren_bin())
        .arg("--data-dir")
        .arg(&b.dir)
        .args(["get", &link, "--json", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = wait_for(Duration::from_secs(30), "b says why it waits", || {
        let d = json(&b.dir, &["downloads", "--json"])[0].clone();
        d["error"]
            .as_str()
            .unwrap_or("")
            .contains("did not match")
            .then_some(d)
    });
    assert_eq!(d["state"], "waiting", "{d}");
    assert!(d["retry_at"].as_u64().is_some(), "{d}");
    assert_eq!(d["done_bytes"], 0);
    let text = common::warren_ok(&b.dir, &["downloads"]);
    assert!(text.contains("next try in"), "{text}");
    let _ = getter.kill();
    let _ = getter.wait();
    drop(rt);
}
