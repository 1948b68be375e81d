//! The relay service's messages (SPEC.md §16): whatever decodes re-encodes
//! to bytes that decode to the same message, and checking a decoded claim
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::relay::RelayMsg;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = RelayMsg::decode(data) {
        let again = RelayMsg::decode(&m.encode()).expect("re-encoded message decodes");
        assert_eq!(again, m);
        if let RelayMsg::Claim(c) = &m {
            let _ = c.verify(1_700_000_000, 300);
            assert_eq!(c.claim.nickname().len(), 19);
        }
    }
});
