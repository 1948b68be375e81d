//! The box on its local network while pairing mode is open: the addresses a
//! person can type, and a `.local` name announced with multicast DNS
//! (RFC 6762), as Raspberry Pi OS's `raspberrypi.local` is.
//!
//! The name is `warren-xxxx` — four base32 letters of a hash of the admin
//! onion's key, so two boxes on one network do not collide and the name
//! says nothing about the node's own address. It is announced only while
//! the pairing window is open, and only on the local link (mDNS does not
//! cross routers).

use std::net::{IpAddr, SocketAddr};

use sha2::{Digest, Sha256};

/// The mDNS service type the pairing page is announced as (RFC 6763).
const SERVICE: &str = "_http._tcp.local.";

/// Every address of this machine that a device on its network could use:
/// not loopback, not unspecified, not IPv6 link-local (a browser cannot
/// open those without a zone). IPv4 first, each once.
pub(crate) fn addresses() -> Vec<IpAddr> {
    let Ok(ifs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out: Vec<IpAddr> = ifs
        .filter_map(|i| {
            let a = i.address?;
            let ip: IpAddr = match (a.as_sockaddr_in(), a.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (_, Some(v6)) => IpAddr::V6(v6.ip()),
                _ => return None,
            };
            usable(&ip).then_some(ip)
        })
        .collect();
    out.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    out.dedup();
    out
}

fn usable(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        // fe80::/10
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// Where a person opens the pairing page: `http://NAME.local:PORT/pair`
/// (when announced), then one URL per address. A listener bound to one
/// address gives that address only; one bound to every address gives each
/// of `addrs`.
pub(crate) fn pairing_urls(bound: SocketAddr, name: Option<&str>, addrs: &[IpAddr]) -> Vec<String> {
    let port = bound.port();
    let url = |host: String| format!("http://{host}:{port}/pair");
    let mut out: Vec<String> = name
        .map(|n| url(format!("{n}.local")))
        .into_iter()
        .collect();
    let ips: Vec<IpAddr> = if bound.ip().is_unspecified() {
        addrs.to_vec()
    } else {
        vec![bound.ip()]
    };
    for ip in ips {
        out.push(url(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        }));
    }
    out
}

/// The box's `.local` name (without `.local`): `warren-` and four base32
/// letters of SHA-256 over `seed` (the admin onion's key).
pub(crate) fn box_name(seed: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"warren/mdns-name\0");
    h.update(seed);
    let digest = h.finalize();
    let letters = data_encoding::BASE32_NOPAD
        .encode(&digest[..3])
        .to_lowercase();
    format!("warren-{}", &letters[..4])
}

/// The `.local` name and the pairing page, announced while it lives.
pub(crate) struct Announcer {
    daemon: mdns_sd::ServiceDaemon,
    fullname: String,
}

impl Announcer {
    /// Announces `name.local` with this machine's addresses (kept up to
    /// date as they change) and the pairing page on `port`.
    pub(crate) fn start(name: &str, port: u16) -> Result<Announcer, mdns_sd::Error> {
        let daemon = mdns_sd::ServiceDaemon::new()?;
        // Nothing on this machine needs to find it.
        daemon.disable_interface(vec![
            mdns_sd::IfKind::LoopbackV4,
            mdns_sd::IfKind::LoopbackV6,
        ])?;
        let info = mdns_sd::ServiceInfo::new(
            SERVICE,
            &format!("Warren box {name}"),
            &format!("{name}.local."),
            "",
            port,
            [("path", "/pair")].as_slice(),
        )?
        .enable_addr_auto();
        let fullname = info.get_fullname().to_string();
        daemon.register(info)?;
        Ok(Announcer { daemon, fullname })
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        // Goodbye packets, then the daemon's thread ends.
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_stable_and_differ_between_boxes() {
        let a = box_name(&[1; 32]);
        assert_eq!(a, box_name(&[1; 32]));
        assert_ne!(a, box_name(&[2; 32]));
        assert!(a.starts_with("warren-") && a.len() == 11, "{a}");
        assert!(
            a[7..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn urls_name_every_address_and_never_the_unspecified_one() {
        let any: SocketAddr = "0.0.0.0:7451".parse().unwrap();
        let addrs: Vec<IpAddr> = ["192.168.1.20", "fd00::5"]
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        assert_eq!(
            pairing_urls(any, Some("warren-abcd"), &addrs),
            vec![
                "http://warren-abcd.local:7451/pair",
                "http://192.168.1.20:7451/pair",
                "http://[fd00::5]:7451/pair",
            ]
        );
        let one: SocketAddr = "10.0.0.2:80".parse().unwrap();
        assert_eq!(
            pairing_urls(one, None, &addrs),
            vec!["http://10.0.0.2:80/pair"]
        );
        assert!(pairing_urls(any, None, &[]).is_empty());
        assert!(!usable(&"fe80::1".parse().unwrap()));
        assert!(!usable(&"127.0.0.1".parse().unwrap()));
    }
}
