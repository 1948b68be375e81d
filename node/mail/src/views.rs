//! What the mail service shows: conversations, messages and its status,
//! as the CLI's `--json` and the panel's JSON API give them.

use serde::{Deserialize, Serialize};

use crate::Delivery;

/// A conversation in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    /// The other member's id.
    pub peer: String,
    /// The address it is reached at, when known.
    pub address: Option<String>,
    /// Messages from it not yet shown.
    pub unread: u32,
    /// When the last message came or went (unix seconds).
    pub last_at: u64,
    /// The start of the last text.
    pub preview: String,
}

/// A message of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// Its id (hex).
    pub id: String,
    /// Who wrote it (node id).
    pub author: String,
    /// Its place among the author's messages.
    pub seq: u64,
    /// When it was written (unix seconds, the author's clock).
    pub sent_at: u64,
    /// The text.
    pub text: String,
    /// Written by this node.
    pub outgoing: bool,
    /// `sending`, `stored` (by N boxes), `delivered` or `read`.
    pub delivery: Delivery,
    /// Why storing it was last refused.
    pub refusal: Option<String>,
}

/// The mail service at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailStatus {
    /// Conversations.
    pub conversations: u32,
    /// Messages not yet shown.
    pub unread: u32,
    /// Messages and receipts not yet stored or delivered.
    pub outbox: u32,
    /// Box: mailboxes held.
    pub mailboxes: u32,
    /// Box: envelopes held.
    pub envelopes: u64,
    /// Box: bytes held.
    pub bytes: u64,
    /// Box: each mailbox's byte quota.
    pub quota_bytes: u64,
}
