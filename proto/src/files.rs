//! The files channel: one swarm per transfer connection.
//!
//! A transfer connection is opened by a downloader (handshake with purpose
//! `Transfer`), which sends `Open` naming a swarm. The provider answers
//! `Opened` (with a ticket for a private swarm) or `Unknown`. The
//! downloader then fetches the manifest and the piece table in chunks,
//! learns which pieces the provider has, and requests blocks.

use serde::{Deserialize, Serialize};

use crate::bytes::{BoundedBytes, BoundedVec};
use crate::content::{ContentId, SwarmId, Ticket};

/// Largest block of piece data in one message.
pub const MAX_BLOCK: u32 = 32 * 1024;
/// Largest manifest chunk.
pub const MAX_MANIFEST_CHUNK: usize = 32 * 1024;
/// Most piece hashes in one message.
pub const MAX_HASHES: usize = 1024;
/// Largest bitfield chunk (covers 262,144 pieces).
pub const MAX_BITFIELD: usize = 32 * 1024;

/// Why a request was refused. Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// The provider does not have that piece (yet).
    NotHave,
    /// Too many requests in flight; ask again later.
    Busy,
    /// The range is outside the piece or larger than [`MAX_BLOCK`].
    BadRange,
    /// The provider holds the piece but its copy no longer matches the
    /// piece table, so it will not send it (protocol version 3).
    Unavailable(Unavailable),
}

/// Why a provider that knows a swarm cannot serve it now (protocol
/// version 3). Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unavailable {
    /// Its files changed on disk since they were shared or downloaded.
    Changed,
    /// Its files are gone (deleted or moved).
    Missing,
    /// Its files are being checked against the piece table; ask again later.
    Checking,
}

/// Messages on the files channel. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileMsg {
    /// Downloader → provider: this connection is about `swarm`.
    Open {
        /// The swarm.
        swarm: SwarmId,
    },
    /// Provider → downloader: I serve it.
    Opened {
        /// What the swarm carries.
        content: ContentId,
        /// Length of the encoded manifest.
        manifest_len: u32,
        /// For private swarms: the link's key saying what the swarm is.
        ticket: Option<Ticket>,
    },
    /// Provider → downloader: not here.
    Unknown,
    /// Downloader → provider: manifest bytes from `offset`.
    GetManifest {
        /// Byte offset into the encoded manifest.
        offset: u32,
    },
    /// Provider → downloader: a chunk of the encoded manifest.
    ManifestChunk {
        /// Where it starts.
        offset: u32,
        /// The bytes.
        data: BoundedBytes<MAX_MANIFEST_CHUNK>,
    },
    /// Downloader → provider: piece hashes `first .. first + count`.
    GetHashes {
        /// First piece.
        first: u32,
        /// How many (at most [`MAX_HASHES`]).
        count: u16,
    },
    /// Provider → downloader: piece hashes from `first`.
    Hashes {
        /// First piece.
        first: u32,
        /// The hashes.
        hashes: BoundedVec<[u8; 32], MAX_HASHES>,
    },
    /// Provider → downloader: which pieces it has, from piece `first`
    /// (a multiple of 8), one bit per piece, most significant bit first.
    Bitfield {
        /// First piece covered.
        first: u32,
        /// The bits.
        bits: BoundedBytes<MAX_BITFIELD>,
    },
    /// Provider → downloader: it now has this piece too.
    Have {
        /// The piece.
        piece: u32,
    },
    /// Downloader → provider: send `len` bytes of `piece` from `offset`.
    Request {
        /// The piece.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// Length (at most [`MAX_BLOCK`]).
        len: u32,
    },
    /// Provider → downloader: the requested bytes.
    Block {
        /// The piece.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// The bytes.
        data: BoundedBytes<{ MAX_BLOCK as usize }>,
    },
    /// Downloader → provider: never mind that request.
    Cancel {
        /// The piece.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
    },
    /// Provider → downloader: that request will not be answered.
    Reject {
        /// The piece.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// Why.
        reason: RejectReason,
    },
    /// Provider → downloader, instead of `Opened`: the swarm is known here
    /// but cannot be served now (protocol version 3; older peers get
    /// `Unknown`).
    Unavailable {
        /// Why.
        why: Unavailable,
    },
}

/// `FileMsg::Block`'s variant index: the first varint of its encoding
/// (SPEC.md §9, "The files channel": variants in declaration order).
const BLOCK_VARIANT: u32 = 10;

/// The encoding of `FileMsg::Block { piece, offset, data }` up to its
/// bytes, for a block of `len` bytes: `block_head(piece, offset, len)`
/// followed by the bytes is exactly [`crate::encode`] of the message. A
/// sender uses it to put the bytes into its write buffer without encoding
/// (and copying) them first.
///
/// # Errors
/// [`crate::Error::TooLong`] when `len` is over [`MAX_BLOCK`].
pub fn block_head(piece: u32, offset: u32, len: usize) -> crate::Result<Vec<u8>> {
    if len > MAX_BLOCK as usize {
        return Err(crate::Error::TooLong {
            what: "block",
            max: MAX_BLOCK as usize,
        });
    }
    // Postcard: every integer a varint, a byte string its length (a
    // varint) then its bytes.
    Ok(crate::encode(&(BLOCK_VARIANT, piece, offset, len as u32)))
}

/// A `FileMsg::Block` read in place: `(piece, offset, where its bytes are
/// in payload)`, or `None` when `payload` is anything else, including any
/// block [`crate::decode_exact`] would refuse (too long, trailing bytes,
/// cut short). A receiver then slices its bytes out of the frame without
/// copying them, and decodes every other payload as usual.
pub fn block_in_place(payload: &[u8]) -> Option<(u32, u32, std::ops::Range<usize>)> {
    let ((variant, piece, offset), rest) =
        postcard::take_from_bytes::<(u32, u32, u32)>(payload).ok()?;
    if variant != BLOCK_VARIANT {
        return None;
    }
    let (data, rest) = postcard::take_from_bytes::<&[u8]>(rest).ok()?;
    if !rest.is_empty() || data.len() > MAX_BLOCK as usize {
        return None;
    }
    let start = payload.len() - data.len();
    Some((piece, offset, start..payload.len()))
}
