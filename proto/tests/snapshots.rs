//! Exact encodings, pinned byte for byte.
//!
//! `vectors/v1.txt` holds one `name hex` line per message. Each test encodes
//! the message and compares with the committed bytes, then decodes the
//! committed bytes and compares with the message. A change to any encoding
//! fails here; if the change is intended it is a protocol change and needs a
//! new version and a line in SPEC.md's "Version changes".

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{NOW, keypair, record};
use warren_proto::frame::{Channel, Header, Priority};
use warren_proto::handshake::{Accept, Auth, HandshakeMsg, Hello, MAGIC, RejectReason};
use warren_proto::msg::{CloseReason, ControlMsg, PeerMsg};
use warren_proto::record::IpAddress;
use warren_proto::{NodeRecord, Role, Services, SignedNodeRecord, TransportHint};

const VECTORS: &str = include_str!("vectors/v1.txt");

fn vectors() -> BTreeMap<String, Vec<u8>> {
    common::vectors(VECTORS)
}

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

fn fixed_record() -> SignedNodeRecord {
    let kp = keypair(1);
    NodeRecord {
        id: kp.id(),
        role: Role::Box,
        services: Services::PEER_EXCHANGE.with(Services::SEED),
        hints: heapless::Vec::from_iter([
            TransportHint::Onion { port: 7447 },
            TransportHint::Tcp {
                ip: IpAddress::V4([127, 0, 0, 1]),
                port: 4000,
            },
            TransportHint::Memory { port: 3 },
        ]),
        issued_at: NOW,
        expires_at: NOW + 86_400,
        pow_nonce: 300,
    }
    .sign(&kp)
    .unwrap()
}

#[test]
fn frame_header() {
    let h = Header {
        len: 0x0102,
        channel: Channel::Peers,
        priority: Priority::Bulk,
    };
    let v = vectors();
    assert_eq!(hex::encode(h.encode()), hex::encode(&v["frame_header"]));
    assert_eq!(
        Header::decode(v["frame_header"].first_chunk().unwrap()).unwrap(),
        h
    );
}

#[test]
fn node_record() {
    check("node_record", &fixed_record().record);
    check("signed_node_record", &fixed_record());
}

#[test]
fn transport_hints() {
    check("hint_onion", &TransportHint::Onion { port: 7447 });
    check(
        "hint_tcp_v6",
        &TransportHint::Tcp {
            ip: IpAddress::V6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            port: 443,
        },
    );
    check("hint_memory", &TransportHint::Memory { port: 70000 });
}

#[test]
fn control_messages() {
    check("ping", &ControlMsg::Ping { nonce: 1 });
    check("pong", &ControlMsg::Pong { nonce: u64::MAX });
    check(
        "close_busy",
        &ControlMsg::Close {
            reason: CloseReason::Busy,
        },
    );
    check(
        "close_misbehaving",
        &ControlMsg::Close {
            reason: CloseReason::Misbehaving,
        },
    );
}

#[test]
fn peer_messages() {
    check("get_peers", &PeerMsg::GetPeers { max: 32 });
    let records = warren_proto::BoundedVec::truncating([fixed_record()]);
    check("peers_one", &PeerMsg::Peers { records });
    check(
        "peers_empty",
        &PeerMsg::Peers {
            records: warren_proto::BoundedVec::new(),
        },
    );
}

#[test]
fn handshake_messages() {
    check(
        "hello",
        &HandshakeMsg::Hello(Hello {
            magic: MAGIC,
            versions: heapless::Vec::from_iter([1]),
            nonce: [0xaa; 32],
        }),
    );
    let kp = keypair(1);
    check(
        "accept",
        &HandshakeMsg::Accept(Accept {
            version: 1,
            nonce: [0xbb; 32],
            record: fixed_record(),
            signature: kp.sign(b"t"),
        }),
    );
    check(
        "auth",
        &HandshakeMsg::Auth(Auth {
            record: fixed_record(),
            signature: kp.sign(b"u"),
        }),
    );
    check(
        "reject",
        &HandshakeMsg::Reject(RejectReason::UnsupportedVersion {
            supported: heapless::Vec::from_iter([1]),
        }),
    );
}

#[test]
fn fixtures_are_deterministic() {
    // Signatures are deterministic (RFC 8032), so vectors are reproducible.
    assert_eq!(record(&keypair(5)), record(&keypair(5)));
}
