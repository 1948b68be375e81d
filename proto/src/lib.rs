#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bytes;
mod codec;
mod error;
mod identity;

pub mod addr;
pub mod chat;
pub mod content;
pub mod files;
pub mod frame;
pub mod handshake;
pub mod link;
pub mod mail;
pub mod msg;
pub mod pow;
pub mod record;
pub mod relay;
pub mod seal;
pub mod service;
pub mod tracker;
pub mod version;

pub use addr::{DEFAULT_ONION_PORT, PeerAddr};
pub use bytes::{BoundedBytes, BoundedString, BoundedVec, Bytes64};
pub use codec::{decode_exact, encode};
pub use error::{Error, Result};
pub use identity::{Keypair, NodeId};
pub use pow::Difficulty;
pub use record::{
    NodeRecord, RecordPolicy, Role, Services, SignedNodeRecord, TransportHint, Verified,
};
pub use version::ProtocolVersion;
