//! The handshake: success, and every way it must fail.

#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW, keypair, policy, record, record_at};
use warren_proto::handshake::{
    self, Dialer, HandshakeMsg, Hello, HelloV2, Listener, ListenerStep, MAGIC, Purpose,
    RejectReason,
};
use warren_proto::service::ServiceName;
use warren_proto::{Error, ProtocolVersion, encode};

fn listener_accept(n: u8, hello: &[u8], nonce: [u8; 32]) -> (Listener, Vec<u8>) {
    match Listener::on_hello(hello, &keypair(n), &record(&keypair(n)), nonce).unwrap() {
        ListenerStep::Continue(l, accept) => (l, accept),
        ListenerStep::Reject(_, e) => panic!("rejected: {e}"),
    }
}

#[test]
fn both_sides_learn_the_verified_peer() {
    let (d, l) = (keypair(1), keypair(2));
    let (dialer, hello) = Dialer::start(d.id(), l.id(), [1; 32]).unwrap();
    let (listener, accept) = listener_accept(2, &hello, [2; 32]);
    let (auth, at_dialer) = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap();
    let at_listener = listener.on_auth(&auth, NOW, &policy()).unwrap();
    assert_eq!(at_dialer.peer.id(), l.id());
    assert_eq!(at_listener.peer.id(), d.id());
    assert_eq!(at_dialer.version, ProtocolVersion::LATEST);
    assert_eq!(at_listener.version, ProtocolVersion::LATEST);
    assert_eq!(at_dialer.purpose, Purpose::Peer);
    assert_eq!(at_listener.purpose, Purpose::Peer);
}

#[test]
fn dialer_refuses_a_different_key_than_dialed() {
    let d = keypair(1);
    let (dialer, hello) = Dialer::start(d.id(), keypair(2).id(), [1; 32]).unwrap();
    // Node 3 answers where node 2 was expected.
    let (_, accept) = listener_accept(3, &hello, [2; 32]);
    let err = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap_err();
    assert_eq!(
        err,
        Error::WrongPeer {
            expected: keypair(2).id(),
            actual: keypair(3).id()
        }
    );
}

#[test]
fn accept_from_another_session_is_refused() {
    let d = keypair(1);
    // A recorded Accept answering a different Hello (other nonce) is a replay.
    let (_, old_hello) = Dialer::start(d.id(), keypair(2).id(), [9; 32]).unwrap();
    let (_, old_accept) = listener_accept(2, &old_hello, [2; 32]);
    let (dialer, _) = Dialer::start(d.id(), keypair(2).id(), [1; 32]).unwrap();
    let err = dialer
        .on_answer(&old_accept, &d, &record(&d), NOW, &policy())
        .unwrap_err();
    assert_eq!(err, Error::BadSignature);
}

