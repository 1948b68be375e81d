//! Network namespaces for tests that need a network of their own (root
//! only): two namespaces joined by a veth pair.

use std::process::Command;

/// A namespace pair joined by veth; removed on drop.
pub struct Lan {
    pub boxed: String,
    pub other: String,
    /// The box's end and the other's end.
    pub ends: (String, String),
    pub subnet: String,
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lan {
    pub fn new() -> Lan {
        let id = std::process::id() % 10_000;
        let lan = Lan {
            boxed: format!("wbox{id}"),
            other: format!("wlan{id}"),
            ends: (format!("wvb{id}"), format!("wvl{id}")),
            subnet: format!("10.231.{}", id % 250),
        };
        ip(&["netns", "add", &lan.boxed]);
        ip(&["netns", "add", &lan.other]);
        ip(&[
            "link",
            "add",
            &lan.ends.0,
            "netns",
            &lan.boxed,
            "type",
            "veth",
            "peer",
            "name",
            &lan.ends.1,
            "netns",
            &lan.other,
        ]);
        for (ns, end, host) in [(&lan.boxed, &lan.ends.0, 1), (&lan.other, &lan.ends.1, 2)] {
            let addr = format!("{}.{host}/24", lan.subnet);
            ip(&["-n", ns, "addr", "add", &addr, "dev", end]);
            ip(&["-n", ns, "link", "set", end, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        lan
    }

    pub fn exec(&self, ns: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in [&self.boxed, &self.other] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
