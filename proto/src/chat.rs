//! Messages between members (SPEC.md §14): what a node writes in a
//! conversation, before it is encrypted end to end. Each message names its
//! author, its place in the author's sequence and the id of the author's
//! message before it, so a gap shows and can be asked for again; its id is
//! the hash of its encoding, so a copy that arrives twice (from two boxes)
//! is seen as one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::{BoundedString, BoundedVec};
use crate::codec::{decode_exact, encode};
use crate::{NodeId, Result};

/// The most bytes of a text's UTF-8 (Briar's body bound,
/// `SyncConstants.MAX_MESSAGE_BODY_LENGTH`, 32 KiB).
pub const MAX_TEXT: usize = 32 * 1024;
/// The most messages one receipt acknowledges.
pub const MAX_RECEIPT_IDS: usize = 256;
/// The most bytes an encoded [`ChatMessage`] takes: a full text and the
/// header (at most 32 + 32 + 10 + 33 + 10 + 1 + 3 bytes) fit; so does a
/// full receipt (3 + 256 × 32).
pub const MAX_ENCODED: usize = MAX_TEXT + 128;

/// What a hash over a conversation's two members starts with.
const CONVERSATION_CONTEXT: &[u8] = b"warren/conversation/1\0";
/// What a hash over a message's encoding starts with.
const MESSAGE_CONTEXT: &[u8] = b"warren/message/1\0";

/// A conversation between two nodes: SHA-256 of
/// `"warren/conversation/1\0" ‖ smaller id ‖ larger id` (ids as their 32
/// key bytes, compared as bytes), the same from both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationId(pub [u8; 32]);

impl ConversationId {
    /// The conversation between `a` and `b` (in either order).
    pub fn between(a: &NodeId, b: &NodeId) -> ConversationId {
        let (lo, hi) = if a.as_bytes() <= b.as_bytes() {
            (a, b)
        } else {
            (b, a)
        };
        let mut h = Sha256::new();
        h.update(CONVERSATION_CONTEXT);
        h.update(lo.as_bytes());
        h.update(hi.as_bytes());
        ConversationId(h.finalize().into())
    }
}

/// A message's id: SHA-256 of `"warren/message/1\0" ‖ its encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub [u8; 32]);

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Text for a person (index 0).
    Text(BoundedString<MAX_TEXT>),
    /// These messages of the other member's reached this node (index 1).
    Delivered(BoundedVec<MessageId, MAX_RECEIPT_IDS>),
    /// These messages of the other member's were shown to the person
    /// (index 2; sent only when read receipts are on).
    Read(BoundedVec<MessageId, MAX_RECEIPT_IDS>),
}

/// One message in a conversation, as its author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who wrote it (one of the conversation's two members).
    pub author: NodeId,
    /// Its place among the author's messages in the conversation, from 1.
    pub seq: u64,
    /// The id of the author's message `seq - 1`; none for the first.
    pub prev: Option<MessageId>,
    /// When it was written (unix seconds, the author's clock).
    pub sent_at: u64,
    /// What it says.
    pub body: Body,
}

impl ChatMessage {
    /// Its bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// A message from its bytes.
    ///
    /// # Errors
    /// [`crate::Error::MessageTooLarge`] over [`MAX_ENCODED`] bytes, a decoding
    /// error, trailing bytes, an encoding that is not the canonical one
    /// (an overlong varint), or [`crate::Error::Unexpected`] for a `seq`
    /// of 0 or a `prev` on the first message (or none on a later one).
    pub fn decode(bytes: &[u8]) -> Result<ChatMessage> {
        if bytes.len() > MAX_ENCODED {
            return Err(crate::Error::MessageTooLarge {
                what: "chat message",
                len: bytes.len(),
                max: MAX_ENCODED,
            });
        }
        let m: ChatMessage = decode_exact(bytes)?;
        // One encoding per message: an overlong varint would give the same
        // message other bytes.
        if m.encode() != bytes {
            return Err(crate::Error::Decode("not the canonical encoding"));
        }
        m.check()?;
        Ok(m)
    }

