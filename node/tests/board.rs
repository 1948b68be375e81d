//! A `warren` process on the simulated board: the LED through startup, the
//! button's pairing mode (the code works from the local listener, pairing
//! again replaces the passphrase, the window closes by itself) and the
//! factory reset (only when confirmed).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::web::{Login, request};
use common::{NodeProc, json, wait_for, warren_ok, write_config};
use serde_json::Value;

const PASS: &str = "a long enough passphrase";
const NEW_PASS: &str = "another long passphrase";

fn start(dir: &Path, boot: &Path) -> NodeProc {
    start_with(dir, boot, "")
}

/// A pairing window long enough for a pairing (an argon2id hash, 19 MiB)
/// on a loaded 2-core machine, short enough to watch it close.
fn start_with(dir: &Path, boot: &Path, extra: &str) -> NodeProc {
    std::fs::create_dir_all(boot).unwrap();
    write_config(
        dir,
        &format!(
            "[board]\nkind = \"sim\"\npairing_secs = 10\npairing_listen = \"127.0.0.1:0\"\n\
             boot_partition = \"{}\"\nlong_press_ms = 800\nreset_confirm_ms = 1500\n{extra}",
            boot.display()
        ),
    );
    NodeProc::start(dir, &[])
}

fn board(node: &NodeProc) -> Value {
    node.status()["board"].clone()
}

fn led_is(node: &NodeProc, led: &str) -> Value {
    wait_for(Duration::from_secs(20), led, || {
        let b = board(node);
        (b["led"] == led).then_some(b)
    })
}

use common::pairing_code as code;

/// The pairing window's local address, without `/pair`.
fn lan_base(board: &Value) -> String {
    board["pairing_url"]
        .as_str()
        .unwrap()
        .trim_end_matches("/pair")
        .to_string()
}

#[test]
fn the_button_opens_pairing_on_the_local_network_for_a_while() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, boot) = (tmp.path().join("n"), tmp.path().join("boot"));
    let node = start(&dir, &boot);
    let first = board(&node);
    assert_eq!(first["kind"], "sim");
    assert!(
        first["led"] == "starting" || first["led"] == "online",
        "{first}"
    );
    let b = led_is(&node, "online");
    assert_eq!(b["watchdog"], "fed");
    assert_eq!(b["temperature_c"], 45.0);
    let base = node.status()["panel_url"].as_str().unwrap().to_string();
    let owner = Login::pair(&base, &code(&dir), PASS);
    assert!(!dir.join("pairing-code.txt").exists());
    // Once paired, the boot partition's file holds how to reach the panel
    // (address and key) but no code.
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(
        file.contains("Tor Browser") && !file.contains("pairing code"),
        "{file}"
    );

    // A short press: pairing mode, a fresh code, the panel on the local
    // listener, the boot partition's file.
    let out = warren_ok(&dir, &["board", "press", "short"]);
    assert!(out.contains("LED pairing"), "{out}");
    let b = board(&node);
    let lan = lan_base(&b);
    assert_ne!(lan, base);
    let fresh = code(&dir);
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(file.contains(&fresh) && file.contains(&lan), "{file}");
    assert!(file.contains(":descriptor:x25519:"), "{file}");
    // What a person reads: how long, not a unix time; never 0.0.0.0.
    assert!(
        file.contains("Pairing mode is open for 1 more minute"),
        "{file}"
    );
    assert!(
        !file.contains("unix") && !file.contains("0.0.0.0"),
        "{file}"
    );
    let text = warren_ok(&dir, &["status"]);
    assert!(
        text.contains("board      simulated board: LED pairing"),
        "{text}"
    );
    assert!(
        text.contains("pairing    open for 1 more minute, at http://127.0.0.1:"),
        "{text}"
    );
    // Pairing again from the local network sets a new passphrase and ends
    // the old login.
    let again = Login::pair(&lan, &fresh, NEW_PASS);
    assert_eq!(again.get("/dashboard").status, 200);
    let old = owner.get("/dashboard");
    assert_eq!((old.status, old.header("location")), (303, "/login"));
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(!file.contains(&fresh), "the used code leaves the file");

    // The window closes by itself: the local listener goes, the LED returns.
    led_is(&node, "online");
    wait_for(Duration::from_secs(5), "the local listener closed", || {
        std::net::TcpStream::connect(lan.trim_start_matches("http://"))
            .is_err()
            .then_some(())
    });
    assert!(board(&node)["pairing_url"].is_null());

    // A window that ends unused retires its code.
    warren_ok(&dir, &["board", "press", "short"]);
    let unused = code(&dir);
    led_is(&node, "online");
    assert!(!dir.join("pairing-code.txt").exists());
    let page = request(&base, "GET", "/pair", &[], &[], None);
    assert_eq!((page.status, page.header("location")), (303, "/login"));
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(!file.contains(&unused), "{file}");
    // The new passphrase is the one that logs in.
    let login = common::web::form(&[("csrf", "t"), ("passphrase", PASS)]);
    let r = request(
        &base,
        "POST",
        "/login",
        &[("warren_form", "t")],
        &[],
        Some(("application/x-www-form-urlencoded", &login)),
    );
    assert_eq!(r.status, 401, "the old passphrase no longer works");
}

