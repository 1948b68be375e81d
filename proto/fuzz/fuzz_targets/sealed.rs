//! Opening sealed listings from arbitrary bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warren_proto::seal::SealKey;

fuzz_target!(|data: &[u8]| {
    let k = SealKey([7; 32]);
    let _ = k.open_listing(data, 16384, 1000, &[0; 32]);
    let mut buf = data.to_vec();
    let offset = u64::from(data.first().copied().unwrap_or(0)) << 30;
    let _ = k.apply(offset, &mut buf);
});
