//! Framing: how messages share one byte stream.
//!
//! Every frame is an 8-byte header followed by its payload:
//!
//! ```text
//! 0      4        6          7       8
//! +------+--------+----------+-------+-----------------+
//! | len  | channel| priority | flags | payload (len)   |
//! | u32BE| u16 BE | u8       | u8=0  |                 |
//! +------+--------+----------+-------+-----------------+
//! ```
//!
//! The channel says which service the payload belongs to, and so which
//! message type it decodes as; each channel has its own maximum payload,
//! checked from the header alone, so an oversized frame is refused before a
//! byte of it is buffered. The priority lets a sender put control traffic
//! ahead of bulk data and lets a receiver see it did.

use crate::{Error, Result};

/// Header length in bytes.
pub const HEADER_LEN: usize = 8;
/// Largest payload any channel allows (the hard frame limit).
pub const MAX_PAYLOAD: u32 = 64 * 1024;

/// Which service a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Channel {
    /// Handshake messages, before anything else.
    Handshake = 0,
    /// Keepalives and orderly close.
    Control = 1,
    /// Peer exchange.
    Peers = 2,
    /// File transfer (transfer connections; protocol version 2).
    Files = 3,
    /// Who has what, catalogue, mirroring (peer connections; version 2).
    Tracker = 4,
    /// A service's own messages (service connections; version 4).
    Service = 5,
}

impl Channel {
    /// Every channel defined.
    pub const ALL: [Channel; 6] = [
        Channel::Handshake,
        Channel::Control,
        Channel::Peers,
        Channel::Files,
        Channel::Tracker,
        Channel::Service,
    ];

    /// The first protocol version that has this channel.
    pub fn since(self) -> crate::ProtocolVersion {
        match self {
            Channel::Handshake | Channel::Control | Channel::Peers => crate::ProtocolVersion::V1,
            Channel::Files | Channel::Tracker => crate::ProtocolVersion::V2,
            Channel::Service => crate::ProtocolVersion::V4,
        }
    }

    /// Maps the wire number to a channel.
    pub fn from_u16(n: u16) -> Result<Self> {
        Channel::ALL
            .into_iter()
            .find(|c| *c as u16 == n)
            .ok_or(Error::UnknownChannel(n))
    }

    /// Largest payload this channel accepts.
    pub fn max_payload(self) -> u32 {
        match self {
            Channel::Handshake => 4 * 1024,
            Channel::Control => 256,
            Channel::Peers => 16 * 1024,
            Channel::Files => 36 * 1024,
            Channel::Tracker => 32 * 1024,
            Channel::Service => MAX_PAYLOAD,
        }
    }
}

/// How urgently a frame should be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Priority {
    /// Control traffic: overtakes everything else.
    Control = 0,
    /// Ordinary service messages.
    Normal = 1,
    /// Bulk data: sent when nothing else waits.
    Bulk = 2,
}

impl Priority {
    /// Maps the wire number to a priority.
    pub fn from_u8(n: u8) -> Result<Self> {
        match n {
            0 => Ok(Priority::Control),
            1 => Ok(Priority::Normal),
            2 => Ok(Priority::Bulk),
            _ => Err(Error::UnknownPriority(n)),
        }
    }
}

/// A decoded, checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Payload length in bytes.
    pub len: u32,
    /// Channel of the payload.
    pub channel: Channel,
    /// Sender's priority.
    pub priority: Priority,
}

impl Header {
    /// Parses and checks a header: known channel and priority, no reserved
    /// flags, length within the channel's limit.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self> {
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let channel = Channel::from_u16(u16::from_be_bytes([b[4], b[5]]))?;
        let priority = Priority::from_u8(b[6])?;
        if b[7] != 0 {
            return Err(Error::ReservedFlags(b[7]));
        }
        let max = channel.max_payload();
        if len > max {
            return Err(Error::FrameTooLarge { len, max });
        }
        Ok(Header {
            len,
            channel,
            priority,
        })
    }

    /// The header's 8 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let l = self.len.to_be_bytes();
        let c = (self.channel as u16).to_be_bytes();
        [l[0], l[1], l[2], l[3], c[0], c[1], self.priority as u8, 0]
    }
}

/// Appends one frame (header and payload) to `out`.
///
/// Fails if `payload` is larger than `channel` allows; nothing is appended then.
pub fn encode_frame(
    channel: Channel,
    priority: Priority,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&frame_header(channel, priority, len)?.encode());
    out.extend_from_slice(payload);
    Ok(())
}

/// The header of a frame whose payload is `len` bytes, for writers that
/// put the payload after it themselves.
///
/// # Errors
/// [`Error::FrameTooLarge`] when `len` is over the channel's limit.
pub fn frame_header(channel: Channel, priority: Priority, len: u32) -> Result<Header> {
    let max = channel.max_payload();
    if len > max {
        return Err(Error::FrameTooLarge { len, max });
    }
    Ok(Header {
        len,
        channel,
        priority,
    })
}

/// Decodes the first frame in `buf`, if it is complete.
///
/// Returns `Ok(None)` when more bytes are needed, or the header, the payload
/// and the number of bytes consumed. A bad header is an error as soon as its
/// 8 bytes are present, whatever follows.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Header, &[u8], usize)>> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = Header::decode(head)?;
    let end = HEADER_LEN + header.len as usize;
    match buf.get(HEADER_LEN..end) {
        Some(payload) => Ok(Some((header, payload, end))),
        None => Ok(None),
    }
}
