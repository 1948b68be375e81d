//! A real browser for panel tests: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`), and the steps
//! every panel test repeats. Included by `browser.rs` and `onion.rs`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::wait_for;

/// The passphrase every test pairs with.
pub const PASS: &str = "correct horse battery staple";

pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver) must be installed");
    wait_for(Duration::from_secs(30), "chromedriver", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

pub async fn browser(driver: &Driver, javascript: bool) -> Client {
    let mut prefs = serde_json::Map::new();
    if !javascript {
        prefs.insert(
            "profile.managed_default_content_settings.javascript".into(),
            json!(2),
        );
    }
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1300"],
            "prefs": prefs,
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

pub fn shots() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("panel-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Clicks `css` and waits until the next page has replaced this one.
pub async fn submit(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..400 {
        if old.tag_name().await.is_err() {
            c.find(Locator::Css("body")).await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("clicking {css} led nowhere");
}

pub async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Reloads `url` until its text contains `what`.
pub async fn until(c: &Client, url: &str, what: &str, secs: u64) -> String {
    for _ in 0..secs * 2 {
        c.goto(url).await.unwrap();
        let t = text(c).await;
        if t.contains(what) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{url} never showed {what:?}:\n{}", text(c).await);
}

/// Pairs the panel at `base` (the node keeps its code in `dir`) with
/// [`PASS`]; the browser ends on the access page, logged in.
pub async fn pair(c: &Client, base: &str, dir: &Path) {
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/pair");
    let code = std::fs::read_to_string(dir.join("pairing-code.txt")).unwrap();
    fill(c, "#code", code.trim()).await;
    fill(c, "#passphrase", PASS).await;
    fill(c, "#confirm", PASS).await;
    submit(c, "button[type=submit]").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/access");
}

pub async fn log_in(c: &Client, base: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    fill(c, "#passphrase", PASS).await;
    submit(c, "button[type=submit]").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/dashboard");
}
