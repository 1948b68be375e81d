//! The relay's ORPort on a home router: the box in one network namespace
//! with its own tor (network disabled: nothing leaves), a router running
//! miniupnpd (UPnP-IGD on nftables) in another. Turning the relay on maps
//! the ORPort on the router; turning it off removes the mapping. Needs root
//! (namespaces) and says so and passes as skipped otherwise; needs
//! `miniupnpd` and `nft` (`tools/deps.sh` installs them).

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::netns::{Lan, ip};
use common::{NodeProc, json, wait_for, write_config};

/// The chains miniupnpd fills (its `upnp_*` options name them).
const RULESET: &str = "table inet miniupnpd {
    chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
    chain miniupnpd { }
    chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
    chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
    chain prerouting_miniupnpd { }
    chain postrouting_miniupnpd { }
}
";

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_ns(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).args(args);
    c
}

/// The router's port forwards, as nftables lists them.
fn forwards(router: &str) -> String {
    let out = in_ns(
        router,
        &[
            "nft",
            "list",
            "chain",
            "inet",
            "miniupnpd",
            "prerouting_miniupnpd",
        ],
    )
    .output()
    .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_relay_opens_its_port_on_the_router_and_closes_it_when_off() {
    if nix::unistd::getuid().as_raw() != 0 {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    for tool in ["miniupnpd", "nft", "tor"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool} >/dev/null")])
            .status()
            .unwrap()
            .success();
        assert!(found, "{tool} is missing: run tools/deps.sh");
    }
    let tmp = tempfile::tempdir().unwrap();
    let lan = Lan::new();
    let (boxed, router) = (lan.boxed.clone(), lan.other.clone());
    let box_ip = format!("{}.1", lan.subnet);
    let router_ip = format!("{}.2", lan.subnet);
    ip(&["-n", &boxed, "route", "add", "default", "via", &router_ip]);
    // The router's outside: a veth pair of its own.
    let id = std::process::id() % 10_000;
    let (ext, wan) = (format!("wext{id}"), format!("wwan{id}"));
    ip(&[
        "-n", &router, "link", "add", &ext, "type", "veth", "peer", "name", &wan,
    ]);
    ip(&["-n", &router, "addr", "add", "10.233.0.1/24", "dev", &ext]);
    ip(&["-n", &router, "link", "set", &ext, "up"]);
    ip(&["-n", &router, "link", "set", &wan, "up"]);
    let mut nft = in_ns(&router, &["nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    nft.stdin
        .take()
        .unwrap()
        .write_all(RULESET.as_bytes())
        .unwrap();
    assert!(nft.wait().unwrap().success());
    // miniupnpd refuses a private external address; this one is declared
    // only, inside the namespace: nothing is ever sent to it.
    let conf = tmp.path().join("miniupnpd.conf");
    std::fs::write(
        &conf,
        format!(
            "ext_ifname={ext}\nlistening_ip={}\nport=0\nenable_natpmp=no\nenable_upnp=yes\n\
             secure_mode=yes\nsystem_uptime=yes\nuuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n\
             ext_ip=11.22.33.44\nupnp_table_name=miniupnpd\nupnp_nat_table_name=miniupnpd\n\
             upnp_forward_chain=miniupnpd\nupnp_nat_chain=prerouting_miniupnpd\n\
             upnp_nat_postrouting_chain=postrouting_miniupnpd\n\
             allow 1024-65535 {}.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n",
            lan.ends.1, lan.subnet
        ),
    )
    .unwrap();
    let pid = tmp.path().join("miniupnpd.pid");
    let _igd = Killed(
        in_ns(&router, &["miniupnpd", "-d", "-f"])
            .arg(&conf)
            .arg("-P")
            .arg(&pid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The box's tor, its network off: it takes the relay settings, sends
    // nothing.
    let tor_dir = tmp.path().join("tor");
    std::fs::create_dir_all(&tor_dir).unwrap();
    let cookie = tor_dir.join("control_auth_cookie");
    std::fs::write(
        tor_dir.join("torrc"),
        format!(
            "DataDirectory {d}\nDisableNetwork 1\nSocksPort 0\nControlPort 127.0.0.1:9051\n\
             CookieAuthentication 1\nCookieAuthFile {c}\nLog notice file {d}/notice.log\n",
            d = tor_dir.display(),
            c = cookie.display()
        ),
    )
    .unwrap();
    let _tor = Killed(
        in_ns(&boxed, &["tor", "-f"])
            .arg(tor_dir.join("torrc"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(30), "tor's control cookie", || {
        cookie.exists().then_some(())
    });

    let dir = tmp.path().join("box");
    write_config(
        &dir,
        &format!(
            "[node]\nrole = \"box\"\ntransport = \"ctor\"\n\n[tor]\ncontrol_port = \"127.0.0.1:9051\"\n\
             control_cookie = \"{}\"\n\n[relay]\nor_port = \"9001\"\n",
            cookie.display()
        ),
    );
    let node = NodeProc::start_in(&dir, &["ip", "netns", "exec", &boxed], &[]);
    assert!(!forwards(&router).contains("dnat"), "no forward before");

    let on = json(&dir, &["relay", "on", "--json"]);
    assert_eq!(on["enabled"], true, "{on}");
    let note = wait_for(
        Duration::from_secs(60),
        "the router to forward the ORPort",
        || {
            let r = json(&dir, &["relay", "status", "--json"]);
            let u = r["upnp"].as_str().unwrap_or_default().to_string();
            u.contains("forwards TCP port 9001").then_some(u)
        },
    );
    assert!(note.contains(&format!("{box_ip}:9001")), "{note}");
    assert!(note.contains(&router_ip), "{note}");
    let rules = forwards(&router);
    eprintln!("relay on: {note}\nthe router's forwards:\n{rules}");
    assert!(
        rules.contains("dnat") && rules.contains(&box_ip) && rules.contains("9001"),
        "the router's forwards: {rules}"
    );

    let off = json(&dir, &["relay", "off", "--json"]);
    assert_eq!(off["enabled"], false);
    assert!(
        off["upnp"].as_str().unwrap().contains("no longer forwards"),
        "{off}"
    );
    assert!(!forwards(&router).contains("dnat"), "{}", forwards(&router));
    drop(node);
}
