//! Exact encodings of the mail service's messages (`warren/mail/1`,
//! SPEC.md §15), pinned byte for byte in `vectors/mail1.txt` (same rules
//! as `snapshots.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::BoundedVec;
use warren_proto::mail::{
    DepositResult, Envelope, EnvelopeId, Held, MailMsg, MailboxId, Prekeys, Refusal, SignedPrekeys,
    StoredReceipt,
};

const VECTORS: &str = include_str!("vectors/mail1.txt");

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

/// The smallest envelope, its sealed bytes counting up.
fn envelope(mailbox: MailboxId) -> Envelope {
    Envelope::new(mailbox, (0..2048u32).map(|i| i as u8).collect()).unwrap()
}

#[test]
fn mail_messages() {
    let (member, holder) = (common::keypair(1), common::keypair(2));
    let mailbox = MailboxId::of(&member.id());
    check("mailbox_id", &mailbox);
    let env = envelope(mailbox);
    check("envelope_id", &env.id());
    let prekeys = SignedPrekeys::sign(
        Prekeys {
            node: member.id(),
            identity_key: [0x11; 32],
            mailbox_key: [0x22; 32],
            one_time_keys: BoundedVec::truncating([[0x33; 32], [0x44; 32]]),
            issued_at: 1_700_000_000,
        },
        &member,
    );
    check(
        "register",
        &MailMsg::Register {
            prekeys: prekeys.clone(),
        },
    );
    check(
        "registered",
        &MailMsg::Registered {
            one_time_keys: 2,
            quota_bytes: 256 << 20,
            quota_count: 10_000,
        },
    );
    check("get_prekeys", &MailMsg::GetPrekeys { node: member.id() });
    check(
        "prekeys",
        &MailMsg::Prekeys {
            prekeys,
            one_time_key: Some(1),
        },
    );
    check(
        "deposit",
        &MailMsg::Deposit {
            envelopes: BoundedVec::truncating([env.clone()]),
        },
    );
    let receipt = StoredReceipt::sign(env.id(), 1_700_000_005, &holder);
    check(
        "deposited",
        &MailMsg::Deposited {
            results: BoundedVec::truncating([
                DepositResult::Stored(receipt),
                DepositResult::Refused(Refusal::QuotaCount { quota: 10_000 }),
                DepositResult::Refused(Refusal::RateLimited {
                    retry_after_secs: 30,
                }),
            ]),
        },
    );
    check("fetch", &MailMsg::Fetch { after: 7 });
    check(
        "page",
        &MailMsg::Page {
            items: BoundedVec::truncating([Held {
                cursor: 8,
                stored_at: 1_700_000_005,
                envelope: env.clone(),
            }]),
            more: false,
        },
    );
    check(
        "ack",
        &MailMsg::Ack {
            ids: BoundedVec::truncating([env.id()]),
        },
    );
    check("acked", &MailMsg::Acked { deleted: 1 });
    check(
        "deliver",
        &MailMsg::Deliver {
            envelope: env.clone(),
        },
    );
    check("accepted", &MailMsg::Accepted { envelope: env.id() });
    for (name, refusal) in [
        ("refused_not_member", Refusal::NotMember),
        ("refused_no_mailbox", Refusal::NoMailbox),
        (
            "refused_quota_bytes",
            Refusal::QuotaBytes { quota: 1 << 28 },
        ),
        ("refused_no_prekeys", Refusal::NoPrekeys),
        ("refused_unavailable", Refusal::Unavailable),
        ("refused_undecryptable", Refusal::Undecryptable),
        ("refused_not_a_box", Refusal::NotABox),
    ] {
        check(name, &MailMsg::Refused { refusal });
    }
}

#[test]
fn signatures_and_sizes() {
    let (member, holder) = (common::keypair(1), common::keypair(2));
    let env = envelope(MailboxId::of(&member.id()));
    let receipt = StoredReceipt::sign(env.id(), 5, &holder);
    receipt.verify().unwrap();
    let mut forged = receipt.clone();
    forged.stored_at = 6;
    assert!(forged.verify().is_err(), "a changed receipt checks");
    let prekeys = SignedPrekeys::sign(
        Prekeys {
            node: member.id(),
            identity_key: [1; 32],
            mailbox_key: [2; 32],
            one_time_keys: BoundedVec::truncating([[3; 32]]),
            issued_at: 9,
        },
        &member,
    );
    prekeys.verify(&member.id()).unwrap();
    assert!(
        prekeys.verify(&holder.id()).is_err(),
        "another node's prekeys accepted"
    );
    let mut swapped = prekeys.clone();
    swapped.prekeys.mailbox_key = [9; 32];
    assert!(
        swapped.verify(&member.id()).is_err(),
        "a substituted key checks"
    );
    // Only the sizes: one byte more or less is refused, on building and on
    // decoding.
    assert!(Envelope::new(env.mailbox, vec![0; 2047]).is_err());
    assert!(Envelope::new(env.mailbox, vec![0; 2049]).is_err());
    let mut bytes = MailMsg::Deliver { envelope: env }.encode();
    assert!(MailMsg::decode(&bytes).is_ok());
    // The varint length 2048 (0x80 0x10) becomes 2047 and a byte is cut.
    let at = bytes.windows(2).position(|w| w == [0x80, 0x10]).unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = 0x0f;
    bytes.pop();
    assert!(
        MailMsg::decode(&bytes).is_err(),
        "a 2047-byte envelope decodes"
    );
    assert!(MailMsg::decode(&vec![0; warren_proto::mail::MAX_MAIL_MSG + 1]).is_err());
    let _ = EnvelopeId([0; 32]);
}

#[test]
fn every_vector_is_checked() {
    common::every_vector_named(VECTORS, include_str!("snapshots_mail.rs"));
}
