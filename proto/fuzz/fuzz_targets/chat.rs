//! Messages members write (SPEC.md §14): whatever decodes re-encodes to
//! the same bytes (postcard is canonical here) and has the same id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::chat::ChatMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ChatMessage::decode(data) {
        let bytes = m.encode();
        assert_eq!(bytes, data, "one encoding per message");
        let again = ChatMessage::decode(&bytes).expect("re-encoded message decodes");
        assert_eq!(again.id(), m.id());
    }
});
