//! Identities and onion addresses.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::{Error, Keypair, NodeId};

/// The RFC 8032 test 1 key, whose onion address Tor's own tests also use.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUB: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_ONION: &str = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid.onion";
const RFC8032_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

fn rfc_keypair() -> Keypair {
    let seed: [u8; 32] = hex::decode(RFC8032_SEED).unwrap().try_into().unwrap();
    Keypair::from_seed(&seed)
}

#[test]
fn onion_address_of_known_key() {
    let kp = rfc_keypair();
    assert_eq!(hex::encode(kp.id().as_bytes()), RFC8032_PUB);
    assert_eq!(kp.id().to_string(), RFC8032_ONION);
    assert_eq!(NodeId::from_onion(RFC8032_ONION).unwrap(), kp.id());
}

#[test]
fn signature_matches_rfc8032() {
    let sig = rfc_keypair().sign(b"");
    assert_eq!(hex::encode(sig.0), RFC8032_SIG_EMPTY);
    rfc_keypair().id().verify(b"", &sig).unwrap();
    assert_eq!(
        rfc_keypair().id().verify(b"x", &sig),
        Err(Error::BadSignature)
    );
}

#[test]
fn parses_real_world_addresses() {
    for a in [
        "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
        "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid",
        "FACEBOOKWKHPILNEMXJ7ASANIU7VNJJBILTXJQHYE3MHBSHG7KX5TFYD.onion",
    ] {
        let id: NodeId = a.parse().unwrap();
        assert_eq!(
            id.to_string(),
            format!("{}.onion", a.trim_end_matches(".onion").to_lowercase())
        );
    }
}

#[test]
fn rejects_bad_addresses() {
    let good = RFC8032_ONION.trim_end_matches(".onion");
    let mut bad_sum = good.to_string();
    bad_sum.replace_range(50..51, if &good[50..51] == "a" { "b" } else { "a" });
    let cases = [
        ("", "expected 56 base32 characters"),
        ("short.onion", "expected 56 base32 characters"),
        (&bad_sum[..], "checksum mismatch"),
        (
            "0000000000000000000000000000000000000000000000000000000z",
            "not base32",
        ),
        (
            "www.duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
            "expected 56 base32 characters",
        ),
    ];
    for (input, why) in cases {
        assert_eq!(
            NodeId::from_onion(input),
            Err(Error::OnionAddress(why)),
            "{input}"
        );
    }
    // Version byte 0x02 with a correct-looking layout is refused.
    let mut raw = [0u8; 35];
    raw[34] = 2;
    let v2 = data_encoding_lower(&raw);
    assert_eq!(
        NodeId::from_onion(&v2),
        Err(Error::OnionAddress("not a version 3 address"))
    );
}

fn data_encoding_lower(raw: &[u8]) -> String {
    // A tiny independent base32 (RFC 4648, no padding) so the test does not
    // reuse the code under test.
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in raw {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHA[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHA[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[test]
fn rejects_bytes_that_are_not_a_key() {
    // y = 2 is not on the curve (no x satisfies the equation).
    let mut b = [0u8; 32];
    b[0] = 2;
    assert_eq!(NodeId::from_bytes(b), Err(Error::InvalidKey));
}
