//! The panel in a real browser (headless Chromium through chromedriver):
//! pair, log in, trust a peer, share a file, download another node's share
//! and watch it complete, write to B and read its answer; then the main
//! path and a message again with JavaScript off.
//! Screenshots of every page go to `target/tmp/panel-screenshots/`.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;
#[path = "common/browser.rs"]
mod web_browser;

use std::time::Duration;

use fantoccini::{Client, Locator};

use common::{NodeProc, json as cli_json, wait_for, write_config};
use web_browser::{browser, chromedriver, fill, log_in, pair, shot, submit, text, until};

/// Opens the conversation with `peer` from the peers page, writes `words`
/// and waits until the thread shows them delivered. Every messages page
/// stays under 30 KB.
async fn write_to(c: &Client, base: &str, peer: &str, words: &str) {
    c.goto(&format!("{base}/peers")).await.unwrap();
    let link = format!("a[href='/messages/c?with={peer}']");
    submit(c, &link).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/messages/c");
    assert!(c.find(Locator::Css("iframe.thread")).await.is_ok());
    fill(c, "textarea[name=text]", words).await;
    submit(c, "form[action='/messages/send'] button").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/messages/c");
    let thread = format!("{base}/messages/thread?with={peer}");
    let t = until(c, &thread, "delivered", 60).await;
    assert!(t.contains(words), "{t}");
    for path in [
        "/messages",
        &format!("/messages/c?with={peer}"),
        &format!("/messages/thread?with={peer}"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let size = c.source().await.unwrap().len();
        assert!(size < 30_000, "{path} is {size} bytes");
    }
    // The conversation page frames the thread (its policy lets the panel,
    // and only the panel, frame it).
    c.goto(&format!("{base}/messages/c?with={peer}"))
        .await
        .unwrap();
    c.clone().enter_frame(Some(0)).await.unwrap();
    let framed = text(c).await;
    assert!(framed.contains(words), "the frame shows {framed:?}");
    c.clone().enter_parent_frame().await.unwrap();
}

/// Adds `link` on the downloads page and waits until it is complete.
async fn download(c: &Client, base: &str, link: &str, name: &str) {
    c.goto(&format!("{base}/downloads")).await.unwrap();
    fill(c, "#link", link).await;
    submit(c, "form[action='/downloads'] button").await;
    assert!(
        text(c).await.contains("Download started"),
        "{}",
        text(c).await
    );
    let url = format!("{base}/downloads");
    let t = until(c, &url, "complete", 60).await;
    assert!(t.contains(name), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_drives_the_panel_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("box-files");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("notes.txt"), "meeting notes\n".repeat(1000)).unwrap();
    let a_dir = tmp.path().join("a");
    write_config(
        &a_dir,
        &format!("[panel]\nshare_roots = [\"{}\"]\n", root.display()),
    );
    let a = NodeProc::start(&a_dir, &[]);
    let base = a.status()["panel_url"].as_str().unwrap().to_string();
    let b_dir = tmp.path().join("b");
    write_config(&b_dir, "");
    let b = NodeProc::start(&b_dir, &[]);
    let photo = tmp.path().join("holiday.bin");
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&photo, &payload).unwrap();
    let b_share = cli_json(&b_dir, &["share", photo.to_str().unwrap(), "--json"]);
    let b_link = b_share["link"].as_str().unwrap().to_string();

    let driver = chromedriver();
    let c = browser(&driver, true).await;

    // Pairing: the first visit lands on it.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/pair");
    shot(&c, "01-pair").await;
    pair(&c, &base, &a_dir).await;
    let t = text(&c).await;
    assert!(t.contains("Paired") && t.contains("client key"), "{t}");
    shot(&c, "02-access").await;

    // Log out and in again.
    submit(&c, "header form button").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    shot(&c, "03-login").await;
    fill(&c, "#passphrase", "not the passphrase").await;
    submit(&c, "button[type=submit]").await;
    assert!(text(&c).await.contains("Wrong passphrase"));
    log_in(&c, &base).await;
    shot(&c, "04-dashboard").await;
    assert!(text(&c).await.contains("No trusted nodes yet"));

    // Trust node B.
    c.goto(&format!("{base}/peers")).await.unwrap();
    fill(&c, "input[name=address]", &b.address()).await;
    submit(&c, "form[action='/peers/trust'] button").await;
    let t = text(&c).await;
    assert!(t.contains("Trusted"), "{t}");
    let b_id = b.status()["id"].as_str().unwrap().to_string();
    until(&c, &format!("{base}/peers"), "connected", 30).await;
    shot(&c, "05-peers").await;
    let trusted = cli_json(&a_dir, &["trust", "list", "--json"]);
    assert_eq!(trusted[0]["id"].as_str(), Some(b_id.as_str()));

    // Share a file from the box.
    c.goto(&format!("{base}/shares")).await.unwrap();
    fill(&c, "#path", &root.join("notes.txt").display().to_string()).await;
    fill(&c, "#description", "Notes from the last meeting").await;
    submit(&c, "form[action='/shares'] button").await;
    let t = until(&c, &format!("{base}/shares"), "notes.txt ·", 30).await;
    assert!(t.contains("private"), "{t}");
    shot(&c, "06-shares").await;
    let link = c
        .find(Locator::Css("input[aria-label='Link to notes.txt']"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let shares = cli_json(&a_dir, &["shares", "--json"]);
    assert_eq!(shares[0]["link"].as_str(), Some(link.as_str()));
    submit(&c, "a.button").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/shares/qr");
    assert!(c.find(Locator::Css(".qr svg")).await.is_ok());
    shot(&c, "07-share-qr").await;

    // Download B's share and watch it complete.
    download(&c, &base, &b_link, "holiday.bin").await;
    shot(&c, "08-downloads").await;
    let got = std::fs::read(a_dir.join("downloads/holiday.bin")).unwrap();
    assert!(got == payload, "the downloaded file matches");

    // Settings: saved into the file and applied.
    c.goto(&format!("{base}/settings")).await.unwrap();
    fill(&c, "#quota", "2").await;
    fill(&c, "#upload", "512").await;
    submit(&c, "form[action='/settings'] button").await;
    assert!(
        text(&c).await.contains("Saved and applied"),
        "{}",
        text(&c).await
    );
    shot(&c, "09-settings").await;
    let saved = std::fs::read_to_string(a_dir.join("warren.toml")).unwrap();
    assert!(
        saved.contains("seeding_quota_bytes = 2147483648")
            && saved.contains("upload_rate_limit = 524288"),
        "{saved}"
    );
    assert!(
        saved.contains("pow_difficulty"),
        "the rest of the file is kept"
    );
    let mirrors = cli_json(&a_dir, &["mirrors", "--json"]);
    assert_eq!(mirrors["quota_bytes"], 2_147_483_648u64);

    // Messages: B trusts A back (so A may ask it for keys); A writes from
    // the peers page, B answers, A's conversations show it unread.
    common::warren_ok(&b_dir, &["trust", "add", &a.address()]);
    write_to(&c, &base, &b_id, "Hello from the panel").await;
    shot(&c, "10-conversation").await;
    let a_id = a.status()["id"].as_str().unwrap().to_string();
    wait_for(Duration::from_secs(30), "B has the message", || {
        let t = common::warren_ok(&b_dir, &["messages", &a_id, "--json"]);
        t.contains("Hello from the panel").then_some(())
    });
    common::warren_ok(&b_dir, &["send", &a.address(), "Hello back"]);
    let t = until(&c, &format!("{base}/messages"), "1 unread", 30).await;
    assert!(t.contains("Hello back"), "{t}");
    shot(&c, "11-messages").await;
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    assert!(text(&c).await.contains("1 unread"));
    c.goto(&format!("{base}/messages/thread?with={b_id}"))
        .await
        .unwrap();
    assert!(text(&c).await.contains("Hello back"));
    c.goto(&format!("{base}/messages")).await.unwrap();
    assert!(
        !text(&c).await.contains("unread"),
        "reading the thread marks it read"
    );

    c.goto(&format!("{base}/logs?level=info")).await.unwrap();
    assert!(text(&c).await.contains("node running"));
    shot(&c, "12-logs").await;
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    shot(&c, "13-dashboard-after").await;
    c.close().await.unwrap();

    // The main path again with JavaScript off: log in, download, watch.
    let second = tmp.path().join("second.bin");
    std::fs::write(&second, vec![42u8; 500_000]).unwrap();
    let s2 = cli_json(&b_dir, &["share", second.to_str().unwrap(), "--json"]);
    let c = browser(&driver, false).await;
    c.goto("data:text/html,<p id=x>off</p><script>document.getElementById('x').textContent='on'</script>").await.unwrap();
    assert_eq!(text(&c).await, "off", "JavaScript is really off");
    log_in(&c, &base).await;
    download(&c, &base, s2["link"].as_str().unwrap(), "second.bin").await;
    shot(&c, "14-downloads-no-js").await;
    write_to(&c, &base, &b_id, "Hello without JavaScript").await;
    shot(&c, "15-conversation-no-js").await;
    c.goto(&format!("{base}/peers")).await.unwrap();
    assert!(text(&c).await.contains("trusted"));
    c.close().await.unwrap();
    // The page said "complete" for the first download already: wait for
    // this one's file to get its own name (it is `.warren-part` until then).
    let done = a_dir.join("downloads/second.bin");
    common::wait_for(std::time::Duration::from_secs(60), "second.bin", || {
        done.exists().then_some(())
    });
    assert_eq!(std::fs::read(&done).unwrap(), vec![42u8; 500_000]);
}
