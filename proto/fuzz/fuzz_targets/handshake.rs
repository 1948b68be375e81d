//! Handshake messages; whatever decodes must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::{encode, handshake};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = handshake::decode(data) {
        assert_eq!(handshake::decode(&encode(&m)).expect("round trip"), m);
    }
});