#[test]
fn a_new_box_starts_in_pairing_mode_until_its_owner_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, boot) = (tmp.path().join("n"), tmp.path().join("boot"));
    let extra = "pairing_until_paired = true\n";
    let mut node = start_with(&dir, &boot, extra);
    let b = led_is(&node, "pairing");
    let lan = lan_base(&b);
    let first = code(&dir);
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(file.contains(&first) && file.contains(&lan), "{file}");
    // Unpaired when the window ends: the next start opens it again.
    node.stop();
    let mut node = start_with(&dir, &boot, extra);
    let b = led_is(&node, "pairing");
    let lan = lan_base(&b);
    assert_eq!(code(&dir), first, "the first-run code survives a restart");
    let owner = Login::pair(&lan, &first, PASS);
    assert_eq!(owner.get("/dashboard").status, 200);
    // Paired: a start is an ordinary one.
    node.stop();
    let node = start_with(&dir, &boot, extra);
    let b = led_is(&node, "online");
    assert!(b["pairing_url"].is_null(), "{b}");
    assert!(!dir.join("pairing-code.txt").exists());
}

#[test]
fn a_long_press_wipes_the_box_only_when_confirmed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, boot) = (tmp.path().join("n"), tmp.path().join("boot"));
    let node = start(&dir, &boot);
    led_is(&node, "online");
    let id = node.status()["id"].as_str().unwrap().to_string();
    let first_code = code(&dir);
    std::fs::write(boot.join("warren-pairing.txt"), "old").unwrap();

    // One long press: asked, not confirmed, lapses.
    warren_ok(&dir, &["board", "press", "long"]);
    let b = board(&node);
    assert_eq!(
        (b["led"].as_str(), b["reset"].as_str()),
        (Some("reset"), Some("armed"))
    );
    led_is(&node, "online");
    assert_eq!(board(&node)["reset"], "idle");
    assert_eq!(node.status()["id"], id.as_str());

    // Confirmed: the node stops, the data folder is wiped (the config
    // stays), and it starts again as a new node with a new pairing code.
    warren_ok(&dir, &["board", "press", "long"]);
    warren_ok(&dir, &["board", "press", "long"]);
    assert_eq!(board(&node)["reset"], "wiping");
    let fresh = wait_for(Duration::from_secs(30), "a new identity", || {
        let s = common::try_status(&dir)?;
        (s["id"].as_str()? != id).then_some(s)
    });
    assert_eq!(fresh["board"]["reset"], "idle");
    assert_ne!(code(&dir), first_code);
    assert!(
        std::fs::read_to_string(dir.join("warren.toml"))
            .unwrap()
            .contains("pairing_secs")
    );
    assert!(!boot.join("warren-pairing.txt").exists());
    let peers = json(&dir, &["trust", "list", "--json"]);
    assert_eq!(peers, serde_json::json!([]));
    led_is(&node, "online");
}

#[test]
fn a_board_that_cannot_be_opened_leaves_the_node_running_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    write_config(
        &dir,
        "[board]\nkind = \"pi\"\ngpio_chip = \"/dev/no-such-gpiochip\"\n",
    );
    let mut node = NodeProc::start(&dir, &[]);
    let s = node.status();
    assert!(s["board"].is_null(), "{s}");
    assert!(node.alive());
    assert!(
        node.log().contains("board support is off"),
        "{}",
        node.log()
    );
    let out = common::warren(&dir, &["board", "press", "short"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("drives no board"),
        "{out:?}"
    );
}
