//! Manifests, paths, ids, piece tables, tickets.

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::content::{
    ContentId, FileEntry, Listing, Manifest, Meta, PieceHasher, RelPath, SwarmId, Ticket, Token,
    piece_count, piece_hash, pieces_root,
};
use warren_proto::{BoundedString, BoundedVec, Error};

fn listing(files: &[(&str, u64)]) -> Listing {
    Listing {
        name: BoundedString::new("share").unwrap(),
        files: BoundedVec::truncating(files.iter().map(|(p, s)| FileEntry {
            path: RelPath::new(p).unwrap(),
            size: *s,
        })),
        description: None,
        tags: BoundedVec::new(),
        created_at: 1,
    }
}

fn manifest(files: &[(&str, u64)], piece_size: u32) -> Manifest {
    let total = files.iter().fold(0u64, |a, f| a.wrapping_add(f.1));
    Manifest {
        piece_size,
        total_size: total,
        pieces_root: [0; 32],
        meta: Meta::Plain(listing(files)),
    }
}

#[test]
fn unsafe_paths_are_refused() {
    for (p, why) in [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../up", "`.` or `..` component"),
        ("a/../../b", "`.` or `..` component"),
        ("a/./b", "`.` or `..` component"),
        ("a//b", "empty component"),
        ("a/", "empty component"),
        ("nul\0byte", "NUL, backslash or control character"),
        ("win\\dows", "NUL, backslash or control character"),
        ("bell\u{7}", "NUL, backslash or control character"),
    ] {
        match RelPath::new(p) {
            Err(Error::UnsafePath { why: w, .. }) => assert_eq!(w, why, "{p:?}"),
            other => panic!("{p:?} gave {other:?}"),
        }
    }
    assert!(RelPath::new(&"a".repeat(256)).is_err());
    assert!(RelPath::new(&["a"; 600].join("/")).is_err());
    for ok in ["a", "dir/file.txt", "...", "ünïcødé/文件", ".hidden"] {
        RelPath::new(ok).unwrap();
    }
}

#[test]
fn decoding_refuses_unsafe_paths_too() {
    // A manifest whose bytes say "../x" does not decode.
    let m = manifest(&[("x", 1)], 16 * 1024);
    let mut bytes = m.encode();
    let at = bytes.windows(1).position(|w| w == b"x").unwrap();
    bytes[at] = b'/';
    assert!(Manifest::decode(&bytes).is_err());
}

#[test]
fn file_lists_must_be_sorted_unique_and_add_up() {
    manifest(&[("a", 1), ("b/c", 2)], 16 * 1024)
        .check()
        .unwrap();
    let cases = [
        (
            vec![("b", 1), ("a", 1)],
            "files not sorted, or a duplicate name",
        ),
        (
            vec![("a", 1), ("a", 1)],
            "files not sorted, or a duplicate name",
        ),
        (
            vec![("a", 1), ("a/b", 1)],
            "a file is also used as a folder",
        ),
    ];
    for (files, why) in cases {
        assert_eq!(
            manifest(&files, 16 * 1024).check(),
            Err(Error::Manifest(why)),
            "{files:?}"
        );
    }
    let mut m = manifest(&[("a", 1)], 16 * 1024);
    m.total_size = 2;
    assert_eq!(
        m.check(),
        Err(Error::Manifest("file sizes do not add up to the total"))
    );
    let m = manifest(&[("a", u64::MAX), ("b", 2)], 16 * 1024);
    assert_eq!(m.check(), Err(Error::Manifest("sizes overflow")));
    let empty = Manifest {
        piece_size: 16 * 1024,
        total_size: 0,
        pieces_root: [0; 32],
        meta: Meta::Plain(listing(&[])),
    };
    assert_eq!(empty.check(), Err(Error::Manifest("no files")));
}

#[test]
fn piece_sizes_and_counts_are_bounded() {
    for bad in [0u32, 1000, 8 * 1024, 32 * 1024 * 1024, 3 << 14] {
        assert!(manifest(&[("a", 1)], bad).check().is_err(), "{bad}");
    }
    // 2^18 pieces is the most: 4 GiB in 16 KiB pieces is one too many.
    let m = manifest(&[("a", (1u64 << 18) * 16 * 1024 + 1)], 16 * 1024);
    assert_eq!(m.check(), Err(Error::Manifest("more than 262144 pieces")));
    let m = manifest(&[("a", 100_000)], 32 * 1024);
    assert_eq!(
        (
            m.piece_count(),
            m.piece_len(0),
            m.piece_len(3),
            m.piece_len(4)
        ),
        (4, 32768, 1696, 0)
    );
    assert_eq!(piece_count(0, 16384), 0);
}

#[test]
fn the_id_covers_every_byte_of_the_manifest() {
    let a = manifest(&[("a", 10)], 16 * 1024);
    let mut b = a.clone();
    b.pieces_root[0] ^= 1;
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id(), Manifest::decode(&a.encode()).unwrap().id());
    let id = a.id();
    assert_eq!(ContentId::from_base32(&id.to_base32()).unwrap(), id);
    assert_eq!(id.to_base32().len(), 52);
}

#[test]
fn the_piece_table_is_checked_against_the_root() {
    let pieces: Vec<[u8; 32]> = [b"one".as_slice(), b"two", b"three"]
        .iter()
        .map(|p| piece_hash(p))
        .collect();
    let mut m = manifest(&[("a", 3 * 16 * 1024)], 16 * 1024);
    m.pieces_root = pieces_root(&pieces);
    m.check_piece_table(&pieces).unwrap();
    let mut swapped = pieces.clone();
    swapped.swap(0, 1);
    assert_eq!(
        m.check_piece_table(&swapped),
        Err(Error::HashMismatch("piece table"))
    );
    assert_eq!(
        m.check_piece_table(&pieces[..2]),
        Err(Error::HashMismatch("piece table"))
    );
}

#[test]
fn tokens_and_tickets() {
    let t = Token([9; 16]);
    assert_eq!(Token::from_base32(&t.to_base32()).unwrap(), t);
    assert_eq!(t.to_base32().len(), 26);
    assert_ne!(t.swarm(), Token([8; 16]).swarm());
    assert!(Token::from_base32("short").is_err());

    let kp = common::keypair(1);
    let content = manifest(&[("a", 1)], 16 * 1024).id();
    let ticket = Ticket::sign(&kp, t.swarm(), content);
    assert_eq!(ticket.verify(&kp.id(), &t.swarm()).unwrap(), content);
    assert!(
        ticket.verify(&common::keypair(2).id(), &t.swarm()).is_err(),
        "another signer"
    );
    assert!(
        ticket.verify(&kp.id(), &SwarmId([0; 32])).is_err(),
        "another swarm"
    );
    let mut forged = ticket.clone();
    forged.content = ContentId([1; 32]);
    assert_eq!(
        forged.verify(&kp.id(), &t.swarm()),
        Err(Error::BadSignature)
    );
}

proptest::proptest! {
    /// A piece hashed block by block, as a download receives it, has the
    /// hash of the whole piece.
    #[test]
    fn a_piece_hashed_as_it_arrives_has_the_whole_piece_hash(
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..70_000),
        block in 1usize..40_000,
    ) {
        let mut h = PieceHasher::new();
        for chunk in data.chunks(block) {
            h.update(chunk);
        }
        proptest::prop_assert_eq!(h.finish(), piece_hash(&data));
    }
}
