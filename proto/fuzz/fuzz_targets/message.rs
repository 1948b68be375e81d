//! Post-handshake messages on every channel (control, peers, files,
//! tracker); whatever decodes must re-encode and decode the same. A block
//! read in place (`files::block_in_place`) must be exactly the block the
//! decoder finds, and found exactly when the decoder finds one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::ProtocolVersion;
use warren_proto::files::{FileMsg, block_in_place};
use warren_proto::frame::Channel;
use warren_proto::msg::Message;

fuzz_target!(|data: &[u8]| {
    let v = ProtocolVersion::LATEST;
    for channel in [
        Channel::Control,
        Channel::Peers,
        Channel::Files,
        Channel::Tracker,
    ] {
        if let Ok(m) = Message::decode(v, channel, data) {
            let again =
                Message::decode(v, channel, &m.encode()).expect("re-encoded message decodes");
            assert_eq!(again, m);
        }
    }
    let decoded = match Message::decode(v, Channel::Files, data) {
        Ok(Message::Files(FileMsg::Block {
            piece,
            offset,
            data: bytes,
        })) => Some((piece, offset, bytes.into_vec())),
        _ => None,
    };
    let in_place = block_in_place(data).map(|(p, o, at)| (p, o, data[at].to_vec()));
    assert_eq!(in_place, decoded);
});
