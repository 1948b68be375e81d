#![allow(clippy::unwrap_used)]

use super::*;

fn node(n: u8) -> Keypair {
    Keypair::from_seed(&[n; 32])
}

/// Alice (node 1) and Bob (node 2) after Alice's first message and Bob's
/// answer: a session both ways, no more pre-key messages.
fn talking() -> (Keypair, Keypair, E2e, E2e) {
    let (ka, kb) = (node(1), node(2));
    let (mut a, mut b) = (E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 1, 100);
    let first = a.encrypt(&ka, kb.id(), Some((&bobs, 0)), b"", 101).unwrap();
    b.decrypt(ka.id(), &first).unwrap();
    let reply = b.encrypt(&kb, ka.id(), None, b"", 102).unwrap();
    a.decrypt(kb.id(), &reply).unwrap();
    (ka, kb, a, b)
}

/// Alice writes first, to Bob's signed prekeys (as a box would hand them
/// out: one one-time key); Bob answers; both go on.
#[test]
fn first_contact_from_signed_prekeys_then_a_conversation_both_ways() {
    let (ka, kb) = (node(1), node(2));
    let (mut a, mut b) = (E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 10, 100);
    assert_eq!(bobs.prekeys.one_time_keys.len(), 10);

    let first = a
        .encrypt(&ka, kb.id(), Some((&bobs, 0)), b"hello bob", 101)
        .unwrap();
    assert!(matches!(first, Sealed::PreKey { .. }));
    assert_eq!(b.decrypt(ka.id(), &first).unwrap(), b"hello bob");

    let reply = b.encrypt(&kb, ka.id(), None, b"hi alice", 102).unwrap();
    assert!(matches!(reply, Sealed::Normal { .. }));
    assert_eq!(a.decrypt(kb.id(), &reply).unwrap(), b"hi alice");

    for i in 0..5u8 {
        let m = a.encrypt(&ka, kb.id(), None, &[i; 3], 103).unwrap();
        assert!(
            matches!(m, Sealed::Normal { .. }),
            "after an answer, no pre-key"
        );
        assert_eq!(b.decrypt(ka.id(), &m).unwrap(), vec![i; 3]);
    }
}

/// Before Bob answers, Alice's later messages are pre-key messages of the
/// same session: Bob takes them on the session the first one made.
#[test]
fn repeated_pre_key_messages_land_on_one_session() {
    let (ka, kb) = (node(1), node(2));
    let (mut a, mut b) = (E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 1, 100);
    let m1 = a
        .encrypt(&ka, kb.id(), Some((&bobs, 0)), b"one", 101)
        .unwrap();
    let m2 = a.encrypt(&ka, kb.id(), None, b"two", 101).unwrap();
    assert!(matches!(m2, Sealed::PreKey { .. }));
    assert_eq!(b.decrypt(ka.id(), &m1).unwrap(), b"one");
    assert_eq!(b.decrypt(ka.id(), &m2).unwrap(), b"two");
    assert_eq!(b.sessions[&ka.id()].len(), 1);
}

/// A message decrypts once: the same bytes again are refused, not shown
/// twice.
#[test]
fn a_replayed_message_is_refused() {
    let (ka, kb) = (node(1), node(2));
    let (mut a, mut b) = (E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 1, 100);
    let first = a
        .encrypt(&ka, kb.id(), Some((&bobs, 0)), b"once", 101)
        .unwrap();
    b.decrypt(ka.id(), &first).unwrap();
    assert!(b.decrypt(ka.id(), &first).is_err());
    let reply = b.encrypt(&kb, ka.id(), None, b"ok", 102).unwrap();
    a.decrypt(kb.id(), &reply).unwrap();
    let m = a.encrypt(&ka, kb.id(), None, b"again", 103).unwrap();
    b.decrypt(ka.id(), &m).unwrap();
    assert!(matches!(b.decrypt(ka.id(), &m), Err(E2eError::Decrypt(_))));
}

