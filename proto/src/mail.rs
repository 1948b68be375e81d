//! The mail service, `warren/mail/1` (SPEC.md §15): members' prekeys,
//! sealed envelopes deposited with the boxes that hold a member's mail,
//! fetched from a cursor and deleted once acknowledged; and the same
//! envelopes handed directly to a member that is online.
//!
//! A box reads none of it: an envelope names a [`MailboxId`] (a hash, not
//! an address) and carries bytes sealed to the recipient, padded to one of
//! [`ENVELOPE_SIZES`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::{BoundedBytes, BoundedVec, Bytes64};
use crate::codec::{decode_exact, encode};
use crate::{Keypair, NodeId, Result};

/// The service's name on the router.
pub const SERVICE: &str = "warren/mail/1";

/// The sizes an envelope's sealed bytes take (bytes): a padded plaintext
/// of 1, 4 or 16 KiB or the largest message, plus 1 KiB for the ratchet's
/// header, the sender's first-contact keys and the seal.
pub const ENVELOPE_SIZES: [usize; 4] = [2048, 5 * 1024, 17 * 1024, MAX_ENVELOPE];
/// The largest envelope's sealed bytes: the largest message
/// ([`crate::chat::MAX_ENCODED`]) rounded up, plus 1 KiB.
pub const MAX_ENVELOPE: usize = 34 * 1024;
/// The most envelopes one deposit or one page carries.
pub const MAX_PAGE: usize = 64;
/// The most bytes one [`MailMsg`] takes: a service frame's payload (64 KiB)
/// less room for the frame's own header.
pub const MAX_MAIL_MSG: usize = 63 * 1024;
/// The most envelope ids one acknowledgement names.
pub const MAX_ACK: usize = 256;
/// The most one-time keys one signed set carries: what `vodozemac` keeps
/// published for an account (`Account::max_number_of_one_time_keys`, 50).
pub const MAX_ONE_TIME_KEYS: usize = 50;

const MAILBOX_CONTEXT: &[u8] = b"warren/mailbox/1\0";
const ENVELOPE_CONTEXT: &[u8] = b"warren/envelope/1\0";
const PREKEYS_CONTEXT: &[u8] = b"warren/mail/prekeys/1\0";
const STORED_CONTEXT: &[u8] = b"warren/mail/stored/1\0";

/// Where a member's mail is held: SHA-256 of `"warren/mailbox/1\0" ‖ the
/// member's node id (32 key bytes)`. Senders compute it; envelopes and the
/// boxes' files name only this, never the member's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailboxId(pub [u8; 32]);

impl MailboxId {
    /// `node`'s mailbox.
    pub fn of(node: &NodeId) -> MailboxId {
        let mut h = Sha256::new();
        h.update(MAILBOX_CONTEXT);
        h.update(node.as_bytes());
        MailboxId(h.finalize().into())
    }
}

/// An envelope's id: SHA-256 of `"warren/envelope/1\0" ‖ mailbox (32) ‖
/// sealed bytes`. The same envelope deposited with two boxes has one id,
/// so one acknowledgement deletes it from both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EnvelopeId(pub [u8; 32]);

/// What a box holds for a member: bytes sealed to the member, of one of
/// [`ENVELOPE_SIZES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The recipient's mailbox.
    pub mailbox: MailboxId,
    /// The sealed bytes.
    pub sealed: BoundedBytes<MAX_ENVELOPE>,
}

impl Envelope {
    /// An envelope of `sealed` for `mailbox`.
    ///
    /// # Errors
    /// [`crate::Error::Unexpected`] when `sealed`'s length is not one of
    /// [`ENVELOPE_SIZES`].
    pub fn new(mailbox: MailboxId, sealed: Vec<u8>) -> Result<Envelope> {
        if !ENVELOPE_SIZES.contains(&sealed.len()) {
            return Err(crate::Error::Unexpected(
                "an envelope of another size than the sizes",
            ));
        }
        let sealed = BoundedBytes::new(sealed)
            .map_err(|_| crate::Error::Unexpected("an envelope over the largest size"))?;
        Ok(Envelope { mailbox, sealed })
    }

    /// Its id.
    pub fn id(&self) -> EnvelopeId {
        let mut h = Sha256::new();
        h.update(ENVELOPE_CONTEXT);
        h.update(self.mailbox.0);
        h.update(self.sealed.as_slice());
        EnvelopeId(h.finalize().into())
    }

    fn check(&self) -> Result<()> {
        if ENVELOPE_SIZES.contains(&self.sealed.len()) {
            Ok(())
        } else {
            Err(crate::Error::Unexpected(
                "an envelope of another size than the sizes",
            ))
        }
    }
}

