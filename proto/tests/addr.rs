//! Peer address text forms.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::record::IpAddress;
use warren_proto::{DEFAULT_ONION_PORT, Error, PeerAddr, TransportHint};

#[test]
fn every_form_round_trips() {
    let id = common::keypair(1).id();
    let forms = [
        (
            format!("{id}"),
            TransportHint::Onion {
                port: DEFAULT_ONION_PORT,
            },
        ),
        (format!("{id}:80"), TransportHint::Onion { port: 80 }),
        (
            format!("{id}@127.0.0.1:4000"),
            TransportHint::Tcp {
                ip: IpAddress::V4([127, 0, 0, 1]),
                port: 4000,
            },
        ),
        (
            format!("{id}@[::1]:4000"),
            TransportHint::Tcp {
                ip: IpAddress::V6(std::net::Ipv6Addr::LOCALHOST.octets()),
                port: 4000,
            },
        ),
        (
            format!("{id}@memory:12"),
            TransportHint::Memory { port: 12 },
        ),
    ];
    for (text, hint) in forms {
        let a: PeerAddr = text.parse().unwrap();
        assert_eq!(a, PeerAddr::new(id, hint));
        assert_eq!(a.to_string(), text);
    }
}

#[test]
fn bad_addresses_get_clear_errors() {
    let id = common::keypair(1).id();
    let long = "a".repeat(200);
    let cases: Vec<(String, Error)> = vec![
        (
            format!("{id}:0"),
            Error::PeerAddress("port must be 1..=65535"),
        ),
        (
            format!("{id}:99999"),
            Error::PeerAddress("port must be 1..=65535"),
        ),
        (
            format!("{id}@localhost:80"),
            Error::PeerAddress("location must be IP:PORT, [IPv6]:PORT or memory:N"),
        ),
        (
            format!("{id}@127.0.0.1:0"),
            Error::PeerAddress("port must be 1..=65535"),
        ),
        (
            format!("{id}@memory:x"),
            Error::PeerAddress("memory port must be a number"),
        ),
        (
            "127.0.0.1:4000".into(),
            Error::OnionAddress("expected 56 base32 characters"),
        ),
        (long, Error::PeerAddress("longer than 128 characters")),
    ];
    for (text, err) in cases {
        assert_eq!(text.parse::<PeerAddr>(), Err(err), "{text}");
    }
}
