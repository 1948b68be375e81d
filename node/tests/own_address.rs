//! Shares with an address of their own, between real processes on
//! loopback TCP: the link names another identity than the node's, the
//! node's own address does not serve the share, and the address survives
//! a restart and ends with the share.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;

use common::data::{curl, random_file, same_tree};
use common::{NodeProc, json, warren, warren_ok, write_config};
use warren_proto::link::{Link, Target};

fn node(dir: &Path, boot: &[&str]) -> NodeProc {
    write_config(dir, "");
    NodeProc::start(dir, boot)
}

fn get(dir: &Path, link: &str, out: &Path) -> std::process::Output {
    std::fs::create_dir_all(out).unwrap();
    warren(
        dir,
        &["get", link, "--out", out.to_str().unwrap(), "--json"],
    )
}

#[test]
fn a_share_with_its_own_address_is_served_there_and_only_there() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("diary.bin");
    random_file(&src, 1_500_000, 51);
    let mut p = node(&tmp.path().join("p"), &[]);
    let p_status = p.status();
    let p_id = p_status["id"].as_str().unwrap().to_string();
    let p_gateway = p_status["gateway_url"].as_str().unwrap().to_string();

    let shared = json(
        &p.dir,
        &["share", src.to_str().unwrap(), "--own-address", "--json"],
    );
    assert_eq!(shared["own_address"], true);
    let link: Link = shared["link"].as_str().unwrap().parse().unwrap();
    assert_ne!(
        link.at.id.to_string(),
        p_id,
        "the link must not name the node"
    );
    let url = shared["url"].as_str().unwrap().to_string();
    assert!(
        !url.starts_with(&p_gateway),
        "{url} is on the node's gateway"
    );
    let Target::Private { token, .. } = &link.target else {
        panic!("not a private link");
    };

    // Another node fetches it from the share's address.
    let d = node(&tmp.path().join("d"), &[&p.address()]);
    let o = get(&d.dir, &link.to_string(), &tmp.path().join("out1"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_tree(&src, &tmp.path().join("out1/diary.bin"));
    let (code, _, _) = curl(&[], &url);
    assert_eq!(code, 200);

    // The node's own address knows nothing of it: neither its gateway nor
    // its transfer service, even to someone holding the token.
    let (code, _, _) = curl(&[], &format!("{p_gateway}/s/{}", token.to_base32()));
    assert_eq!(code, 404);
    let via_node = Link {
        at: p.address().parse().unwrap(),
        target: link.target.clone(),
    };
    let e = node(&tmp.path().join("e"), &[&p.address()]);
    let o = get(&e.dir, &via_node.to_string(), &tmp.path().join("out2"));
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nobody serves this link"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The address is the share's for good: the same after a restart.
    assert!(p.stop().success());
    p = NodeProc::start(&p.dir.clone(), &[]);
    let again = &json(&p.dir, &["shares", "--json"])[0];
    let link2: Link = again["link"].as_str().unwrap().parse().unwrap();
    assert_eq!(link2.at.id, link.at.id);
    let o = get(&e.dir, &link2.to_string(), &tmp.path().join("out3"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_tree(&src, &tmp.path().join("out3/diary.bin"));

    // Unshared, the address goes away with it.
    let url2 = again["url"].as_str().unwrap().to_string();
    warren_ok(&p.dir, &["unshare", again["link"].as_str().unwrap()]);
    let (code, _, _) = curl(&["--max-time", "5"], &url2);
    assert_eq!(code, 0, "the share's gateway still answers");
    drop(p);
}
