//! The member and box sides on real databases, without a network: first
//! contact through a box's prekeys, deposit, fetch, receipts, bounds, and
//! what a box's file holds.

#![allow(clippy::unwrap_used)]

use redb::Database;
use warren_proto::Keypair;
use warren_proto::mail::{DepositResult, MailMsg, Refusal};

use crate::boxes::{BoxLimits, Boxes};
use crate::e2e::E2e;
use crate::member::{Delivery, Member};

const LIMITS: BoxLimits = BoxLimits {
    quota_bytes: 1 << 20,
    quota_count: 100,
    retention_secs: 30 * 86_400,
    per_sender_per_minute: 60,
};

struct Node {
    kp: Keypair,
    db: Database,
    e2e: E2e,
    member: Member,
}

fn node(n: u8) -> Node {
    let kp = Keypair::from_seed(&[n; 32]);
    let db = crate::db::in_memory().unwrap();
    let e2e = crate::member::load_e2e(&db).unwrap();
    let member = Member {
        me: kp.id(),
        keypair: std::sync::Arc::new(Keypair::from_seed(&[n; 32])),
    };
    Node {
        kp,
        db,
        e2e,
        member,
    }
}

/// Registers `n` with the box, A writes `texts` to it through the box's
/// prekeys; A's envelopes deposited.
fn write_through_box(
    a: &mut Node,
    b: &mut Node,
    boxdb: &Database,
    boxes: &mut Boxes,
    texts: &[&str],
) -> Vec<DepositResult> {
    let prekeys = b.e2e.prekeys(&b.kp, 10, 100);
    assert!(matches!(
        boxes.register(boxdb, b.kp.id(), prekeys, 100).unwrap(),
        MailMsg::Registered {
            one_time_keys: 10,
            ..
        }
    ));
    for t in texts {
        a.member
            .send(&a.db, &mut a.e2e, b.kp.id(), None, t, 101)
            .unwrap();
    }
    assert_eq!(a.member.needing_keys(&a.db).unwrap(), vec![b.kp.id()]);
    let MailMsg::Prekeys {
        prekeys,
        one_time_key,
    } = boxes.prekeys(boxdb, &b.kp.id()).unwrap()
    else {
        panic!("no prekeys");
    };
    assert_eq!(one_time_key, Some(0));
    a.member
        .seal_waiting(&a.db, &mut a.e2e, b.kp.id(), &prekeys, one_time_key, 102)
        .unwrap();
    let pending = a.member.pending(&a.db).unwrap();
    let envs = pending
        .iter()
        .map(|(_, o)| o.envelope.clone().unwrap())
        .collect();
    boxes
        .deposit(boxdb, &Keypair::from_seed(&[9; 32]), a.kp.id(), envs, 103)
        .unwrap()
}

#[test]
fn first_contact_through_a_box_then_receipts_back() {
    let (mut a, mut b) = (node(1), node(2));
    let boxdb = crate::db::in_memory().unwrap();
    let mut boxes = Boxes::new(LIMITS);
    let results = write_through_box(&mut a, &mut b, &boxdb, &mut boxes, &["one", "two", "three"]);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, DepositResult::Stored(s) if s.verify().is_ok()))
    );
    for (k, _) in a.member.pending(&a.db).unwrap() {
        a.member.settled(&a.db, k, Delivery::Stored(1)).unwrap();
    }

    // B fetches, in order, and opens everything once.
    let MailMsg::Page { items, more } = boxes.page(&boxdb, &b.kp.id(), 0).unwrap() else {
        panic!()
    };
    assert!(!more);
    let envs: Vec<_> = items
        .as_slice()
        .iter()
        .map(|h| h.envelope.clone())
        .collect();
    let got = b
        .member
        .receive(&b.db, &mut b.e2e, envs.clone(), 110)
        .unwrap();
    assert_eq!((got.new, got.unreadable, got.ack.len()), (3, 0, 3));
    let again = b.member.receive(&b.db, &mut b.e2e, envs, 111).unwrap();
    assert_eq!(
        (again.new, again.ack.len()),
        (0, 3),
        "a second copy is acknowledged, not shown"
    );
    let thread = b.member.thread(&b.db, &a.kp.id(), 100).unwrap();
    let texts: Vec<_> = thread.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(boxes.ack(&boxdb, &b.kp.id(), &got.ack).unwrap(), 3);
    let MailMsg::Page { items, .. } = boxes.page(&boxdb, &b.kp.id(), 0).unwrap() else {
        panic!()
    };
    assert!(items.is_empty(), "acknowledged mail is deleted");

    // B's receipt is sealed at once (B has A's key from the first
    // message); A opens it and its messages show delivered.
    let receipts = b.member.pending(&b.db).unwrap();
    assert_eq!(receipts.len(), 1);
    let env = receipts[0]
        .1
        .envelope
        .clone()
        .expect("the receipt is sealed");
    a.member.receive(&a.db, &mut a.e2e, vec![env], 120).unwrap();
    let mine = a.member.thread(&a.db, &b.kp.id(), 100).unwrap();
    assert!(
        mine.iter().all(|s| s.delivery == Delivery::Delivered),
        "{mine:?}"
    );
    assert!(a.member.pending(&a.db).unwrap().is_empty());

    // B reads the thread with read receipts on: one receipt for the
    // three; A's messages show read. Reading again sends nothing more.
    b.member
        .mark_read(&b.db, &mut b.e2e, &a.kp.id(), true, 130)
        .unwrap();
    b.member
        .mark_read(&b.db, &mut b.e2e, &a.kp.id(), true, 131)
        .unwrap();
    let receipts = b.member.pending(&b.db).unwrap();
    assert_eq!(receipts.len(), 2, "the delivered and the read receipt");
    let env = receipts[1].1.envelope.clone().unwrap();
    a.member.receive(&a.db, &mut a.e2e, vec![env], 132).unwrap();
    let mine = a.member.thread(&a.db, &b.kp.id(), 100).unwrap();
    assert!(
        mine.iter().all(|s| s.delivery == Delivery::Read),
        "{mine:?}"
    );
    assert_eq!(b.member.conversations(&b.db).unwrap()[0].unread, 0);
}

