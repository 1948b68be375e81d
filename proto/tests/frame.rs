//! Framing limits and partial input.

#![allow(clippy::unwrap_used)]

use warren_proto::Error;
use warren_proto::frame::{
    Channel, HEADER_LEN, Header, MAX_PAYLOAD, Priority, decode_frame, encode_frame,
};

#[test]
fn frames_round_trip_and_report_consumed_bytes() {
    let mut buf = Vec::new();
    encode_frame(Channel::Peers, Priority::Normal, b"hello", &mut buf).unwrap();
    encode_frame(Channel::Control, Priority::Control, b"", &mut buf).unwrap();
    let (h, p, used) = decode_frame(&buf).unwrap().unwrap();
    assert_eq!(
        (h.channel, h.priority, p, used),
        (Channel::Peers, Priority::Normal, &b"hello"[..], 13)
    );
    let (h, p, used) = decode_frame(&buf[used..]).unwrap().unwrap();
    assert_eq!(
        (h.channel, p.len(), used),
        (Channel::Control, 0, HEADER_LEN)
    );
}

#[test]
fn partial_frames_ask_for_more() {
    let mut buf = Vec::new();
    encode_frame(Channel::Peers, Priority::Bulk, &[1; 100], &mut buf).unwrap();
    for cut in 0..buf.len() {
        assert_eq!(decode_frame(&buf[..cut]).unwrap(), None, "cut at {cut}");
    }
}

#[test]
fn oversized_frames_are_refused_from_the_header_alone() {
    let h = Header {
        len: 257,
        channel: Channel::Control,
        priority: Priority::Control,
    }
    .encode();
    assert_eq!(
        decode_frame(&h),
        Err(Error::FrameTooLarge { len: 257, max: 256 })
    );
    let huge = [0xff, 0xff, 0xff, 0xff, 0, 2, 1, 0];
    assert_eq!(
        decode_frame(&huge),
        Err(Error::FrameTooLarge {
            len: u32::MAX,
            max: 16 * 1024
        })
    );
    let mut out = Vec::new();
    let err = encode_frame(Channel::Control, Priority::Control, &[0; 300], &mut out).unwrap_err();
    assert_eq!(err, Error::FrameTooLarge { len: 300, max: 256 });
    assert!(out.is_empty());
    assert!(Channel::ALL.iter().all(|c| c.max_payload() <= MAX_PAYLOAD));
}

#[test]
fn unknown_header_fields_are_refused() {
    assert_eq!(
        decode_frame(&[0, 0, 0, 0, 0, 9, 0, 0]),
        Err(Error::UnknownChannel(9))
    );
    assert_eq!(
        decode_frame(&[0, 0, 0, 0, 0, 1, 3, 0]),
        Err(Error::UnknownPriority(3))
    );
    assert_eq!(
        decode_frame(&[0, 0, 0, 0, 0, 1, 0, 0x80]),
        Err(Error::ReservedFlags(0x80))
    );
}

#[test]
fn channel_numbers_are_stable() {
    for (n, c) in [
        (0u16, Channel::Handshake),
        (1, Channel::Control),
        (2, Channel::Peers),
        (3, Channel::Files),
        (4, Channel::Tracker),
    ] {
        assert_eq!(Channel::from_u16(n).unwrap(), c);
    }
    assert!(Priority::Control < Priority::Normal && Priority::Normal < Priority::Bulk);
}
