//! Property tests: everything round-trips, and no input makes a decoder panic.

#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use warren_proto::ProtocolVersion;
use warren_proto::frame::{Channel, Priority, decode_frame, encode_frame};
use warren_proto::handshake::{self, HandshakeMsg, Hello, MAGIC};
use warren_proto::msg::{CloseReason, ControlMsg, Message, PeerMsg};
use warren_proto::record::{IpAddress, MAX_HINTS};
use warren_proto::{
    NodeRecord, PeerAddr, Role, Services, SignedNodeRecord, TransportHint, decode_exact, encode,
};

fn hint() -> impl Strategy<Value = TransportHint> {
    prop_oneof![
        any::<u16>().prop_map(|port| TransportHint::Onion { port }),
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| TransportHint::Tcp {
            ip: IpAddress::V4(ip),
            port
        }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| TransportHint::Tcp {
            ip: IpAddress::V6(ip),
            port
        }),
        any::<u32>().prop_map(|port| TransportHint::Memory { port }),
    ]
}

fn signed_record() -> impl Strategy<Value = SignedNodeRecord> {
    (
        1u8..=255,
        any::<bool>(),
        any::<u32>(),
        prop::collection::vec(hint(), 0..=MAX_HINTS),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(seed, boxed, services, hints, issued_at, expires_at, pow_nonce)| {
                let kp = common::keypair(seed);
                NodeRecord {
                    id: kp.id(),
                    role: if boxed { Role::Box } else { Role::Member },
                    services: Services(services),
                    hints: heapless::Vec::from_iter(hints),
                    issued_at,
                    expires_at,
                    pow_nonce,
                }
                .sign(&kp)
                .unwrap()
            },
        )
}

