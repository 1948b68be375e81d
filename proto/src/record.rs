//! Signed, timestamped node records carrying proof of work.
//!
//! A record says who a node is (its key), what it is (role, services), how to
//! reach it (transport hints), when it was issued and until when it holds, and
//! proves the work bound to its key. It is signed by that key, so any node can
//! pass it on and any node can check it.

use serde::{Deserialize, Serialize};

use crate::bytes::Bytes64;
use crate::codec::{decode_exact, encode};
use crate::pow::{self, Difficulty};
use crate::{Error, Keypair, NodeId, Result};

/// Most transport hints a record may carry.
pub const MAX_HINTS: usize = 4;
/// Domain separator prepended to the encoded record before signing.
const RECORD_DOMAIN: &[u8] = b"warren/record/v1\0";

/// What kind of node this is. Append-only: new roles go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// A member's own node (a laptop or desktop); comes and goes.
    Member,
    /// An always-on box: relays, seeds, holds mail for offline members.
    Box,
}

/// Services a node offers, as bits. Unknown bits are kept as they are, so a
/// record from a newer node survives being passed on by an older one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Services(pub u32);

impl Services {
    /// Peer exchange (every node).
    pub const PEER_EXCHANGE: Services = Services(1 << 0);
    /// Store-and-forward mailbox for offline members.
    pub const MAILBOX: Services = Services(1 << 1);
    /// Seeds shared content.
    pub const SEED: Services = Services(1 << 2);
    /// Answers "who has" queries (tracker).
    pub const TRACKER: Services = Services(1 << 3);
    /// Runs a Tor relay.
    pub const TOR_RELAY: Services = Services(1 << 4);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: Services) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets.
    pub fn with(self, other: Services) -> Services {
        Services(self.0 | other.0)
    }
}

/// An IP address on the wire: a variant tag then 4 or 16 raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IpAddress {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

impl From<std::net::IpAddr> for IpAddress {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(v4) => IpAddress::V4(v4.octets()),
            std::net::IpAddr::V6(v6) => IpAddress::V6(v6.octets()),
        }
    }
}

impl From<IpAddress> for std::net::IpAddr {
    fn from(ip: IpAddress) -> Self {
        match ip {
            IpAddress::V4(b) => std::net::IpAddr::from(b),
            IpAddress::V6(b) => std::net::IpAddr::from(b),
        }
    }
}

/// How a node can be reached. Append-only: new kinds go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransportHint {
    /// At the node's own onion address (derived from its key), this virtual port.
    Onion {
        /// Virtual port of the onion service.
        port: u16,
    },
    /// Plain TCP; for development and tests only.
    Tcp {
        /// IP address.
        ip: IpAddress,
        /// TCP port.
        port: u16,
    },
    /// An in-process transport for simulations; never on a real network.
    /// Added after `Onion` and `Tcp` without breaking their encoding.
    Memory {
        /// Port on the in-process switchboard.
        port: u32,
    },
}

/// The signed part of a node record.
///
/// Encoded with postcard in field order; see `SPEC.md` for the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node's key.
    pub id: NodeId,
    /// Member or always-on box.
    pub role: Role,
    /// Offered services.
    pub services: Services,
    /// Where to reach the node, most preferred first.
    pub hints: heapless::Vec<TransportHint, MAX_HINTS>,
    /// Issue time, unix seconds.
    pub issued_at: u64,
    /// Expiry time, unix seconds; after this the record is refused.
    pub expires_at: u64,
    /// Proof-of-work nonce for `id` (see [`crate::pow`]).
    pub pow_nonce: u64,
}

impl NodeRecord {
    /// Signs the record with `keypair`, whose id must be `self.id`.
    pub fn sign(self, keypair: &Keypair) -> Result<SignedNodeRecord> {
        if keypair.id() != self.id {
            return Err(Error::Unexpected("record id is not the signing key"));
        }
        let signature = keypair.sign(&self.signing_bytes());
        Ok(SignedNodeRecord {
            record: self,
            signature,
        })
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let mut msg = RECORD_DOMAIN.to_vec();
        msg.extend_from_slice(&encode(self));
        msg
    }
}

/// A node record and its signature by the record's own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedNodeRecord {
    /// The signed content.
    pub record: NodeRecord,
    /// ed25519 signature over `"warren/record/v1\0" ‖ postcard(record)`.
    pub signature: Bytes64,
}

/// What a community accepts as a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPolicy {
    /// Required proof of work.
    pub difficulty: Difficulty,
    /// Longest allowed validity window (`expires_at - issued_at`), seconds.
    pub max_validity: u64,
    /// How far in the future `issued_at` may be, seconds.
    pub max_clock_skew: u64,
}

impl SignedNodeRecord {
    /// Decodes a record from exactly `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        decode_exact(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// The node this record describes.
    pub fn id(&self) -> NodeId {
        self.record.id
    }

    /// Checks time window, proof of work and signature, cheapest first.
    pub fn verify(self, now: u64, policy: &RecordPolicy) -> Result<Verified> {
        let r = &self.record;
        let secs = r.expires_at.saturating_sub(r.issued_at);
        if secs == 0 || secs > policy.max_validity {
            return Err(Error::BadValidity {
                secs,
                max: policy.max_validity,
            });
        }
        if r.issued_at > now.saturating_add(policy.max_clock_skew) {
            return Err(Error::FutureDated {
                issued_at: r.issued_at,
                now,
            });
        }
        if r.expires_at <= now {
            return Err(Error::Expired {
                expires_at: r.expires_at,
                now,
            });
        }
        pow::verify(&r.id, r.pow_nonce, policy.difficulty)?;
        r.id.verify(&r.signing_bytes(), &self.signature)?;
        Ok(Verified(self))
    }
}

/// A record whose signature, work and time window have been checked.
///
/// Only [`SignedNodeRecord::verify`] makes one, so holding a `Verified` is
/// proof that the checks ran (against the clock at that moment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified(SignedNodeRecord);

impl Verified {
    /// The checked record.
    pub fn get(&self) -> &SignedNodeRecord {
        &self.0
    }

    /// The checked record, by value.
    pub fn into_inner(self) -> SignedNodeRecord {
        self.0
    }

    /// The record's node.
    pub fn id(&self) -> NodeId {
        self.0.record.id
    }

    /// Whether this record is still valid at `now` (time window only; the
    /// signature and work do not change).
    pub fn is_live(&self, now: u64) -> bool {
        self.0.record.expires_at > now
    }

    /// Checks that this record may replace `held` for the same node: it must
    /// be strictly newer.
    pub fn newer_than(&self, held: &Verified) -> Result<()> {
        let (a, b) = (self.0.record.issued_at, held.0.record.issued_at);
        if a <= b {
            return Err(Error::Stale {
                issued_at: a,
                held: b,
            });
        }
        Ok(())
    }
}
