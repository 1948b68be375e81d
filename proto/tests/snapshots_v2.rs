//! Exact encodings of the messages protocol version 2 added, pinned byte
//! for byte in `vectors/v2.txt` (same rules as `snapshots.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::keypair;
use warren_proto::content::{
    ContentId, FileEntry, Listing, Manifest, Meta, RelPath, SwarmId, Ticket, Token,
};
use warren_proto::files::{FileMsg, RejectReason};
use warren_proto::handshake::{HandshakeMsg, HelloV2, MAGIC, Purpose};
use warren_proto::tracker::{CatalogueEntry, SignedEntry, SyncItem, TrackerMsg};
use warren_proto::{BoundedBytes, BoundedString, BoundedVec};

const VECTORS: &str = include_str!("vectors/v2.txt");

fn vectors() -> BTreeMap<String, Vec<u8>> {
    common::vectors(VECTORS)
}

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

fn listing() -> Listing {
    Listing {
        name: BoundedString::new("photos").unwrap(),
        files: BoundedVec::truncating([
            FileEntry {
                path: RelPath::new("a.jpg").unwrap(),
                size: 3,
            },
            FileEntry {
                path: RelPath::new("b/c.jpg").unwrap(),
                size: 70000,
            },
        ]),
        description: Some(BoundedString::new("trip").unwrap()),
        tags: BoundedVec::truncating([BoundedString::new("2026").unwrap()]),
        created_at: 1_795_219_200,
    }
}

fn manifest() -> Manifest {
    Manifest {
        piece_size: 16384,
        total_size: 70003,
        pieces_root: [0x11; 32],
        meta: Meta::Plain(listing()),
    }
}

#[test]
fn content() {
    check("manifest_plain", &manifest());
    check(
        "manifest_sealed",
        &Manifest {
            piece_size: 65536,
            total_size: 5,
            pieces_root: [0x22; 32],
            meta: Meta::Sealed(BoundedBytes::new(vec![0xee; 8]).unwrap()),
        },
    );
    check("token", &Token([0x33; 16]));
    let id = manifest().id();
    let v = vectors();
    assert_eq!(
        hex::encode(id.0),
        hex::encode(&v["manifest_plain_id"]),
        "content id of manifest_plain"
    );
    let t = Ticket::sign(&keypair(1), Token([0x33; 16]).swarm(), id);
    check("ticket", &t);
}

#[test]
fn hello_v2() {
    check(
        "hello_v2_transfer",
        &HandshakeMsg::HelloV2(HelloV2 {
            magic: MAGIC,
            versions: heapless::Vec::from_iter([1, 2]),
            nonce: [0xaa; 32],
            purpose: Purpose::Transfer,
        }),
    );
}

#[test]
fn files() {
    check(
        "files_open",
        &FileMsg::Open {
            swarm: SwarmId([0x44; 32]),
        },
    );
    check(
        "files_opened",
        &FileMsg::Opened {
            content: ContentId([0x55; 32]),
            manifest_len: 300,
            ticket: None,
        },
    );
    check("files_unknown", &FileMsg::Unknown);
    check(
        "files_get_manifest",
        &FileMsg::GetManifest { offset: 32768 },
    );
    check(
        "files_manifest_chunk",
        &FileMsg::ManifestChunk {
            offset: 0,
            data: BoundedBytes::new(vec![1, 2, 3]).unwrap(),
        },
    );
    check(
        "files_get_hashes",
        &FileMsg::GetHashes {
            first: 1024,
            count: 1024,
        },
    );
    check(
        "files_hashes",
        &FileMsg::Hashes {
            first: 0,
            hashes: BoundedVec::truncating([[0x66; 32]]),
        },
    );
    check(
        "files_bitfield",
        &FileMsg::Bitfield {
            first: 0,
            bits: BoundedBytes::new(vec![0b1010_0000]).unwrap(),
        },
    );
    check("files_have", &FileMsg::Have { piece: 7 });
    check(
        "files_request",
        &FileMsg::Request {
            piece: 3,
            offset: 16384,
            len: 16384,
        },
    );
    check(
        "files_block",
        &FileMsg::Block {
            piece: 3,
            offset: 0,
            data: BoundedBytes::new(vec![9; 4]).unwrap(),
        },
    );
    check(
        "files_cancel",
        &FileMsg::Cancel {
            piece: 3,
            offset: 0,
        },
    );
    check(
        "files_reject",
        &FileMsg::Reject {
            piece: 3,
            offset: 0,
            reason: RejectReason::Busy,
        },
    );
}

#[test]
fn tracker() {
    let kp = keypair(1);
    let entry = SignedEntry::sign(
        CatalogueEntry {
            content: ContentId([0x77; 32]),
            name: BoundedString::new("photos").unwrap(),
            size: 70003,
            files: 2,
            description: None,
            tags: BoundedVec::new(),
            publisher: kp.id(),
            published_at: 1_795_219_200,
        },
        &kp,
    )
    .unwrap();
    check(
        "tracker_announce",
        &TrackerMsg::Announce {
            swarms: BoundedVec::truncating([SwarmId([0x44; 32])]),
        },
    );
    check(
        "tracker_who_has",
        &TrackerMsg::WhoHas {
            swarm: SwarmId([0x44; 32]),
        },
    );
    check(
        "tracker_providers_empty",
        &TrackerMsg::Providers {
            swarm: SwarmId([0x44; 32]),
            providers: BoundedVec::new(),
        },
    );
    check(
        "tracker_publish",
        &TrackerMsg::Publish {
            entry: entry.clone(),
        },
    );
    check("tracker_sync_get", &TrackerMsg::SyncGet { since: 42 });
    check(
        "tracker_sync_page",
        &TrackerMsg::SyncPage {
            items: BoundedVec::truncating([
                SyncItem::Entry(entry),
                SyncItem::Provider {
                    swarm: SwarmId([0x44; 32]),
                    node: kp.id(),
                    seen_at: 5,
                },
            ]),
            next: 43,
            more: false,
        },
    );
    check(
        "tracker_mirror",
        &TrackerMsg::Mirror {
            swarm: SwarmId([0x44; 32]),
            size: 1 << 30,
        },
    );
}
