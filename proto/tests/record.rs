//! Record checks: every way a record can be refused.

#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW, keypair, policy, record, record_at};
use warren_proto::{Bytes64, Difficulty, Error, NodeRecord, RecordPolicy, Role, Services};

#[test]
fn a_good_record_verifies() {
    let v = record(&keypair(1)).verify(NOW, &policy()).unwrap();
    assert_eq!(v.id(), keypair(1).id());
    assert!(v.is_live(NOW));
}

#[test]
fn expired_future_and_overlong_records_are_refused() {
    let kp = keypair(1);
    let expired = record_at(&kp, NOW - 100, 50);
    assert_eq!(
        expired.verify(NOW, &policy()),
        Err(Error::Expired {
            expires_at: NOW - 50,
            now: NOW
        })
    );

    let future = record_at(&kp, NOW + 601, 100);
    assert_eq!(
        future.verify(NOW, &policy()),
        Err(Error::FutureDated {
            issued_at: NOW + 601,
            now: NOW
        })
    );
    // Within the allowed skew it is fine.
    record_at(&kp, NOW + 600, 100)
        .verify(NOW, &policy())
        .unwrap();

    let overlong = record_at(&kp, NOW, 8 * 86_400);
    assert_eq!(
        overlong.verify(NOW, &policy()),
        Err(Error::BadValidity {
            secs: 8 * 86_400,
            max: 7 * 86_400
        })
    );
    let empty = record_at(&kp, NOW, 0);
    assert_eq!(
        empty.verify(NOW, &policy()),
        Err(Error::BadValidity {
            secs: 0,
            max: 7 * 86_400
        })
    );
}

#[test]
fn tampered_records_fail_the_signature() {
    let kp = keypair(1);
    let mut r = record(&kp);
    r.record.role = Role::Box;
    assert_eq!(r.verify(NOW, &policy()), Err(Error::BadSignature));

    let mut r = record(&kp);
    r.signature = Bytes64([7; 64]);
    assert_eq!(r.verify(NOW, &policy()), Err(Error::BadSignature));

    // Somebody else's key signing a record that names us.
    let mut r = record(&kp);
    let forged = keypair(2).sign(b"anything");
    r.signature = forged;
    assert_eq!(r.verify(NOW, &policy()), Err(Error::BadSignature));
}

#[test]
fn under_worked_records_are_refused() {
    let kp = keypair(1);
    let r = record(&kp);
    let actual = warren_proto::pow::work_of(&kp.id(), r.record.pow_nonce);
    let strict = RecordPolicy {
        difficulty: Difficulty::new(actual + 1).unwrap(),
        ..policy()
    };
    assert_eq!(
        r.verify(NOW, &strict),
        Err(Error::InsufficientWork {
            required: actual + 1,
            actual
        })
    );
}

#[test]
fn only_the_owner_can_sign_its_record() {
    let body = NodeRecord {
        id: keypair(1).id(),
        role: Role::Member,
        services: Services::default(),
        hints: heapless::Vec::new(),
        issued_at: NOW,
        expires_at: NOW + 10,
        pow_nonce: 0,
    };
    assert!(matches!(body.sign(&keypair(2)), Err(Error::Unexpected(_))));
}

#[test]
fn only_newer_records_replace_held_ones() {
    let kp = keypair(1);
    let old = record_at(&kp, NOW - 100, 1000)
        .verify(NOW, &policy())
        .unwrap();
    let new = record_at(&kp, NOW - 10, 1000)
        .verify(NOW, &policy())
        .unwrap();
    new.newer_than(&old).unwrap();
    assert_eq!(
        old.newer_than(&new),
        Err(Error::Stale {
            issued_at: NOW - 100,
            held: NOW - 10
        })
    );
    assert_eq!(
        old.newer_than(&old),
        Err(Error::Stale {
            issued_at: NOW - 100,
            held: NOW - 100
        })
    );
}

#[test]
fn services_bits() {
    let s = Services::PEER_EXCHANGE.with(Services::SEED);
    assert!(s.contains(Services::SEED));
    assert!(!s.contains(Services::MAILBOX));
    // Unknown bits survive a round trip.
    let unknown = Services(1 << 30);
    let bytes = warren_proto::encode(&unknown);
    assert_eq!(
        warren_proto::decode_exact::<Services>(&bytes).unwrap(),
        unknown
    );
}
