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
    pub payload: Vec<u8>,
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

/// Splits a stream into frames. The read buffer never holds more than one
/// frame plus one read's worth of bytes: a header is checked (channel,
/// priority, size limit) as soon as its 8 bytes arrive.
#[derive(Debug, Default)]
pub struct FrameCodec;

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
                    src.reserve(HEADER_LEN + len - src.len().min(HEADER_LEN + len));
                }
                Ok(None)
            }
        }
    }
}

impl Encoder<Outgoing> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::with_capacity(HEADER_LEN + item.payload.len());
        frame::encode_frame(item.channel, item.priority, &item.payload, &mut buf)?;
        dst.extend_from_slice(&buf);
        Ok(())
    }
}
