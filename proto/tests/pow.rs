//! Proof of work.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::pow::{leading_zero_bits, mine, verify, work_of};
use warren_proto::{Difficulty, Error};

#[test]
fn counts_leading_zero_bits() {
    let mut h = [0xffu8; 32];
    assert_eq!(leading_zero_bits(&h), 0);
    h[0] = 0x01;
    assert_eq!(leading_zero_bits(&h), 7);
    h[0] = 0;
    h[1] = 0x20;
    assert_eq!(leading_zero_bits(&h), 10);
    assert_eq!(leading_zero_bits(&[0u8; 32]), 255);
}

#[test]
fn mined_nonce_verifies_and_is_bound_to_the_key() {
    let a = common::keypair(1).id();
    let b = common::keypair(2).id();
    let d = Difficulty::new(12).unwrap();
    let n = mine(&a, d, 0, 1, 1 << 24).unwrap();
    verify(&a, n, d).unwrap();
    assert!(work_of(&a, n) >= 12);
    // The same nonce almost surely proves nothing for another key.
    let other = work_of(&b, n);
    if other < 12 {
        assert_eq!(
            verify(&b, n, d),
            Err(Error::InsufficientWork {
                required: 12,
                actual: other
            })
        );
    }
}

#[test]
fn parallel_strides_cover_the_nonce_space() {
    let id = common::keypair(3).id();
    let d = Difficulty::new(10).unwrap();
    let single = mine(&id, d, 0, 1, 1 << 20).unwrap();
    let found: Vec<u64> = (0..4).filter_map(|t| mine(&id, d, t, 4, 1 << 18)).collect();
    assert!(
        found.contains(&single),
        "the lowest nonce is found by the thread owning it"
    );
}

#[test]
fn difficulty_bounds() {
    assert!(Difficulty::new(64).is_ok());
    assert_eq!(Difficulty::new(65), Err(Error::BadDifficulty(65)));
    assert!(verify(&common::keypair(1).id(), 0, Difficulty::new(0).unwrap()).is_ok());
}
