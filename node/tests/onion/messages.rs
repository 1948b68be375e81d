//! Messages on the private Tor network: a box and two members on arti.
//! B registers its mailbox with the box and stops; A writes to it (first
//! contact through the box's prekeys); B comes back and reads everything in
//! order; then, both online, another message arrives.

use std::path::Path;

use serde_json::Value;

use super::common::{NodeProc, json, wait_for, warren_ok, write_config};
use super::{ONION_WAIT, net_arg, wait_online};

fn node(dir: &Path, role_box: bool, boot: &[&str]) -> NodeProc {
    let role = if role_box {
        "[node]\nrole = \"box\"\n"
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

#[test]
fn members_write_through_a_box_and_directly_over_onion_services() {
    let tmp = tempfile::tempdir().unwrap();
    let x = node(&tmp.path().join("x"), true, &[]);
    let sx = wait_online(&x);
    let boot = sx["address"].as_str().unwrap().to_string();
    let a = node(&tmp.path().join("a"), false, &[&boot]);
    let mut b = node(&tmp.path().join("b"), false, &[&boot]);
    let (sa, sb) = (wait_online(&a), wait_online(&b));
    let (ida, idb) = (sa["id"].as_str().unwrap(), sb["id"].as_str().unwrap());
    let (aaddr, baddr) = (
        sa["address"].as_str().unwrap(),
        sb["address"].as_str().unwrap(),
    );
    for (m, addr) in [(&a, aaddr), (&b, baddr)] {
        warren_ok(&m.dir, &["trust", "add", &boot]);
        warren_ok(&x.dir, &["trust", "add", addr]);
    }
    wait_for(ONION_WAIT, "B's mailbox on the box", || {
        held(&x, idb).map(|_| ())
    });
    b.stop();

    let words: Vec<String> = (1..=3).map(|i| format!("over Tor {i}")).collect();
    for w in &words {
        warren_ok(&a.dir, &["send", baddr, w]);
    }
    wait_for(ONION_WAIT, "the box stores A's messages", || {
        let t = thread(&a, idb);
        t.iter()
            .all(|m| m["delivery"] == serde_json::json!({"stored": 1}))
            .then_some(())
    });
    assert_eq!(held(&x, idb), Some(3));

    let b = node(&tmp.path().join("b"), false, &[&boot]);
    let got = wait_for(ONION_WAIT, "B reads what the box held", || {
        let t = thread(&b, ida);
        (t.len() == 3).then_some(t)
    });
    let texts: Vec<&str> = got.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, words.iter().map(String::as_str).collect::<Vec<_>>());
    wait_for(
        ONION_WAIT,
        "the box deletes after B's acknowledgement",
        || (held(&x, idb) == Some(0)).then_some(()),
    );
    wait_for(ONION_WAIT, "A sees them delivered", || {
        thread(&a, idb)
            .iter()
            .all(|m| m["delivery"] == "delivered")
            .then_some(())
    });

    // Both online: A writes again and B has it.
    warren_ok(&a.dir, &["send", baddr, "directly"]);
    wait_for(ONION_WAIT, "the direct message", || {
        thread(&b, ida)
            .iter()
            .any(|m| m["text"] == "directly")
            .then_some(())
    });
    wait_for(ONION_WAIT, "delivered", || {
        thread(&a, idb)
            .iter()
            .all(|m| m["delivery"] == "delivered")
            .then_some(())
    });
}