/// A node's keys for mail, as it signs them: its Olm identity key and
/// one-time keys (for a sender's first message), and the key envelopes to
/// it are sealed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prekeys {
    /// The node.
    pub node: NodeId,
    /// Its Olm (Curve25519) identity key.
    pub identity_key: [u8; 32],
    /// The X25519 key envelopes to it are sealed to.
    pub mailbox_key: [u8; 32],
    /// One-time keys, each for one first contact.
    pub one_time_keys: BoundedVec<[u8; 32], MAX_ONE_TIME_KEYS>,
    /// When they were signed (unix seconds).
    pub issued_at: u64,
}

/// [`Prekeys`] with the node's Ed25519 signature over
/// `"warren/mail/prekeys/1\0" ‖ node (32) ‖ identity_key (32) ‖
/// mailbox_key (32) ‖ count (u32, big-endian) ‖ one-time keys (32 each) ‖
/// issued_at (u64, big-endian)`: fixed fields, so the signed bytes do not
/// depend on a serializer. A box that hands them out cannot substitute its
/// own keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPrekeys {
    /// What is signed.
    pub prekeys: Prekeys,
    /// The signature.
    pub signature: Bytes64,
}

fn prekeys_signed_bytes(p: &Prekeys) -> Vec<u8> {
    let mut out = PREKEYS_CONTEXT.to_vec();
    out.extend(p.node.as_bytes());
    out.extend(p.identity_key);
    out.extend(p.mailbox_key);
    out.extend((p.one_time_keys.len() as u32).to_be_bytes());
    for k in p.one_time_keys.as_slice() {
        out.extend(k);
    }
    out.extend(p.issued_at.to_be_bytes());
    out
}

impl SignedPrekeys {
    /// Signs `prekeys` with the node's key.
    pub fn sign(prekeys: Prekeys, keypair: &Keypair) -> SignedPrekeys {
        let signature = keypair.sign(&prekeys_signed_bytes(&prekeys));
        SignedPrekeys { prekeys, signature }
    }

    /// The prekeys, once the signature of the node they name checks and
    /// that node is `expected`.
    ///
    /// # Errors
    /// [`crate::Error::Unexpected`] for another node's prekeys;
    /// [`crate::Error::BadSignature`] (or a key error) when the signature
    /// does not check.
    pub fn verify(&self, expected: &NodeId) -> Result<&Prekeys> {
        if self.prekeys.node != *expected {
            return Err(crate::Error::Unexpected("another node's prekeys"));
        }
        self.prekeys
            .node
            .verify(&prekeys_signed_bytes(&self.prekeys), &self.signature)?;
        Ok(&self.prekeys)
    }
}

/// A box's word that it stores an envelope, signed with its node key over
/// `"warren/mail/stored/1\0" ‖ envelope id (32) ‖ stored_at (u64,
/// big-endian) ‖ holder (32)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReceipt {
    /// The envelope.
    pub envelope: EnvelopeId,
    /// When the box stored it (unix seconds, the box's clock).
    pub stored_at: u64,
    /// The box.
    pub holder: NodeId,
    /// The box's signature.
    pub signature: Bytes64,
}

fn stored_signed_bytes(envelope: &EnvelopeId, stored_at: u64, holder: &NodeId) -> Vec<u8> {
    let mut out = STORED_CONTEXT.to_vec();
    out.extend(envelope.0);
    out.extend(stored_at.to_be_bytes());
    out.extend(holder.as_bytes());
    out
}

impl StoredReceipt {
    /// The box `keypair` signs that it stored `envelope` at `stored_at`.
    pub fn sign(envelope: EnvelopeId, stored_at: u64, keypair: &Keypair) -> StoredReceipt {
        let holder = keypair.id();
        let signature = keypair.sign(&stored_signed_bytes(&envelope, stored_at, &holder));
        StoredReceipt {
            envelope,
            stored_at,
            holder,
            signature,
        }
    }

    /// Checks that `holder` signed it.
    ///
    /// # Errors
    /// The signature's error.
    pub fn verify(&self) -> Result<()> {
        self.holder.verify(
            &stored_signed_bytes(&self.envelope, self.stored_at, &self.holder),
            &self.signature,
        )
    }
}

