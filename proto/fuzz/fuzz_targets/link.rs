//! Share links and browser URLs typed by people.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::link::Link;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(l) = s.parse::<Link>() {
            assert_eq!(
                l.to_string()
                    .parse::<Link>()
                    .expect("displayed link parses"),
                l
            );
            let _ = l.swarm();
            let _ = l.onion_url();
        }
    }
});
