//! The box on a local network: two network namespaces joined by a veth
//! pair, the box in one, a phone or laptop in the other. In pairing mode
//! the boot partition's file names the box's address on that network (and
//! never `0.0.0.0`) and its `warren-xxxx.local` name; the other side
//! resolves that name with multicast DNS and opens the pairing page; an
//! address the box gets later is named too. Needs root (namespaces, veth);
//! says so and passes as skipped otherwise.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;

use std::time::Duration;

use common::netns::{Lan, ip};
use common::{NodeProc, wait_for, warren_ok, write_config};

/// Asks for NAME's IPv4 address with multicast DNS (RFC 6762) from the
/// address FROM, as a phone's resolver would; the answer's address.
const MDNS_QUERY: &str = r#"
import socket, struct, sys
name, source = sys.argv[1], sys.argv[2]
def qname(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.rstrip(".").split(".")) + b"\0"
query = struct.pack(">6H", 0, 0, 1, 0, 0, 0) + qname(name) + struct.pack(">2H", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton(source))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
s.settimeout(1)
def read_name(data, i):
    labels = []
    while True:
        n = data[i]
        if n & 0xC0 == 0xC0:
            labels += read_name(data, ((n & 0x3F) << 8) | data[i + 1])[0]
            return labels, i + 2
        i += 1
        if n == 0:
            return labels, i
        labels.append(data[i:i + n].decode(errors="replace").lower())
        i += n
want = name.rstrip(".").lower().split(".")
for _ in range(20):
    s.sendto(query, ("224.0.0.251", 5353))
    try:
        while True:
            data, _ = s.recvfrom(9000)
            flags, qd, an, ns, ar = struct.unpack(">5H", data[2:12])
            if not flags & 0x8000:
                continue
            i = 12
            for _ in range(qd):
                i = read_name(data, i)[1] + 4
            for _ in range(an + ns + ar):
                labels, i = read_name(data, i)
                rtype, _, _, length = struct.unpack(">HHIH", data[i:i + 10])
                i += 10
                if rtype == 1 and labels == want:
                    print(socket.inet_ntoa(data[i:i + 4]))
                    sys.exit(0)
                i += length
    except socket.timeout:
        pass
sys.exit("no answer for " + name)
"#;

fn board(dir: &Path) -> serde_json::Value {
    common::json(dir, &["status", "--json"])["board"].clone()
}

#[test]
fn a_box_on_a_network_names_its_address_and_its_local_name() {
    if nix::unistd::getuid().as_raw() != 0 {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (dir, boot) = (tmp.path().join("box"), tmp.path().join("boot"));
    std::fs::create_dir_all(&boot).unwrap();
    write_config(
        &dir,
        &format!(
            "[node]\nrole = \"box\"\n\n[board]\nkind = \"sim\"\npairing_until_paired = true\n\
             pairing_listen = \"0.0.0.0:0\"\nboot_partition = \"{}\"\n",
            boot.display()
        ),
    );
    let lan = Lan::new();
    let _node = NodeProc::start_in(
        &dir,
        &["ip", "netns", "exec", &lan.boxed],
        &["--transport", "tcp", "--listen", "127.0.0.1:0"],
    );
    let box_ip = format!("{}.1", lan.subnet);
    // Pairing mode at the first start: the name and the address.
    let urls = wait_for(Duration::from_secs(30), "pairing URLs", || {
        let urls: Vec<String> = board(&dir)["pairing_urls"]
            .as_array()?
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        (urls.len() == 2).then_some(urls)
    });
    let name = urls[0]
        .strip_prefix("http://")
        .and_then(|u| u.split(':').next())
        .unwrap()
        .to_string();
    assert!(
        name.starts_with("warren-") && name.ends_with(".local"),
        "{urls:?}"
    );
    let port = urls[1]
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/pair");
    assert_eq!(urls[1], format!("http://{box_ip}:{port}/pair"));
    let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).unwrap();
    assert!(file.contains(&urls[0]) && file.contains(&urls[1]), "{file}");
    assert!(!file.contains("0.0.0.0"), "{file}");
    let text = warren_ok(&dir, &["status"]);
    assert!(
        text.contains("pairing    open for 10 more minutes"),
        "{text}"
    );

    // From the other side of the network: the name resolves, the page opens.
    let other_ip = format!("{}.2", lan.subnet);
    let out = lan.exec(&lan.other, &["python3", "-c", MDNS_QUERY, &name, &other_ip]);
    assert!(
        out.status.success(),
        "mDNS: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), box_ip);
    let page = lan.exec(
        &lan.other,
        &[
            "curl",
            "-s",
            "-m",
            "10",
            &format!("http://{box_ip}:{port}/pair"),
        ],
    );
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains("Pair with your node"), "{page}");
    assert!(page.contains("Pairing mode is open for"), "{page}");
    assert!(page.contains(&name), "{page}");

    // An address the box gets later is named within seconds.
    let later = format!("{}.9", lan.subnet);
    ip(&[
        "-n",
        &lan.boxed,
        "addr",
        "add",
        &format!("{later}/24"),
        "dev",
        &lan.ends.0,
    ]);
    wait_for(Duration::from_secs(20), "the new address", || {
        let file = std::fs::read_to_string(boot.join("warren-pairing.txt")).ok()?;
        file.contains(&format!("http://{later}:{port}/pair"))
            .then_some(())
    });
}