/// Why a box (or a member) did not take a request. Append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The node does not trust the asker: only members deposit, register
    /// or fetch.
    #[error("this node does not trust you: only its members may use its mailboxes")]
    NotMember,
    /// No mailbox for that id here.
    #[error("no mailbox for this member here")]
    NoMailbox,
    /// The mailbox holds its most bytes.
    #[error("the recipient's mailbox is full ({quota} bytes)")]
    QuotaBytes {
        /// The bound.
        quota: u64,
    },
    /// The mailbox holds its most envelopes.
    #[error("the recipient's mailbox is full ({quota} messages)")]
    QuotaCount {
        /// The bound.
        quota: u32,
    },
    /// The sender deposited its most for now.
    #[error("too many messages: try again in {retry_after_secs} s")]
    RateLimited {
        /// When a deposit will be taken again.
        retry_after_secs: u32,
    },
    /// No prekeys (or no one-time key left) for that member here.
    #[error("no keys for a first message to this member here")]
    NoPrekeys,
    /// The node cannot store now (its disk or its store failed).
    #[error("the node cannot store mail now")]
    Unavailable,
    /// A member could not open an envelope handed to it.
    #[error("the recipient could not open the message")]
    Undecryptable,
    /// The node holds no mailboxes (it is not a box).
    #[error("this node holds no mailboxes")]
    NotABox,
}

/// One envelope's fate in a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DepositResult {
    /// Stored (or already held): the box's receipt.
    Stored(StoredReceipt),
    /// Not stored.
    Refused(Refusal),
}

/// An envelope a box holds, with its place in the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// Its cursor: fetch after this to get what follows.
    pub cursor: u64,
    /// When the box stored it (unix seconds).
    pub stored_at: u64,
    /// The envelope.
    pub envelope: Envelope,
}

/// Messages of the mail service. Each request is answered by the message
/// after it in this list (or [`MailMsg::Refused`]); a fetch by pages until
/// one says no more follow. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailMsg {
    /// Member → box: hold my mail; here are my prekeys (replacing any
    /// before).
    Register {
        /// The member's signed prekeys.
        prekeys: SignedPrekeys,
    },
    /// Box → member: registered.
    Registered {
        /// One-time keys the box still has to hand out for the member.
        one_time_keys: u32,
        /// The mailbox's byte quota.
        quota_bytes: u64,
        /// The mailbox's envelope quota.
        quota_count: u32,
    },
    /// Any → box or member: `node`'s prekeys, for a first message.
    GetPrekeys {
        /// Whose.
        node: NodeId,
    },
    /// Answer: the prekeys and which of their one-time keys is the asker's
    /// (each handed out once; none left: none).
    Prekeys {
        /// The signed prekeys.
        prekeys: SignedPrekeys,
        /// Index in `prekeys.one_time_keys` of the key for the asker.
        one_time_key: Option<u32>,
    },
    /// Member → box: store these.
    Deposit {
        /// The envelopes.
        envelopes: BoundedVec<Envelope, MAX_PAGE>,
    },
    /// Box → member: each envelope's fate, in order.
    Deposited {
        /// One per envelope.
        results: BoundedVec<DepositResult, MAX_PAGE>,
    },
    /// Member → box: what my mailbox holds after `after` (0: all).
    Fetch {
        /// The cursor.
        after: u64,
    },
    /// Box → member: a page of the mailbox, in cursor order.
    Page {
        /// The envelopes.
        items: BoundedVec<Held, MAX_PAGE>,
        /// Whether another page follows.
        more: bool,
    },
    /// Member → box: delete these from my mailbox (ids it does not hold are
    /// ignored).
    Ack {
        /// The envelopes.
        ids: BoundedVec<EnvelopeId, MAX_ACK>,
    },
    /// Box → member: how many were deleted.
    Acked {
        /// Deleted envelopes.
        deleted: u32,
    },
    /// Member → member: an envelope for you, directly.
    Deliver {
        /// The envelope.
        envelope: Envelope,
    },
    /// Answer: opened and kept.
    Accepted {
        /// The envelope's id.
        envelope: EnvelopeId,
    },
    /// Answer to any request: not done.
    Refused {
        /// Why.
        refusal: Refusal,
    },
}

impl MailMsg {
    /// Its bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// A message from its bytes.
    ///
    /// # Errors
    /// [`crate::Error::MessageTooLarge`] over [`MAX_MAIL_MSG`], a decoding
    /// error, trailing bytes, or [`crate::Error::Unexpected`] for an
    /// envelope of another size than [`ENVELOPE_SIZES`].
    pub fn decode(bytes: &[u8]) -> Result<MailMsg> {
        if bytes.len() > MAX_MAIL_MSG {
            return Err(crate::Error::MessageTooLarge {
                what: "mail message",
                len: bytes.len(),
                max: MAX_MAIL_MSG,
            });
        }
        let m: MailMsg = decode_exact(bytes)?;
        match &m {
            MailMsg::Deposit { envelopes } => {
                envelopes.as_slice().iter().try_for_each(Envelope::check)?
            }
            MailMsg::Page { items, .. } => items
                .as_slice()
                .iter()
                .try_for_each(|h| h.envelope.check())?,
            MailMsg::Deliver { envelope } => envelope.check()?,
            _ => {}
        }
        Ok(m)
    }
}