    /// Checks the rules decoding alone does not: `seq` starts at 1, and
    /// only the first message has no `prev`.
    ///
    /// # Errors
    /// [`crate::Error::Unexpected`].
    pub fn check(&self) -> Result<()> {
        match (self.seq, self.prev) {
            (0, _) => Err(crate::Error::Unexpected("a message sequence number of 0")),
            (1, Some(_)) => Err(crate::Error::Unexpected(
                "a first message with a previous one",
            )),
            (2.., None) => Err(crate::Error::Unexpected(
                "a later message without its previous one",
            )),
            _ => Ok(()),
        }
    }

    /// Its id.
    pub fn id(&self) -> MessageId {
        let mut h = Sha256::new();
        h.update(MESSAGE_CONTEXT);
        h.update(self.encode());
        MessageId(h.finalize().into())
    }

    /// Whether `self` is the author's next message after `previous` (same
    /// conversation and author, the next number, naming it): otherwise a
    /// message between them is missing (or one of them is not genuine).
    pub fn follows(&self, previous: &ChatMessage) -> bool {
        self.conversation == previous.conversation
            && self.author == previous.author
            && previous.seq.checked_add(1) == Some(self.seq)
            && self.prev == Some(previous.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    fn id(n: u8) -> NodeId {
        Keypair::from_seed(&[n; 32]).id()
    }

    fn text(author: NodeId, seq: u64, prev: Option<MessageId>, s: &str) -> ChatMessage {
        ChatMessage {
            conversation: ConversationId::between(&id(1), &id(2)),
            author,
            seq,
            prev,
            sent_at: 1_700_000_000,
            body: Body::Text(BoundedString::new(s).expect("short")),
        }
    }

    #[test]
    fn a_conversation_is_the_same_from_both_sides_and_differs_per_pair() {
        assert_eq!(
            ConversationId::between(&id(1), &id(2)),
            ConversationId::between(&id(2), &id(1))
        );
        assert_ne!(
            ConversationId::between(&id(1), &id(2)),
            ConversationId::between(&id(1), &id(3))
        );
    }

    #[test]
    fn a_thread_links_each_message_to_the_one_before() {
        let a = id(1);
        let m1 = text(a, 1, None, "one");
        let m2 = text(a, 2, Some(m1.id()), "two");
        let m3 = text(a, 3, Some(m2.id()), "three");
        assert!(m2.follows(&m1) && m3.follows(&m2));
        assert!(!m3.follows(&m1), "a gap shows");
        let forged = text(a, 2, Some(MessageId([9; 32])), "two");
        assert!(!forged.follows(&m1));
        assert_ne!(m2.id(), forged.id());
        for m in [&m1, &m2, &m3] {
            assert_eq!(&ChatMessage::decode(&m.encode()).expect("decodes"), m);
        }
    }

    #[test]
    fn bounds_and_rules_are_enforced_on_decoding() {
        let a = id(1);
        let full = text(a, 1, None, &"x".repeat(MAX_TEXT));
        assert!(full.encode().len() <= MAX_ENCODED);
        ChatMessage::decode(&full.encode()).expect("a full text decodes");
        let receipt = ChatMessage {
            body: Body::Delivered(BoundedVec::truncating(vec![MessageId([1; 32]); 1000])),
            ..text(a, 2, Some(full.id()), "")
        };
        assert!(receipt.encode().len() <= MAX_ENCODED);
        assert!(BoundedString::<MAX_TEXT>::new("x".repeat(MAX_TEXT + 1)).is_err());
        for bad in [
            text(a, 0, None, "zero"),
            text(a, 1, Some(MessageId([1; 32])), "first with prev"),
            text(a, 5, None, "later without prev"),
        ] {
            assert!(ChatMessage::decode(&bad.encode()).is_err(), "{bad:?}");
        }
        let mut long = full.encode();
        long.push(0);
        assert!(ChatMessage::decode(&long).is_err());
        // `seq` 1 written as an overlong varint (81 00): the same message,
        // other bytes; refused.
        let m = text(a, 1, None, "x");
        let bytes = m.encode();
        let at = 64; // after the conversation and the author
        assert_eq!(bytes[at], 1);
        let mut overlong = bytes[..at].to_vec();
        overlong.extend([0x81, 0x00]);
        overlong.extend(&bytes[at + 1..]);
        assert!(ChatMessage::decode(&overlong).is_err());
        assert!(ChatMessage::decode(&vec![0; MAX_ENCODED + 1]).is_err());
    }
}
