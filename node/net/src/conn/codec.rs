//! Frames on a byte stream, via the protocol crate's header checks.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use warren_proto::frame::{self, Channel, HEADER_LEN, Header, Priority};

/// An outgoing frame: its channel, priority and encoded payload.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Channel.
    pub channel: Channel,
    /// Priority.
    pub priority: Priority,
    /// Encoded payload.
    pub payload: Payload,
}

/// A frame's encoded payload, as it waits to be written: whole, or a small
/// head followed by bytes shared with where they came from (a block of a
/// piece, sent without being copied until it goes into the write buffer).
#[derive(Debug, Clone)]
pub enum Payload {
    /// The payload in one piece.
    Whole(Vec<u8>),
    /// `head ‖ tail` is the payload.
    Parts {
        /// The first bytes (a message's encoded fields).
        head: Vec<u8>,
        /// The rest, shared.
        tail: Bytes,
    },
}

impl Payload {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Whole(v) => v.len(),
            Payload::Parts { head, tail } => head.len() + tail.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Payload {
        Payload::Whole(v)
    }
}

/// Why reading or writing frames failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The peer sent bytes that are not a valid frame.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Splits a stream into frames. A header is checked (channel, priority,
/// size limit) as soon as its 8 bytes arrive. The read buffer makes room
/// for the rest of the frame; behind a frame of 16 KiB or more (piece
/// data) for four frames of its size, at most 160 KiB (`BULK_FRAME`,
/// `READ_AHEAD`, `READ_AHEAD_MAX`), so that one read takes several blocks. It never holds more than that plus one
/// read's worth of bytes.
#[derive(Debug, Default)]
pub struct FrameCodec;

/// A frame this large or larger is bulk data (a block is 32 KiB): more of
/// the same is likely right behind it.
const BULK_FRAME: usize = 16 * 1024;
/// Frames of a bulk frame's size the read buffer makes room for: with 32
/// KiB blocks, reads of up to 128 KiB.
const READ_AHEAD: usize = 4;
/// The most the read buffer makes room for ahead (a larger frame gets room
/// for itself only).
const READ_AHEAD_MAX: usize = 160 * 1024;

impl Decoder for FrameCodec {
    type Item = (Header, Bytes);
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        match frame::decode_frame(src)? {
            Some((header, _, used)) => {
                let mut frame = src.split_to(used);
                let payload = frame.split_off(HEADER_LEN).freeze();
                Ok(Some((header, payload)))
            }
            None => {
                if let Some(head) = src.first_chunk::<HEADER_LEN>() {
                    // Header already checked by decode_frame; make room for the rest.
                    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
                    let frame = HEADER_LEN + len;
                    let want = if len >= BULK_FRAME {
                        (frame * READ_AHEAD).min(READ_AHEAD_MAX).max(frame)
                    } else {
                        frame
                    };
                    src.reserve(want - src.len().min(want));
                }
                Ok(None)
            }
        }
    }
}

impl Encoder<Outgoing> for FrameCodec {
    type Error = CodecError;

    /// Writes the header and the payload straight into `dst` (each payload
    /// byte is copied once, into the write buffer).
    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), CodecError> {
        let len = u32::try_from(item.payload.len()).unwrap_or(u32::MAX);
        let header = frame::frame_header(item.channel, item.priority, len)?;
        dst.reserve(HEADER_LEN + item.payload.len());
        dst.extend_from_slice(&header.encode());
        match &item.payload {
            Payload::Whole(v) => dst.extend_from_slice(v),
            Payload::Parts { head, tail } => {
                dst.extend_from_slice(head);
                dst.extend_from_slice(tail);
            }
        }
        Ok(())
    }
}
