//! Versioning: bytes written by older code still decode.
//!
//! `TransportHint` had two variants in its first form; `Memory` was appended
//! later. The `v1` module below is that first form, kept verbatim, so this
//! test shows that appending a variant left the old encodings untouched.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use warren_proto::record::IpAddress;
use warren_proto::{TransportHint, decode_exact, encode};

mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum IpAddress {
        V4([u8; 4]),
        V6([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum TransportHint {
        Onion { port: u16 },
        Tcp { ip: IpAddress, port: u16 },
    }
}

proptest! {
    #[test]
    fn old_hints_decode_unchanged(port in any::<u16>(), v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>()) {
        let old = encode(&v1::TransportHint::Onion { port });
        prop_assert_eq!(decode_exact::<TransportHint>(&old).unwrap(), TransportHint::Onion { port });
        let old = encode(&v1::TransportHint::Tcp { ip: v1::IpAddress::V4(v4), port });
        prop_assert_eq!(decode_exact::<TransportHint>(&old).unwrap(), TransportHint::Tcp { ip: IpAddress::V4(v4), port });
        let old = encode(&v1::TransportHint::Tcp { ip: v1::IpAddress::V6(v6), port });
        prop_assert_eq!(decode_exact::<TransportHint>(&old).unwrap(), TransportHint::Tcp { ip: IpAddress::V6(v6), port });
    }
}

#[test]
fn old_code_refuses_new_variants_cleanly() {
    // Old code meeting the new variant gets a decode error, not garbage.
    let new = encode(&TransportHint::Memory { port: 1 });
    assert!(decode_exact::<v1::TransportHint>(&new).is_err());
}