fn close_reason() -> impl Strategy<Value = CloseReason> {
    prop_oneof![
        Just(CloseReason::Normal),
        Just(CloseReason::Shutdown),
        Just(CloseReason::Busy),
        Just(CloseReason::ProtocolViolation),
        Just(CloseReason::RateLimited),
        Just(CloseReason::Duplicate),
        Just(CloseReason::IdleTimeout),
        Just(CloseReason::Misbehaving),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn records_round_trip(r in signed_record()) {
        let bytes = r.encode();
        prop_assert_eq!(SignedNodeRecord::decode(&bytes).unwrap(), r);
    }

    #[test]
    fn control_round_trips(n in any::<u64>(), reason in close_reason()) {
        for m in [ControlMsg::Ping { nonce: n }, ControlMsg::Pong { nonce: n }, ControlMsg::Close { reason }] {
            let msg = Message::Control(m);
            prop_assert_eq!(Message::decode(ProtocolVersion::LATEST, msg.channel(), &msg.encode()).unwrap(), msg);
        }
    }

    #[test]
    fn peer_messages_round_trip(records in prop::collection::vec(signed_record(), 0..=4), max in any::<u8>()) {
        for m in [PeerMsg::GetPeers { max }, PeerMsg::Peers { records: warren_proto::BoundedVec::truncating(records.clone()) }] {
            let msg = Message::Peers(m);
            let payload = msg.encode();
            prop_assert!(payload.len() as u32 <= Channel::Peers.max_payload());
            prop_assert_eq!(Message::decode(ProtocolVersion::LATEST, Channel::Peers, &payload).unwrap(), msg);
        }
    }

    #[test]
    fn hello_round_trips(versions in prop::collection::vec(any::<u16>(), 0..=8), nonce in any::<[u8; 32]>()) {
        let m = HandshakeMsg::Hello(Hello { magic: MAGIC, versions: heapless::Vec::from_iter(versions), nonce });
        prop_assert_eq!(handshake::decode(&encode(&m)).unwrap(), m);
    }

    #[test]
    fn frames_round_trip(payload in prop::collection::vec(any::<u8>(), 0..=256), prio in 0u8..3) {
        let mut buf = Vec::new();
        let priority = Priority::from_u8(prio).unwrap();
        encode_frame(Channel::Control, priority, &payload, &mut buf).unwrap();
        let (h, p, used) = decode_frame(&buf).unwrap().unwrap();
        prop_assert_eq!((h.channel, h.priority, p, used), (Channel::Control, priority, &payload[..], buf.len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_frame(&bytes);
        let _ = handshake::decode(&bytes);
        for c in Channel::ALL {
            let _ = Message::decode(ProtocolVersion::LATEST, c, &bytes);
            let _ = Message::decode(ProtocolVersion::V1, c, &bytes);
        }
        let _ = SignedNodeRecord::decode(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = s.parse::<PeerAddr>();
        }
    }

    #[test]
    fn whatever_decodes_re_encodes_identically(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        // Decoding is canonical for control messages: no two byte strings
        // decode to the same message.
        if let Ok(m) = decode_exact::<ControlMsg>(&bytes) {
            prop_assert_eq!(encode(&m), bytes);
        }
    }
}

#[test]
fn a_full_peers_message_fits_its_channel() {
    let hints = heapless::Vec::from_iter(
        [TransportHint::Tcp {
            ip: IpAddress::V6([0xff; 16]),
            port: u16::MAX,
        }; MAX_HINTS],
    );
    let kp = common::keypair(1);
    let big = NodeRecord {
        id: kp.id(),
        role: Role::Box,
        services: Services(u32::MAX),
        hints,
        issued_at: u64::MAX,
        expires_at: u64::MAX,
        pow_nonce: u64::MAX,
    }
    .sign(&kp)
    .unwrap();
    let records = warren_proto::BoundedVec::truncating(std::iter::repeat_n(
        big,
        warren_proto::msg::MAX_PEERS_PER_MESSAGE,
    ));
    let payload = Message::Peers(PeerMsg::Peers { records }).encode();
    assert!(
        payload.len() as u32 <= Channel::Peers.max_payload(),
        "{} bytes",
        payload.len()
    );
}

#[test]
fn too_many_records_do_not_decode() {
    // A Peers message claiming 33 records is refused before any is decoded.
    let mut payload = vec![1u8, 33];
    payload.extend(std::iter::repeat_n(0u8, 100));
    assert!(Message::decode(ProtocolVersion::LATEST, Channel::Peers, &payload).is_err());
}

#[test]
fn bounded_vec_refuses_more_than_its_bound() {
    use warren_proto::BoundedVec;
    let five: Vec<u8> = vec![1, 2, 3, 4, 5];
    let bytes = encode(&five);
    assert!(decode_exact::<BoundedVec<u8, 4>>(&bytes).is_err());
    assert_eq!(
        decode_exact::<BoundedVec<u8, 5>>(&bytes)
            .unwrap()
            .as_slice(),
        &five[..]
    );
    let mut v = BoundedVec::<u8, 1>::new();
    assert_eq!(v.push(1), Ok(()));
    assert_eq!(v.push(2), Err(2));
    assert_eq!(BoundedVec::<u8, 2>::truncating(five).len(), 2);
}

mod v2 {
    use proptest::prelude::*;
    use warren_proto::ProtocolVersion;
    use warren_proto::content::{ContentId, SwarmId};
    use warren_proto::files::{FileMsg, MAX_BLOCK, RejectReason, Unavailable};
    use warren_proto::frame::Channel;
    use warren_proto::msg::Message;
    use warren_proto::tracker::TrackerMsg;
    use warren_proto::{BoundedBytes, BoundedVec};

    fn file_msg() -> impl Strategy<Value = FileMsg> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|s| FileMsg::Open { swarm: SwarmId(s) }),
            (any::<[u8; 32]>(), any::<u32>()).prop_map(|(c, l)| FileMsg::Opened {
                content: ContentId(c),
                manifest_len: l,
                ticket: None
            }),
            Just(FileMsg::Unknown),
            (any::<u32>(), any::<u32>(), any::<u32>())
                .prop_map(|(piece, offset, len)| FileMsg::Request { piece, offset, len }),
            (
                any::<u32>(),
                any::<u32>(),
                prop::collection::vec(any::<u8>(), 0..=MAX_BLOCK as usize)
            )
                .prop_map(|(piece, offset, d)| FileMsg::Block {
                    piece,
                    offset,
                    data: BoundedBytes::new(d).unwrap()
                }),
            (
                any::<u32>(),
                prop::collection::vec(any::<[u8; 32]>(), 0..=64)
            )
                .prop_map(|(first, h)| FileMsg::Hashes {
                    first,
                    hashes: BoundedVec::truncating(h)
                }),
            (any::<u32>(), any::<u32>()).prop_map(|(piece, offset)| FileMsg::Reject {
                piece,
                offset,
                reason: RejectReason::NotHave
            }),
            (any::<u32>(), any::<u32>(), unavailable()).prop_map(|(piece, offset, why)| {
                FileMsg::Reject {
                    piece,
                    offset,
                    reason: RejectReason::Unavailable(why),
                }
            }),
            unavailable().prop_map(|why| FileMsg::Unavailable { why }),
        ]
    }

    fn unavailable() -> impl Strategy<Value = Unavailable> {
        prop_oneof![
            Just(Unavailable::Changed),
            Just(Unavailable::Missing),
            Just(Unavailable::Checking),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        #[test]
        fn file_messages_round_trip_and_fit_their_channel(m in file_msg()) {
            let msg = Message::Files(m);
            let payload = msg.encode();
            prop_assert!(payload.len() as u32 <= Channel::Files.max_payload(), "{} bytes", payload.len());
            prop_assert_eq!(Message::decode(ProtocolVersion::V2, Channel::Files, &payload).unwrap(), msg);
        }

        #[test]
        fn tracker_messages_round_trip(s in prop::collection::vec(any::<[u8; 32]>(), 0..=64), since in any::<u64>()) {
            for m in [
                TrackerMsg::Announce { swarms: BoundedVec::truncating(s.iter().map(|x| SwarmId(*x))) },
                TrackerMsg::SyncGet { since },
            ] {
                let msg = Message::Tracker(m);
                prop_assert_eq!(Message::decode(ProtocolVersion::V2, Channel::Tracker, &msg.encode()).unwrap(), msg);
            }
        }
    }

    #[test]
    fn version_1_connections_refuse_version_2_channels() {
        let m = Message::Files(FileMsg::Unknown);
        assert!(Message::decode(ProtocolVersion::V1, Channel::Files, &m.encode()).is_err());
        let t = Message::Tracker(TrackerMsg::SyncGet { since: 1 });
        assert!(Message::decode(ProtocolVersion::V1, Channel::Tracker, &t.encode()).is_err());
    }

    #[test]
    fn the_largest_file_messages_fit() {
        let block = Message::Files(FileMsg::Block {
            piece: u32::MAX,
            offset: u32::MAX,
            data: BoundedBytes::new(vec![0; MAX_BLOCK as usize]).unwrap(),
        });
        let hashes = Message::Files(FileMsg::Hashes {
            first: u32::MAX,
            hashes: BoundedVec::truncating(std::iter::repeat_n(
                [0xff; 32],
                warren_proto::files::MAX_HASHES,
            )),
        });
        let bits = Message::Files(FileMsg::Bitfield {
            first: u32::MAX,
            bits: BoundedBytes::new(vec![0xff; warren_proto::files::MAX_BITFIELD]).unwrap(),
        });
        for m in [block, hashes, bits] {
            assert!(m.encode().len() as u32 <= Channel::Files.max_payload());
        }
    }

    #[test]
    fn the_largest_sync_page_fits() {
        use warren_proto::tracker::{CatalogueEntry, MAX_SYNC_ITEMS, SignedEntry, SyncItem};
        use warren_proto::{BoundedString, Keypair};
        let kp = Keypair::from_seed(&[1; 32]);
        let tag = BoundedString::new("t".repeat(32)).unwrap();
        let entry = SignedEntry::sign(
            CatalogueEntry {
                content: ContentId([0xff; 32]),
                name: BoundedString::new("n".repeat(255)).unwrap(),
                size: u64::MAX,
                files: u32::MAX,
                description: Some(BoundedString::new("d".repeat(1024)).unwrap()),
                tags: BoundedVec::truncating(std::iter::repeat_n(tag, 16)),
                publisher: kp.id(),
                published_at: u64::MAX,
            },
            &kp,
        )
        .unwrap();
        let page = Message::Tracker(TrackerMsg::SyncPage {
            items: BoundedVec::truncating(std::iter::repeat_n(
                SyncItem::Entry(entry),
                MAX_SYNC_ITEMS,
            )),
            next: u64::MAX,
            more: true,
        });
        let n = page.encode().len();
        assert!(n as u32 <= Channel::Tracker.max_payload(), "{n} bytes");
    }
}

mod blocks_in_place {
    use proptest::prelude::*;
    use warren_proto::files::{FileMsg, MAX_BLOCK, block_head, block_in_place};
    use warren_proto::{BoundedBytes, decode_exact, encode};

    proptest! {
        /// A block's head followed by its bytes is the message's encoding,
        /// and reading it in place finds the same fields and bytes.
        #[test]
        fn a_block_head_and_its_bytes_are_the_message(
            piece in any::<u32>(),
            offset in any::<u32>(),
            data in proptest::collection::vec(any::<u8>(), 0..=MAX_BLOCK as usize),
        ) {
            let msg = FileMsg::Block { piece, offset, data: BoundedBytes::new(data.clone()).unwrap() };
            let mut framed = block_head(piece, offset, data.len()).unwrap();
            framed.extend_from_slice(&data);
            prop_assert_eq!(&framed, &encode(&msg));
            let (p, o, at) = block_in_place(&framed).unwrap();
            prop_assert_eq!((p, o, &framed[at]), (piece, offset, &data[..]));
        }

        /// Whatever the bytes, reading a block in place agrees with the
        /// decoder: it finds a block exactly when the decoder does, and
        /// the same one.
        #[test]
        fn reading_in_place_agrees_with_the_decoder(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            cut in any::<prop::sample::Index>(),
            piece in any::<u32>(),
            offset in any::<u32>(),
        ) {
            let mut block = block_head(piece, offset, bytes.len()).unwrap();
            block.extend_from_slice(&bytes);
            // A real block, one cut short, one with a byte more, and noise.
            let cut_at = cut.index(block.len() + 1);
            let mut longer = block.clone();
            longer.push(0);
            for input in [&block[..], &block[..cut_at], &longer[..], &bytes[..]] {
                let decoded = decode_exact::<FileMsg>(input).ok().and_then(|m| match m {
                    FileMsg::Block { piece, offset, data } => Some((piece, offset, data.into_vec())),
                    _ => None,
                });
                let in_place = block_in_place(input).map(|(p, o, at)| (p, o, input[at].to_vec()));
                prop_assert_eq!(in_place, decoded);
            }
        }
    }

    #[test]
    fn a_block_over_the_limit_has_no_head() {
        assert!(block_head(0, 0, MAX_BLOCK as usize + 1).is_err());
        let mut over = encode(&(10u32, 1u32, 2u32, MAX_BLOCK + 1));
        over.resize(over.len() + MAX_BLOCK as usize + 1, 7);
        assert_eq!(block_in_place(&over), None);
    }
}
