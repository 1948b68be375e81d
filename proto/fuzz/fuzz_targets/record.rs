//! Signed node records: decode, verify, round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::{Difficulty, RecordPolicy, SignedNodeRecord};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = SignedNodeRecord::decode(data) {
        assert_eq!(
            SignedNodeRecord::decode(&r.encode()).expect("round trip"),
            r
        );
        let policy = RecordPolicy {
            difficulty: Difficulty::new(4).unwrap(),
            max_validity: u64::MAX,
            max_clock_skew: 600,
        };
        let _ = r.verify(1_795_219_200, &policy);
    }
});
