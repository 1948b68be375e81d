//! Exact encodings of the messages members write (format 1, SPEC.md §14),
//! pinned byte for byte in `vectors/chat1.txt` (same rules as
//! `snapshots.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use warren_proto::BoundedString;
use warren_proto::BoundedVec;
use warren_proto::chat::{Body, ChatMessage, ConversationId, MessageId};

const VECTORS: &str = include_str!("vectors/chat1.txt");

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    common::check_vector(VECTORS, name, value);
}

#[test]
fn messages_members_write() {
    let (a, b) = (common::keypair(1).id(), common::keypair(2).id());
    let conversation = ConversationId::between(&a, &b);
    check("conversation_id", &conversation);
    let first = ChatMessage {
        conversation,
        author: a,
        seq: 1,
        prev: None,
        sent_at: 1_700_000_000,
        body: Body::Text(BoundedString::new("hello").unwrap()),
    };
    check("chat_text_first", &first);
    check("message_id", &first.id());
    check(
        "chat_delivered",
        &ChatMessage {
            conversation,
            author: b,
            seq: 1,
            prev: None,
            sent_at: 1_700_000_005,
            body: Body::Delivered(BoundedVec::truncating([first.id()])),
        },
    );
    check(
        "chat_read_second",
        &ChatMessage {
            conversation,
            author: b,
            seq: 2,
            prev: Some(MessageId([0x11; 32])),
            sent_at: 1_700_000_009,
            body: Body::Read(BoundedVec::truncating([first.id()])),
        },
    );
}

#[test]
fn every_vector_is_checked() {
    common::every_vector_named(VECTORS, include_str!("snapshots_chat.rs"));
}