/// Prekeys a box (or anyone) forged or swapped are refused before any
/// session starts; so is a first message whose sender key is not the
/// sender's.
#[test]
fn prekeys_not_signed_by_their_node_are_refused() {
    let (ka, kb, kbox) = (node(1), node(2), node(3));
    let (mut a, mut b, mut evil) = (E2e::new(), E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 2, 100);

    // The box offers its own keys as Bob's.
    let mut swapped = evil.prekeys(&kbox, 2, 100);
    swapped.prekeys.node = kb.id();
    assert!(matches!(
        a.encrypt(&ka, kb.id(), Some((&swapped, 0)), b"x", 101),
        Err(E2eError::BadSignature(_))
    ));
    // Its own, honestly signed, are not Bob's.
    let its_own = evil.prekeys(&kbox, 2, 100);
    assert!(matches!(
        a.encrypt(&ka, kb.id(), Some((&its_own, 0)), b"x", 101),
        Err(E2eError::WrongNode { .. })
    ));
    // One changed key breaks Bob's signature.
    let mut changed = bobs.clone();
    changed.prekeys.identity_key = swapped.prekeys.identity_key;
    assert!(matches!(
        a.encrypt(&ka, kb.id(), Some((&changed, 0)), b"x", 101),
        Err(E2eError::BadSignature(_))
    ));
    assert!(!a.has_session(&kb.id()));

    // A first message from Alice, claimed to be from the box: refused.
    let m = a
        .encrypt(&ka, kb.id(), Some((&bobs, 0)), b"hi", 101)
        .unwrap();
    assert!(matches!(
        b.decrypt(kbox.id(), &m),
        Err(E2eError::WrongNode { .. })
    ));
    assert!(matches!(
        a.encrypt(&ka, kbox.id(), None, b"x", 101),
        Err(E2eError::NoSession(_))
    ));
}

/// Ciphertexts show only the size class of the body.
#[test]
fn bodies_are_padded_to_size_classes() {
    let (ka, kb, mut a, mut b) = talking();
    let mut len = |body: &[u8]| {
        let Sealed::Normal { message } = a.encrypt(&ka, kb.id(), None, body, 103).unwrap() else {
            panic!("a normal message")
        };
        let got = b
            .decrypt(
                ka.id(),
                &Sealed::Normal {
                    message: message.clone(),
                },
            )
            .unwrap();
        assert_eq!(got, body);
        message.len()
    };
    let tiny = len(b"a");
    assert_eq!(tiny, len(&[7; 1020]), "both in the 1 KiB class");
    let mid = len(&[7; 1021]);
    assert!(mid > tiny);
    assert_eq!(mid, len(&[7; 4092]), "both in the 4 KiB class");
    let top = len(&[7; MAX_BODY]);
    assert!(top > len(&[7; 16 * 1024 - 4]));
    assert!(matches!(
        a.encrypt(&ka, kb.id(), None, &[7; MAX_BODY + 1], 104),
        Err(E2eError::TooLong(_))
    ));
}

#[test]
fn padding_round_trips_and_refuses_what_it_did_not_make() {
    for n in [0, 1, 1020, 1021, 4092, 4093, MAX_BODY] {
        let p = pad(&vec![9; n]).unwrap();
        assert!(PADDED_SIZES.contains(&p.len()));
        assert_eq!(unpad(&p).unwrap(), vec![9; n]);
    }
    let mut p = pad(b"abc").unwrap();
    *p.last_mut().unwrap() = 1;
    assert!(matches!(unpad(&p), Err(E2eError::BadPadding)));
    assert!(matches!(unpad(&[0; 100]), Err(E2eError::BadPadding)));
    let mut long = pad(b"abc").unwrap();
    long[..4].copy_from_slice(&5000u32.to_be_bytes());
    assert!(matches!(unpad(&long), Err(E2eError::BadPadding)));
}

/// Both sides save, are dropped and restored (a restart): the
/// conversation goes on, and a one-time key already used stays used.
#[test]
fn keys_and_ratchets_survive_a_restart() {
    let (ka, kb) = (node(1), node(2));
    let (mut a, mut b) = (E2e::new(), E2e::new());
    let bobs = b.prekeys(&kb, 1, 100);
    let first = a
        .encrypt(&ka, kb.id(), Some((&bobs, 0)), b"before", 101)
        .unwrap();
    assert_eq!(b.decrypt(ka.id(), &first).unwrap(), b"before");

    let mut a = E2e::restore(&a.save().unwrap()).unwrap();
    let mut b = E2e::restore(&b.save().unwrap()).unwrap();
    let reply = b.encrypt(&kb, ka.id(), None, b"after", 102).unwrap();
    assert_eq!(a.decrypt(kb.id(), &reply).unwrap(), b"after");
    let next = a.encrypt(&ka, kb.id(), None, b"still", 103).unwrap();
    assert_eq!(b.decrypt(ka.id(), &next).unwrap(), b"still");

    // The first message again, to the restored Bob: not a new session.
    assert!(b.decrypt(ka.id(), &first).is_err());
    assert!(matches!(
        E2e::restore(b"not saved state"),
        Err(E2eError::Saved(_))
    ));
}
