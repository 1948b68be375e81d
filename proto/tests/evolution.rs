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

/// `RejectReason` as protocol version 2 knew it: three unit variants.
mod v2 {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub(super) enum RejectReason {
        NotHave,
        Busy,
        BadRange,
    }
}

#[test]
fn version_3_reject_reasons_leave_version_2_encodings_unchanged() {
    use warren_proto::files::{RejectReason, Unavailable};
    for (old, new) in [
        (v2::RejectReason::NotHave, RejectReason::NotHave),
        (v2::RejectReason::Busy, RejectReason::Busy),
        (v2::RejectReason::BadRange, RejectReason::BadRange),
    ] {
        assert_eq!(encode(&old), encode(&new));
        assert_eq!(decode_exact::<RejectReason>(&encode(&old)).unwrap(), new);
    }
    // A version 2 node meeting the new reason gets a decode error, which is
    // why it is only sent on connections that negotiated version 3.
    let new = encode(&RejectReason::Unavailable(Unavailable::Changed));
    assert!(decode_exact::<v2::RejectReason>(&new).is_err());
}
