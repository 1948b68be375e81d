//! Post-handshake messages; whatever decodes must re-encode and decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::frame::Channel;
use warren_proto::msg::Message;

fuzz_target!(|data: &[u8]| {
    for channel in [Channel::Control, Channel::Peers] {
        if let Ok(m) = Message::decode(channel, data) {
            let again = Message::decode(channel, &m.encode()).expect("re-encoded message decodes");
            assert_eq!(again, m);
        }
    }
});