#[test]
fn auth_from_another_session_is_refused() {
    let (d, l) = (keypair(1), keypair(2));
    let (dialer, hello) = Dialer::start(d.id(), l.id(), [1; 32]).unwrap();
    let (_, accept) = listener_accept(2, &hello, [2; 32]);
    let (auth, _) = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap();
    // Same Hello replayed to the listener, which picks a fresh nonce.
    let (listener2, _) = listener_accept(2, &hello, [3; 32]);
    assert_eq!(
        listener2.on_auth(&auth, NOW, &policy()).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn auth_signed_by_someone_else_is_refused() {
    let (d, l, mallory) = (keypair(1), keypair(2), keypair(4));
    let (dialer, hello) = Dialer::start(mallory.id(), l.id(), [1; 32]).unwrap();
    let (listener, accept) = listener_accept(2, &hello, [2; 32]);
    // Mallory signs with her key but presents node 1's record.
    let (auth, _) = dialer
        .on_answer(&accept, &mallory, &record(&mallory), NOW, &policy())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut msg = handshake::decode(&auth).unwrap();
    if let HandshakeMsg::Auth(a) = &mut msg {
        a.record = record(&d);
    }
    assert_eq!(
        listener.on_auth(&encode(&msg), NOW, &policy()).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn records_in_the_handshake_are_checked() {
    let (d, l) = (keypair(1), keypair(2));
    let (dialer, hello) = Dialer::start(d.id(), l.id(), [1; 32]).unwrap();
    let stale = record_at(&l, NOW - 1000, 100);
    let ListenerStep::Continue(_, accept) =
        Listener::on_hello(&hello, &l, &stale, [2; 32]).unwrap()
    else {
        panic!()
    };
    let err = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap_err();
    assert_eq!(
        err,
        Error::Expired {
            expires_at: NOW - 900,
            now: NOW
        }
    );
}

#[test]
fn unknown_versions_get_a_reject() {
    let hello = encode(&HandshakeMsg::Hello(Hello {
        magic: MAGIC,
        versions: heapless::Vec::from_iter([7, 9]),
        nonce: [1; 32],
    }));
    let step = Listener::on_hello(&hello, &keypair(2), &record(&keypair(2)), [2; 32]).unwrap();
    let ListenerStep::Reject(payload, err) = step else {
        panic!("expected a reject")
    };
    assert_eq!(
        err,
        Error::UnsupportedVersion(heapless::Vec::from_iter([7, 9]))
    );
    let (dialer, _) = Dialer::start(keypair(1).id(), keypair(2).id(), [1; 32]).unwrap();
    let err = dialer
        .on_answer(&payload, &keypair(1), &record(&keypair(1)), NOW, &policy())
        .unwrap_err();
    assert_eq!(
        err,
        Error::Rejected(RejectReason::UnsupportedVersion {
            supported: heapless::Vec::from_iter([1, 2, 3, 4])
        })
    );
}

#[test]
fn newest_common_version_is_chosen() {
    assert_eq!(
        ProtocolVersion::negotiate(&[7, 1, 6]),
        Some(ProtocolVersion::V1)
    );
    assert_eq!(
        ProtocolVersion::negotiate(&[5, 1, 4]),
        Some(ProtocolVersion::V4)
    );
    assert_eq!(
        ProtocolVersion::negotiate(&[5, 1, 3]),
        Some(ProtocolVersion::V3)
    );
    assert_eq!(
        ProtocolVersion::negotiate(&[2, 1]),
        Some(ProtocolVersion::V2)
    );
    assert_eq!(ProtocolVersion::negotiate(&[]), None);
}

#[test]
fn bad_magic_and_wrong_order_are_refused() {
    let hello = encode(&HandshakeMsg::Hello(Hello {
        magic: *b"HTTP",
        versions: heapless::Vec::from_iter([1]),
        nonce: [1; 32],
    }));
    let kp = keypair(2);
    assert_eq!(
        Listener::on_hello(&hello, &kp, &record(&kp), [0; 32]).unwrap_err(),
        Error::BadMagic
    );
    let auth_first = encode(&HandshakeMsg::Reject(RejectReason::UnsupportedVersion {
        supported: heapless::Vec::new(),
    }));
    assert!(matches!(
        Listener::on_hello(&auth_first, &kp, &record(&kp), [0; 32]),
        Err(Error::Unexpected(_))
    ));
    assert!(matches!(
        Listener::on_hello(b"GET / HTTP/1.1\r\n", &kp, &record(&kp), [0; 32]),
        Err(Error::Decode(_))
    ));
}

#[test]
fn dialing_yourself_is_refused() {
    let kp = keypair(1);
    assert_eq!(
        Dialer::start(kp.id(), kp.id(), [0; 32]).unwrap_err(),
        Error::SelfConnection
    );
    // A listener that is reached by a node presenting the listener's own key.
    let (_, hello) = Dialer::start(keypair(3).id(), kp.id(), [0; 32]).unwrap();
    let (listener, _) = listener_accept(1, &hello, [2; 32]);
    let auth = encode(&HandshakeMsg::Auth(handshake::Auth {
        record: record(&kp),
        signature: kp.sign(b"x"),
    }));
    assert_eq!(
        listener.on_auth(&auth, NOW, &policy()).unwrap_err(),
        Error::SelfConnection
    );
}

#[test]
fn a_transfer_connection_says_so_and_needs_version_2() {
    let (d, l) = (keypair(1), keypair(2));
    let (dialer, hello) = Dialer::start_for(d.id(), l.id(), [1; 32], Purpose::Transfer).unwrap();
    assert!(matches!(
        handshake::decode(&hello).unwrap(),
        HandshakeMsg::HelloV2(_)
    ));
    let (listener, accept) = listener_accept(2, &hello, [2; 32]);
    let (auth, at_dialer) = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap();
    let at_listener = listener.on_auth(&auth, NOW, &policy()).unwrap();
    assert_eq!(
        (at_dialer.purpose, at_listener.purpose),
        (Purpose::Transfer, Purpose::Transfer)
    );

    // A transfer offered only version 1 is refused.
    let old = encode(&HandshakeMsg::HelloV2(HelloV2 {
        magic: MAGIC,
        versions: heapless::Vec::from_iter([1]),
        nonce: [1; 32],
        purpose: Purpose::Transfer,
    }));
    let step = Listener::on_hello(&old, &l, &record(&l), [2; 32]).unwrap();
    assert!(matches!(step, ListenerStep::Reject(..)));
}

#[test]
fn a_service_connection_names_its_service_and_needs_version_4() {
    let (d, l) = (keypair(1), keypair(2));
    let chat = Purpose::Service(ServiceName::new("warren/chat/1").unwrap());
    let (dialer, hello) = Dialer::start_for(d.id(), l.id(), [1; 32], chat.clone()).unwrap();
    let (listener, accept) = listener_accept(2, &hello, [2; 32]);
    let (auth, at_dialer) = dialer
        .on_answer(&accept, &d, &record(&d), NOW, &policy())
        .unwrap();
    let at_listener = listener.on_auth(&auth, NOW, &policy()).unwrap();
    assert_eq!(
        (
            &at_dialer.purpose,
            &at_listener.purpose,
            at_listener.version
        ),
        (&chat, &chat, ProtocolVersion::V4)
    );

    // Offered only versions 1 to 3, a service connection is refused.
    let old = encode(&HandshakeMsg::HelloV2(HelloV2 {
        magic: MAGIC,
        versions: heapless::Vec::from_iter([1, 2, 3]),
        nonce: [1; 32],
        purpose: chat,
    }));
    let step = Listener::on_hello(&old, &l, &record(&l), [2; 32]).unwrap();
    assert!(matches!(step, ListenerStep::Reject(..)));

    // A name breaking the rules does not decode.
    let mut bad = encode(&HandshakeMsg::HelloV2(HelloV2 {
        magic: MAGIC,
        versions: heapless::Vec::from_iter([4]),
        nonce: [1; 32],
        purpose: Purpose::Service(ServiceName::new("chat").unwrap()),
    }));
    let at = bad.len() - 4;
    bad[at] = b'C';
    assert!(Listener::on_hello(&bad, &l, &record(&l), [2; 32]).is_err());
}

#[test]
fn the_purpose_is_covered_by_the_signatures() {
    // A Hello for a peer connection rewritten in transit into a transfer
    // Hello breaks the listener's signature as the dialer checks it.
    let (d, l) = (keypair(1), keypair(2));
    let (dialer, _hello) = Dialer::start_for(d.id(), l.id(), [1; 32], Purpose::Peer).unwrap();
    let forged = encode(&HandshakeMsg::HelloV2(HelloV2 {
        magic: MAGIC,
        versions: heapless::Vec::from_iter([1, 2]),
        nonce: [1; 32],
        purpose: Purpose::Transfer,
    }));
    let (_, accept) = listener_accept(2, &forged, [2; 32]);
    assert_eq!(
        dialer
            .on_answer(&accept, &d, &record(&d), NOW, &policy())
            .unwrap_err(),
        Error::BadSignature
    );
}
