//! Exact encodings of the messages protocol version 4 added, pinned byte
//! for byte in `vectors/v4.txt` (same rules as `snapshots.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::handshake::{HandshakeMsg, HelloV2, MAGIC, Purpose};
use warren_proto::service::ServiceName;

const VECTORS: &str = include_str!("vectors/v4.txt");

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

#[test]
fn service_connections() {
    let chat = ServiceName::new("warren/chat/1").unwrap();
    check("service_name", &chat);
    check(
        "hello_v2_service",
        &HandshakeMsg::HelloV2(HelloV2 {
            magic: MAGIC,
            versions: heapless::Vec::from_iter([1, 2, 3, 4]),
            nonce: [0xaa; 32],
            purpose: Purpose::Service(chat),
        }),
    );
}

#[test]
fn every_vector_is_checked() {
    common::every_vector_named(VECTORS, include_str!("snapshots_v4.rs"));
}
