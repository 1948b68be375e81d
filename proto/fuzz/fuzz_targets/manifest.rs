//! Manifests: decode and check; whatever passes re-encodes identically
//! and has only safe paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::content::{Manifest, Meta, RelPath};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::decode(data) {
        assert_eq!(Manifest::decode(&m.encode()).expect("round trip"), m);
        if let Meta::Plain(l) = &m.meta {
            for f in l.files.as_slice() {
                RelPath::new(f.path.as_str()).expect("decoded paths are safe");
            }
        }
        let _ = m.id();
        let _ = m.piece_len(m.piece_count().saturating_sub(1));
    }
});
