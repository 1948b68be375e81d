//! A byte stream split into frames, each payload decoded for its channel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::ProtocolVersion;
use warren_proto::frame::{Channel, MAX_PAYLOAD, decode_frame};
use warren_proto::handshake;
use warren_proto::msg::Message;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Ok(Some((header, payload, used))) = decode_frame(&data[at..]) {
        assert!(header.len <= MAX_PAYLOAD && payload.len() == header.len as usize);
        assert!(used > 0 && at + used <= data.len());
        match header.channel {
            Channel::Handshake => {
                let _ = handshake::decode(payload);
            }
            c => {
                for v in ProtocolVersion::ALL {
                    let _ = Message::decode(*v, c, payload);
                }
            }
        }
        at += used;
    }
});
