//! The web gateway, driven by real HTTP clients (`curl`, `wget`) against
//! real `warren` processes on loopback TCP.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::process::Command;

use common::data::{curl, header, page_links, random_bytes};
use common::{NodeProc, json, warren, warren_ok, write_config};

fn node(dir: &Path, boot: &[&str]) -> NodeProc {
    write_config(dir, "");
    NodeProc::start(dir, boot)
}

#[test]
fn share_links_open_in_a_browser_and_ranged_downloads_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("<i>bold&more'")).unwrap();
    let data = random_bytes(3_000_000, 7);
    std::fs::write(src.join("<i>bold&more'/film.bin"), &data).unwrap();
    std::fs::write(src.join("<i>bold&more'/read me.txt"), b"hello\n").unwrap();
    let a = node(&tmp.path().join("a"), &[]);

    let base = a.status()["gateway_url"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let shared = json(
        &a.dir,
        &[
            "share",
            src.join("<i>bold&more'").to_str().unwrap(),
            "--json",
            "--description",
            "<script>alert(1)</script>",
        ],
    );
    let url = shared["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/s/")), "{url}");
    let listed = json(&a.dir, &["shares", "--json"]);
    assert_eq!(listed[0]["url"].as_str().unwrap(), url);

    // The page lists the files, with everything from the manifest escaped.
    let (code, headers, page) = curl(&[], &url);
    assert_eq!(code, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("&lt;i&gt;bold&amp;more&#39;"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>"));
    assert!(page.contains("film.bin") && page.contains("read me.txt"));
    assert!(
        header(&headers, "content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"));
    let links = page_links(&page);
    assert_eq!(links.len(), 2, "{links:?}");
    let film = format!(
        "{base}{}",
        links.iter().find(|l| l.ends_with("film.bin")).unwrap()
    );

    // The whole file, byte-exact, as an attachment.
    let (code, headers, body) = curl(&[], &film);
    assert_eq!(code, 200);
    assert!(body == data, "full download differs");
    assert_eq!(header(&headers, "accept-ranges"), Some("bytes"));
    assert!(
        header(&headers, "content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/octet-stream")
    );
    let etag = header(&headers, "etag").unwrap().to_string();

    // A ranged request.
    let (code, headers, body) = curl(&["-r", "1000000-1999999"], &film);
    assert_eq!(code, 206);
    assert_eq!(body, &data[1_000_000..2_000_000]);
    assert_eq!(
        header(&headers, "content-range"),
        Some("bytes 1000000-1999999/3000000")
    );
    let (code, _, body) = curl(&["-r", "-100"], &film);
    assert_eq!((code, body.as_slice()), (206, &data[2_999_900..]));

    // `curl -C -` resumes a cut-off download.
    let part = tmp.path().join("film.part");
    std::fs::write(&part, &data[..1_234_567]).unwrap();
    let st = Command::new("curl")
        .args(["-s", "-f", "-C", "-", "-o"])
        .arg(&part)
        .arg(&film)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        std::fs::read(&part).unwrap() == data,
        "curl -C - result differs"
    );

    // `wget -c` too.
    let wpart = tmp.path().join("film.wget");
    std::fs::write(&wpart, &data[..777_777]).unwrap();
    let st = Command::new("wget")
        .args(["-q", "-c", "-O"])
        .arg(&wpart)
        .arg(&film)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        std::fs::read(&wpart).unwrap() == data,
        "wget -c result differs"
    );

    // If-Range with the file's ETag honours the range; another ETag gets all.
    let (code, _, _) = curl(&["-r", "0-9", "-H", &format!("If-Range: {etag}")], &film);
    assert_eq!(code, 206);
    let (code, _, body) = curl(&["-r", "0-9", "-H", "If-Range: \"other\""], &film);
    assert_eq!((code, body.len()), (200, data.len()));

    // Past the end: 416 with the length.
    let (code, headers, _) = curl(&["-r", "3000000-"], &film);
    assert_eq!(code, 416);
    assert_eq!(header(&headers, "content-range"), Some("bytes */3000000"));

    // HEAD: the headers, no body (curl -I writes only the headers).
    let (code, headers, out) = curl(&["-I"], &film);
    assert_eq!(code, 200);
    assert_eq!(header(&headers, "content-length"), Some("3000000"));
    assert_eq!(out, headers.as_bytes());

    // Wrong method, unknown token, malformed paths, unknown file numbers.
    let (code, headers, _) = curl(&["-X", "POST"], &film);
    assert_eq!(code, 405);
    assert_eq!(header(&headers, "allow"), Some("GET, HEAD"));
    let unknown = format!("{base}/s/{}", "a".repeat(26));
    assert_eq!(curl(&[], &unknown).0, 404);
    for bad in ["/s/!!", "/s/", "/x/y", "/s/../../etc/passwd", "/c/zz"] {
        assert_eq!(curl(&[], &format!("{base}{bad}")).0, 404, "{bad}");
    }
    assert_eq!(curl(&[], &format!("{url}/2/x")).0, 404);
    assert_eq!(
        curl(&[], &format!("{url}/99999999999999999999999/x")).0,
        404
    );
    assert_eq!(curl(&[], &format!("{base}/")).0, 200);

    // A private share is not reachable by its content id until made public.
    let content = shared["content"].as_str().unwrap();
    let by_id = format!("{base}/c/{content}");
    assert_eq!(curl(&[], &by_id).0, 404);
    warren_ok(&a.dir, &["publish", shared["link"].as_str().unwrap()]);
    let (code, _, page) = curl(&[], &by_id);
    assert_eq!(code, 200);
    assert!(String::from_utf8(page).unwrap().contains("film.bin"));
}

#[test]
fn a_downloader_serves_the_share_from_its_own_gateway() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("song.ogg");
    let data = random_bytes(1_500_000, 9);
    std::fs::write(&file, &data).unwrap();
    let a = node(&tmp.path().join("a"), &[]);
    let b = node(&tmp.path().join("b"), &[&a.address()]);
    let shared = json(
        &a.dir,
        &["share", file.to_str().unwrap(), "--json", "--sealed"],
    );
    assert_eq!(shared["sealed"], true);
    let link = shared["link"].as_str().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = warren(
        &b.dir,
        &["get", link, "--out", out.to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The publisher serves plaintext of its sealed share; so does the
    // downloader, which holds the key from the link.
    let path =
        &shared["url"].as_str().unwrap()[a.status()["gateway_url"].as_str().unwrap().len()..];
    for n in [&a, &b] {
        let page_url = format!("{}{path}", n.status()["gateway_url"].as_str().unwrap());
        let (code, _, page) = curl(&[], &page_url);
        assert_eq!(code, 200);
        let page = String::from_utf8(page).unwrap();
        let href = page_links(&page).pop().unwrap();
        let base = n.status()["gateway_url"].as_str().unwrap().to_string();
        let (code, _, body) = curl(&[], &format!("{base}{href}"));
        assert_eq!(code, 200);
        assert!(body == data, "file from {} differs", n.dir.display());
    }
}
