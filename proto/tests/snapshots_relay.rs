//! Exact encodings of the relay service's messages (`warren/relay/1`,
//! SPEC.md §16), pinned byte for byte in `vectors/relay1.txt` (same rules
//! as `snapshots.rs`), and the nickname a claim derives.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::relay::{RelayClaim, RelayMsg, nickname};

const VECTORS: &str = include_str!("vectors/relay1.txt");

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

#[test]
fn relay_messages() {
    let node = common::keypair(1);
    let claim = RelayClaim {
        node: node.id(),
        fingerprint: [0xab; 20],
        secret: [0x11; 32],
        issued_at: 1_700_000_000,
        expires_at: 1_700_086_400,
    }
    .sign(&node)
    .unwrap();
    check("claim", &RelayMsg::Claim(claim));
    check("no_relay", &RelayMsg::NoRelay);
}

#[test]
fn the_nickname_is_pinned() {
    let node = common::keypair(1);
    let n = nickname(&node.id(), &[0x11; 32]);
    let line = VECTORS
        .lines()
        .find_map(|l| l.strip_prefix("# nickname "))
        .unwrap_or_else(|| panic!("no nickname line; it is:\n# nickname {n}"));
    assert_eq!(n, line);
}

#[test]
fn every_vector_is_checked() {
    common::every_vector_named(VECTORS, include_str!("snapshots_relay.rs"));
}
