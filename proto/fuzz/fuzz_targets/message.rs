//! Post-handshake messages on every channel (control, peers, files,
//! tracker); whatever decodes must re-encode and decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::ProtocolVersion;
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
});
