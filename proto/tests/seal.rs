//! Sealed shares: readable with the key, checkable without it.

#![allow(clippy::unwrap_used)]

use warren_proto::content::{FileEntry, Listing, RelPath};
use warren_proto::seal::SealKey;
use warren_proto::{BoundedString, BoundedVec, Error};

fn listing() -> Listing {
    Listing {
        name: BoundedString::new("secret plans").unwrap(),
        files: BoundedVec::truncating([FileEntry {
            path: RelPath::new("plans.txt").unwrap(),
            size: 1000,
        }]),
        description: Some(BoundedString::new("for the box to keep").unwrap()),
        tags: BoundedVec::new(),
        created_at: 7,
    }
}

#[test]
fn content_encryption_is_positional_and_reversible() {
    let k = SealKey([5; 32]);
    let plain: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut whole = plain.clone();
    k.apply(0, &mut whole).unwrap();
    assert_ne!(whole, plain);
    // Any slice can be encrypted on its own at its offset: pieces and
    // blocks are sealed independently and agree with the whole.
    for (start, end) in [(0usize, 64usize), (63, 130), (4096, 10_000)] {
        let mut part = plain[start..end].to_vec();
        k.apply(start as u64, &mut part).unwrap();
        assert_eq!(part, whole[start..end]);
    }
    k.apply(0, &mut whole).unwrap();
    assert_eq!(whole, plain);
    let other = SealKey([6; 32]);
    let mut x = plain[..100].to_vec();
    other.apply(0, &mut x).unwrap();
    let mut y = plain[..100].to_vec();
    k.apply(0, &mut y).unwrap();
    assert_ne!(x, y);
}

#[test]
fn listings_open_only_with_the_key_and_for_their_content() {
    let k = SealKey([5; 32]);
    let root = [3u8; 32];
    let sealed = k
        .seal_listing(&listing(), 16 * 1024, 1000, &root, [1; 24])
        .unwrap();
    assert!(
        !sealed.windows(5).any(|w| w == b"plans"),
        "names are not readable"
    );
    assert_eq!(
        k.open_listing(&sealed, 16 * 1024, 1000, &root).unwrap(),
        listing()
    );
    assert_eq!(
        SealKey([6; 32]).open_listing(&sealed, 16 * 1024, 1000, &root),
        Err(Error::SealBroken)
    );
    // Moved onto other content, it does not open.
    assert_eq!(
        k.open_listing(&sealed, 16 * 1024, 1000, &[4; 32]),
        Err(Error::SealBroken)
    );
    let mut damaged = sealed.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    assert_eq!(
        k.open_listing(&damaged, 16 * 1024, 1000, &root),
        Err(Error::SealBroken)
    );
    assert_eq!(
        k.open_listing(&sealed[..10], 16 * 1024, 1000, &root),
        Err(Error::SealBroken)
    );
}
