//! Messages on the private Tor network, as the check runs them: two
//! boxes and two members on arti. B registers its mailbox with both boxes
//! and stops; A writes to it (first contact through a box's prekeys); both
//! boxes hold the mail and neither can read it; one box stops; B comes back
//! and reads everything, in order, from the other box in its panel in a real
//! browser, and answers there; the box that served B deletes after B's
//! acknowledgement, and so does the stopped one when it returns.

use std::path::Path;

use fantoccini::Locator;
use serde_json::Value;

use super::common::{NodeProc, json, wait_for, warren_ok, write_config};
use super::web_browser::{browser, chromedriver, fill, pair, shot, submit, text, until};
use super::{ONION_WAIT, net_arg, wait_online};
/// The MiB in arti's "Memory quota tracking initialised max=64.0 MiB …"
/// (tor-memquota prints "64.0 MiB" or "256 MiB").
fn quota_mib(line: &str) -> Option<f64> {
    let (number, _) = line.split_once(" max=")?.1.split_once(" MiB")?;
    number.parse().ok()
}

/// A member, or a box on the `small` memory profile (a Pi's).
fn node(dir: &Path, role_box: bool, boot: &[&str]) -> NodeProc {
    let role = if role_box {
        "[node]\nrole = \"box\"\n\n[limits]\nprofile = \"small\"\n"
    } else {
        ""
    };
    write_config(
        dir,
        &format!(
            "{role}[tor]\nretry_interval_secs = 5\ncheck_timeout_secs = 60\n\n[mail]\npoll_secs = 5\n"
        ),
    );
    let net = net_arg();
    let mut args = vec!["--transport", "arti", "--tor-network", net.as_str()];
    for b in boot {
        args.extend(["--bootstrap", b]);
    }
    NodeProc::start_with(dir, &args)
}

fn thread(n: &NodeProc, with: &str) -> Vec<Value> {
    warren_ok(&n.dir, &["messages", with, "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn held(x: &NodeProc, member: &str) -> Option<u64> {
    json(&x.dir, &["mailboxes", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == member)
        .map(|m| m["envelopes"].as_u64().unwrap())
}

/// The first file at or under `path` that holds `needle`.
fn any_file_holds(path: &Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    if !path.is_dir() {
        let bytes = std::fs::read(path).unwrap_or_default();
        return bytes
            .windows(needle.len())
            .any(|w| w == needle)
            .then(|| path.to_path_buf());
    }
    std::fs::read_dir(path)
        .unwrap()
        .find_map(|e| any_file_holds(&e.unwrap().path(), needle))
}

#[test]
fn offline_mail_through_two_boxes_read_in_the_panel_over_onion_services() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let mut x = node(&d("x"), true, &[]);
    let sx = wait_online(&x);
    let boot = sx["address"].as_str().unwrap().to_string();
    let y = node(&d("y"), true, &[&boot]);
    let a = node(&d("a"), false, &[&boot]);
    let mut b = node(&d("b"), false, &[&boot]);
    let (sy, sa, sb) = (wait_online(&y), wait_online(&a), wait_online(&b));
    let (ida, idb) = (sa["id"].as_str().unwrap(), sb["id"].as_str().unwrap());
    let (aaddr, baddr) = (
        sa["address"].as_str().unwrap(),
        sb["address"].as_str().unwrap(),
    );
    let yaddr = sy["address"].as_str().unwrap();
    for (m, addr) in [(&a, aaddr), (&b, baddr)] {
        for (bx, bxaddr) in [(&x, boot.as_str()), (&y, yaddr)] {
            warren_ok(&m.dir, &["trust", "add", bxaddr]);
            warren_ok(&bx.dir, &["trust", "add", addr]);
        }
    }
    // Arti's memory quota follows the memory profile, as arti reports it.
    for (n, mib) in [(&x, 64.0), (&a, 256.0)] {
        let line = n
            .log()
            .lines()
            .find(|l| l.contains("Memory quota"))
            .map(str::to_string);
        assert_eq!(
            line.as_deref().and_then(quota_mib),
            Some(mib),
            "arti reports {line:?}"
        );
    }
    wait_for(ONION_WAIT, "B's mailbox on both boxes", || {
        (held(&x, idb).is_some() && held(&y, idb).is_some()).then_some(())
    });
    b.stop();

    let words: Vec<String> = (1..=3).map(|i| format!("over Tor {i}")).collect();
    for w in &words {
        warren_ok(&a.dir, &["send", baddr, w]);
    }
    wait_for(ONION_WAIT, "both boxes store A's messages", || {
        let t = thread(&a, idb);
        t.iter()
            .all(|m| m["delivery"] == serde_json::json!({"stored": 2}))
            .then_some(())
    });
    assert_eq!((held(&x, idb), held(&y, idb)), (Some(3), Some(3)));
    for bx in [&x, &y] {
        let plain = any_file_holds(&bx.dir, b"over Tor");
        assert!(plain.is_none(), "plaintext in {plain:?}");
        let mail = bx.dir.join("mail.redb");
        for who in [ida, aaddr] {
            let sender = any_file_holds(&mail, who.as_bytes());
            assert!(sender.is_none(), "the sender {who} in {mail:?}");
        }
    }

    // One box down; B comes back and reads in its panel.
    x.stop();
    let b = node(&d("b"), false, &[yaddr]);
    let base = b.status()["panel_url"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();
        let c = browser(&driver, true).await;
        pair(&c, &base, &b.dir).await;
        let list = until(&c, &format!("{base}/messages"), "3 unread", 300).await;
        assert!(list.contains("over Tor 3"), "{list}");
        shot(&c, "onion-01-messages").await;
        c.goto(&format!("{base}/messages/c?with={ida}"))
            .await
            .unwrap();
        c.clone().enter_frame(Some(0)).await.unwrap();
        let shown = text(&c).await;
        let at: Vec<usize> = words
            .iter()
            .map(|w| {
                shown
                    .find(w.as_str())
                    .unwrap_or_else(|| panic!("{w} in {shown}"))
            })
            .collect();
        assert!(at.windows(2).all(|p| p[0] < p[1]), "out of order: {shown}");
        c.clone().enter_parent_frame().await.unwrap();
        shot(&c, "onion-02-thread").await;

        fill(&c, "textarea[name=text]", "read you over Tor").await;
        submit(&c, "form[action='/messages/send'] button").await;
        assert!(c.find(Locator::Css("iframe.thread")).await.is_ok());
        let thread_url = format!("{base}/messages/thread?with={ida}");
        until(&c, &thread_url, "delivered", 240).await;
        c.close().await.unwrap();
    });
    assert!(
        thread(&a, idb)
            .iter()
            .any(|m| m["text"] == "read you over Tor"),
        "A has B's answer"
    );
    wait_for(
        ONION_WAIT,
        "the box that served B deletes after its acknowledgement",
        || (held(&y, idb) == Some(0)).then_some(()),
    );
    wait_for(ONION_WAIT, "A sees them delivered", || {
        thread(&a, idb)
            .iter()
            .all(|m| m["delivery"] == "delivered")
            .then_some(())
    });

    // The stopped box returns: B's acknowledgement deletes its copies too.
    let x = node(&d("x"), true, &[yaddr]);
    wait_for(ONION_WAIT, "the returning box deletes too", || {
        (held(&x, idb) == Some(0)).then_some(())
    });
    assert_eq!(thread(&b, ida).len(), 4, "nothing shown twice");
}
