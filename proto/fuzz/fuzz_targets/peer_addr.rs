//! Peer addresses and onion names typed by people.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::{NodeId, PeerAddr};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(a) = s.parse::<PeerAddr>() {
            assert_eq!(
                a.to_string()
                    .parse::<PeerAddr>()
                    .expect("displayed address parses"),
                a
            );
        }
        if let Ok(id) = NodeId::from_onion(s) {
            assert_eq!(NodeId::from_onion(&id.to_string()).expect("round trip"), id);
        }
    }
});
