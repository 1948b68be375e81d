//! The mail service's messages (SPEC.md §15): whatever decodes re-encodes
//! to bytes that decode to the same message, and every envelope in it has
//! one of the sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::mail::{ENVELOPE_SIZES, MailMsg};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = MailMsg::decode(data) {
        let again = MailMsg::decode(&m.encode()).expect("re-encoded message decodes");
        assert_eq!(again, m);
        if let MailMsg::Deliver { envelope } = &m {
            assert!(ENVELOPE_SIZES.contains(&envelope.sealed.len()));
        }
    }
});