#[test]
fn a_full_mailbox_refuses_new_mail_and_keeps_the_old() {
    let (mut a, mut b) = (node(1), node(2));
    let boxdb = crate::db::in_memory().unwrap();
    let mut boxes = Boxes::new(BoxLimits {
        quota_count: 2,
        ..LIMITS
    });
    let r = write_through_box(&mut a, &mut b, &boxdb, &mut boxes, &["1", "2", "3"]);
    assert!(matches!(r[0], DepositResult::Stored(_)));
    assert!(matches!(r[1], DepositResult::Stored(_)));
    assert_eq!(
        r[2],
        DepositResult::Refused(Refusal::QuotaCount { quota: 2 })
    );
    let MailMsg::Page { items, .. } = boxes.page(&boxdb, &b.kp.id(), 0).unwrap() else {
        panic!()
    };
    assert_eq!(items.len(), 2);
}

#[test]
fn a_sender_over_its_rate_is_refused_with_a_wait() {
    let (mut a, mut b) = (node(1), node(2));
    let boxdb = crate::db::in_memory().unwrap();
    let mut boxes = Boxes::new(BoxLimits {
        per_sender_per_minute: 2,
        ..LIMITS
    });
    let r = write_through_box(&mut a, &mut b, &boxdb, &mut boxes, &["1", "2", "3"]);
    assert!(
        matches!(r[2], DepositResult::Refused(Refusal::RateLimited { retry_after_secs }) if retry_after_secs <= 60)
    );
}

#[test]
fn expired_mail_is_dropped() {
    let (mut a, mut b) = (node(1), node(2));
    let boxdb = crate::db::in_memory().unwrap();
    let mut boxes = Boxes::new(LIMITS);
    write_through_box(&mut a, &mut b, &boxdb, &mut boxes, &["old"]);
    assert_eq!(
        boxes.expire(&boxdb, 103 + LIMITS.retention_secs).unwrap(),
        0
    );
    assert_eq!(
        boxes.expire(&boxdb, 104 + LIMITS.retention_secs).unwrap(),
        1
    );
    assert_eq!(boxes.list(&boxdb).unwrap()[0].envelopes, 0);
}

/// The box's file holds neither the text nor anything naming the sender.
#[test]
fn a_box_file_holds_no_plaintext_and_no_sender() {
    let (mut a, mut b) = (node(1), node(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.redb");
    let boxdb = crate::db::open(&path, 1 << 20).unwrap();
    let mut boxes = Boxes::new(LIMITS);
    let secret = "the secret meeting is at noon";
    write_through_box(&mut a, &mut b, &boxdb, &mut boxes, &[secret]);
    drop(boxdb);
    let bytes = std::fs::read(&path).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!has(secret.as_bytes()), "plaintext in the box's file");
    assert!(
        !has(a.kp.id().as_bytes()),
        "the sender's key in the box's file"
    );
    assert!(
        !has(a.kp.id().to_string().as_bytes()),
        "the sender's address in the box's file"
    );
}
