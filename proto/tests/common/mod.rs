//! Fixtures shared by the proto tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use warren_proto::record::{IpAddress, MAX_HINTS};
use warren_proto::{
    Difficulty, Keypair, NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord, TransportHint,
};

/// Fixed clock for tests: 2026-11-21T00:00:00Z.
pub const NOW: u64 = 1_795_219_200;
/// Difficulty used by fixtures (cheap to mine).
pub const BITS: u8 = 8;

pub fn keypair(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

pub fn policy() -> RecordPolicy {
    RecordPolicy {
        difficulty: Difficulty::new(BITS).unwrap(),
        max_validity: 7 * 86_400,
        max_clock_skew: 600,
    }
}

pub fn mine(kp: &Keypair, bits: u8) -> u64 {
    warren_proto::pow::mine(&kp.id(), Difficulty::new(bits).unwrap(), 0, 1, u64::MAX).unwrap()
}

pub fn hints() -> heapless::Vec<TransportHint, MAX_HINTS> {
    heapless::Vec::from_iter([
        TransportHint::Onion { port: 7447 },
        TransportHint::Tcp {
            ip: IpAddress::V4([127, 0, 0, 1]),
            port: 4000,
        },
    ])
}

pub fn record_at(kp: &Keypair, issued_at: u64, validity: u64) -> SignedNodeRecord {
    NodeRecord {
        id: kp.id(),
        role: Role::Member,
        services: Services::PEER_EXCHANGE,
        hints: hints(),
        issued_at,
        expires_at: issued_at + validity,
        pow_nonce: mine(kp, BITS),
    }
    .sign(kp)
    .unwrap()
}

pub fn record(kp: &Keypair) -> SignedNodeRecord {
    record_at(kp, NOW - 60, 86_400)
}

/// The `name hex` lines of a vector file (`#` starts a comment line).
pub fn vectors(text: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l.split_once(' ').expect("name hex");
            (name.to_string(), hex::decode(hex.trim()).expect("hex"))
        })
        .collect()
}

/// Checks that `value` encodes to the vector `name` of `text` and that the
/// vector decodes to `value`.
pub fn check_vector<T>(text: &str, name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = warren_proto::encode(value);
    let v = vectors(text);
    let Some(expected) = v.get(name) else {
        panic!(
            "no vector named {name}; its bytes are:\n{name} {}",
            hex::encode(&bytes)
        );
    };
    assert_eq!(
        hex::encode(&bytes),
        hex::encode(expected),
        "encoding of {name} changed"
    );
    let decoded: T = warren_proto::decode_exact(expected).unwrap();
    assert_eq!(&decoded, value, "decoding of {name}");
}

/// Checks that every vector of `text` is named (in quotes) in `source`,
/// the test file that checks them.
pub fn every_vector_named(text: &str, source: &str) {
    for n in vectors(text).into_keys() {
        assert!(
            source.contains(&format!("\"{n}\"")),
            "vector {n} is not checked"
        );
    }
}
