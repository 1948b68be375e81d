//! Messages on the control and peer-exchange channels.
//!
//! Each channel carries one postcard enum; the variant index is the first
//! byte (a varint). Append-only: new variants go at the end, old ones are
//! never removed or reordered (a retired variant stays, marked as such).

use serde::{Deserialize, Serialize};

use crate::bytes::BoundedVec;
use crate::codec::{decode_exact, encode};
use crate::files::FileMsg;
use crate::frame::Channel;
use crate::record::SignedNodeRecord;
use crate::tracker::TrackerMsg;
use crate::version::ProtocolVersion;
use crate::{Error, Result};

/// Most records in one `Peers` message.
pub const MAX_PEERS_PER_MESSAGE: usize = 32;

/// Keepalives and orderly close (channel [`Channel::Control`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlMsg {
    /// Are you there? Answered by `Pong` with the same nonce.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// Answer to `Ping`.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// The sender is closing the connection, and why.
    Close {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a connection is closed. Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CloseReason {
    /// No particular reason.
    Normal,
    /// The node is shutting down.
    Shutdown,
    /// The node has no room for another connection (peers were sent first).
    Busy,
    /// The peer broke the protocol.
    ProtocolViolation,
    /// The peer sent more than its rate allows.
    RateLimited,
    /// Another connection to the same peer is kept instead.
    Duplicate,
    /// Nothing heard from the peer for too long.
    IdleTimeout,
    /// The peer sent too many invalid records.
    Misbehaving,
}

/// Peer exchange (channel [`Channel::Peers`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMsg {
    /// Please send up to `max` records of nodes you know.
    GetPeers {
        /// Most records wanted (capped at [`MAX_PEERS_PER_MESSAGE`]).
        max: u8,
    },
    /// Records of known nodes: an answer to `GetPeers`, or news pushed unasked.
    Peers {
        /// Signed records; each is checked on its own.
        records: BoundedVec<SignedNodeRecord, MAX_PEERS_PER_MESSAGE>,
    },
}

/// A message decoded from a frame after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// From the control channel.
    Control(ControlMsg),
    /// From the peer-exchange channel.
    Peers(PeerMsg),
    /// From the files channel.
    Files(FileMsg),
    /// From the tracker channel.
    Tracker(TrackerMsg),
    /// From the service channel: the service's own bytes, not read here.
    Service(Vec<u8>),
}

impl Message {
    /// Decodes the payload of a frame received on `channel` after a
    /// handshake that settled on `version`.
    pub fn decode(version: ProtocolVersion, channel: Channel, payload: &[u8]) -> Result<Self> {
        if channel.since() > version {
            return Err(Error::Unexpected(
                "channel not in the negotiated protocol version",
            ));
        }
        match channel {
            Channel::Control => Ok(Message::Control(decode_exact(payload)?)),
            Channel::Peers => Ok(Message::Peers(decode_exact(payload)?)),
            Channel::Files => Ok(Message::Files(decode_exact(payload)?)),
            Channel::Tracker => Ok(Message::Tracker(decode_exact(payload)?)),
            Channel::Service => Ok(Message::Service(payload.to_vec())),
            Channel::Handshake => Err(Error::Unexpected("handshake message after the handshake")),
        }
    }

    /// The channel this message travels on.
    pub fn channel(&self) -> Channel {
        match self {
            Message::Control(_) => Channel::Control,
            Message::Peers(_) => Channel::Peers,
            Message::Files(_) => Channel::Files,
            Message::Tracker(_) => Channel::Tracker,
            Message::Service(_) => Channel::Service,
        }
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Control(m) => encode(m),
            Message::Peers(m) => encode(m),
            Message::Files(m) => encode(m),
            Message::Tracker(m) => encode(m),
            Message::Service(b) => b.clone(),
        }
    }
}
