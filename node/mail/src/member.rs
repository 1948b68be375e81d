//! A member's conversations on the mail database: the threads, the outbox
//! of sealed envelopes not yet stored or delivered, the envelopes already
//! opened, and the ratchets. Every step is one transaction that also saves
//! the ratchets it moved, so a crash never leaves a message both sent and
//! unsent, or shown twice.

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use warren_proto::chat::{Body, ChatMessage, ConversationId, MAX_TEXT, MessageId};
use warren_proto::mail::{Envelope, EnvelopeId, MailboxId, SignedPrekeys};
use warren_proto::{BoundedString, BoundedVec, Keypair, NodeId};

use crate::db::{self, CONVERSATIONS, DbError, MESSAGE_IDS, MESSAGES, OUTBOX, SECRETS, SEEN, key2};
use crate::e2e::{E2e, Sealed};
use crate::{MailError, seal};

/// Characters of a conversation's last message shown in the list.
const PREVIEW_CHARS: usize = 80;
/// The most outbox entries handed to the courier at once.
const PENDING_BATCH: usize = 512;

/// Where one of this node's messages has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Written here, not yet stored by a box nor handed over.
    Sending,
    /// Stored by this many boxes (their signed receipts checked).
    Stored(u8),
    /// The recipient has it.
    Delivered,
    /// The recipient's person saw it (only when they send read receipts).
    Read,
}

/// A conversation as this node keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Conversation {
    pub(crate) peer: NodeId,
    /// The address to reach it at, when known.
    pub(crate) address: Option<String>,
    /// The key envelopes to it are sealed to (from its signed prekeys).
    pub(crate) their_key: Option<[u8; 32]>,
    next_seq: u64,
    /// Outbox entries to it waiting for keys (sealed in order once they
    /// come: nothing after them is sealed first).
    unsealed: u32,
    last_own: Option<MessageId>,
    pub(crate) unread: u32,
    pub(crate) last_at: u64,
    pub(crate) preview: String,
}

/// A message of a thread, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shown {
    /// Its id (hex in views).
    pub id: MessageId,
    /// Who wrote it.
    pub author: NodeId,
    /// Its place among the author's messages.
    pub seq: u64,
    /// When it was written (unix seconds, the author's clock).
    pub sent_at: u64,
    /// The text.
    pub text: String,
    /// Written by this node.
    pub outgoing: bool,
    /// For this node's messages: where it has got to.
    pub delivery: Delivery,
    /// Why the last attempt to store it was refused, when it was.
    pub refusal: Option<String>,
    /// Its outbox entry while it has one.
    outbox: Option<u64>,
}

/// An outbox entry: a message (or receipt) for `to`, sealed once keys are
/// known.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Outgoing {
    pub(crate) to: NodeId,
    pub(crate) message: MessageId,
    /// The encoded message, until it is sealed.
    plain: Option<Vec<u8>>,
    pub(crate) envelope: Option<Envelope>,
    /// A receipt: nothing shown waits on it.
    pub(crate) receipt: bool,
}

/// What an envelope's sealed bytes hold: the sender and its Olm message.
#[derive(Serialize, Deserialize)]
struct Inner {
    from: NodeId,
    sealed: Sealed,
}

/// What a batch of received envelopes came to.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Envelopes to acknowledge (opened now or before, or unreadable).
    pub(crate) ack: Vec<EnvelopeId>,
    /// Messages new to this node.
    pub(crate) new: u32,
    /// Envelopes that could not be opened.
    pub(crate) unreadable: u32,
}

fn conv_key(c: &ConversationId) -> &[u8] {
    &c.0
}

fn message_key(m: &ChatMessage) -> Vec<u8> {
    let mut k = m.conversation.0.to_vec();
    k.extend(m.sent_at.to_be_bytes());
    k.extend(m.author.as_bytes());
    k.extend(m.seq.to_be_bytes());
    k
}

/// The ratchets, the account and the mailbox key, made on first use.
///
/// # Errors
/// [`MailError::Db`], [`MailError::E2e`] for saved keys that do not read.
pub(crate) fn load_e2e(db: &Database) -> Result<E2e, MailError> {
    let t = db.begin_read()?.open_table(SECRETS)?;
    if let Some(v) = t.get(b"e2e".as_slice())? {
        return Ok(E2e::restore(v.value())?);
    }
    drop(t);
    let e2e = E2e::new();
    let tx = db.begin_write()?;
    save_e2e(&tx, &e2e)?;
    tx.commit()?;
    Ok(e2e)
}

fn save_e2e(tx: &WriteTransaction, e2e: &E2e) -> Result<(), MailError> {
    let bytes = e2e.save()?;
    tx.open_table(SECRETS)?
        .insert(b"e2e".as_slice(), bytes.as_slice())?;
    Ok(())
}

fn next_outbox_key(tx: &WriteTransaction) -> Result<u64, DbError> {
    let t = tx.open_table(OUTBOX)?;
    let last = t.last()?.map(|(k, _)| {
        let b = k.value();
        u64::from_be_bytes(b.try_into().unwrap_or([0; 8]))
    });
    Ok(last.map_or(1, |l| l + 1))
}

/// The member side, for the node `me` (whose key signs its prekeys).
pub(crate) struct Member {
    pub(crate) me: NodeId,
    pub(crate) keypair: std::sync::Arc<Keypair>,
}

impl Member {
    /// Writes `text` to `to`: the message, its place in the thread and its
    /// outbox entry, sealed at once when a session and `to`'s mailbox key
    /// are known. One transaction.
    pub(crate) fn send(
        &self,
        db: &Database,
        e2e: &mut E2e,
        to: NodeId,
        address: Option<String>,
        text: &str,
        now: u64,
    ) -> Result<Shown, MailError> {
        if to == self.me {
            return Err(MailError::ToSelf);
        }
        let text = BoundedString::<MAX_TEXT>::new(text).map_err(|_| MailError::TooLong {
            len: text.len(),
            max: MAX_TEXT,
        })?;
        let tx = db.begin_write()?;
        let conversation = ConversationId::between(&self.me, &to);
        let mut conv = self.conversation(&tx, conversation, to)?;
        if address.is_some() {
            conv.address = address;
        }
        let preview: String = text.as_str().chars().take(PREVIEW_CHARS).collect();
        let message = self.next_message(&mut conv, Body::Text(text.clone()), now);
        conv.last_at = now;
        conv.preview = preview;
        let id = message.id();
        let outbox = self.queue(&tx, e2e, &mut conv, &message, false, now)?;
        let shown = Shown {
            id,
            author: self.me,
            seq: message.seq,
            sent_at: now,
            text: text.as_str().to_string(),
            outgoing: true,
            delivery: Delivery::Sending,
            refusal: None,
            outbox: Some(outbox),
        };
        {
            let mut m = tx.open_table(MESSAGES)?;
            let key = message_key(&message);
            db::put(&mut m, &key, &shown)?;
            tx.open_table(MESSAGE_IDS)?
                .insert(id.0.as_slice(), key.as_slice())?;
        }
        self.save_conversation(&tx, &conv)?;
        save_e2e(&tx, e2e)?;
        tx.commit()?;
        Ok(shown)
    }

    fn conversation(
        &self,
        tx: &WriteTransaction,
        id: ConversationId,
        peer: NodeId,
    ) -> Result<Conversation, DbError> {
        let t = tx.open_table(CONVERSATIONS)?;
        Ok(
            db::get(&t, conv_key(&id), "conversations")?.unwrap_or(Conversation {
                peer,
                address: None,
                their_key: None,
                next_seq: 1,
                unsealed: 0,
                last_own: None,
                unread: 0,
                last_at: 0,
                preview: String::new(),
            }),
        )
    }

    /// Writes `conv` under its id.
    fn save_conversation(&self, tx: &WriteTransaction, conv: &Conversation) -> Result<(), DbError> {
        let id = ConversationId::between(&self.me, &conv.peer);
        db::put(&mut tx.open_table(CONVERSATIONS)?, &id.0, conv)
    }

    fn next_message(&self, conv: &mut Conversation, body: Body, now: u64) -> ChatMessage {
        let m = ChatMessage {
            conversation: ConversationId::between(&self.me, &conv.peer),
            author: self.me,
            seq: conv.next_seq,
            prev: conv.last_own,
            sent_at: now,
            body,
        };
        conv.next_seq += 1;
        conv.last_own = Some(m.id());
        m
    }

    /// Puts `message` in the outbox, sealed when it can be; its key.
    fn queue(
        &self,
        tx: &WriteTransaction,
        e2e: &mut E2e,
        conv: &mut Conversation,
        message: &ChatMessage,
        receipt: bool,
        now: u64,
    ) -> Result<u64, MailError> {
        let key = next_outbox_key(tx)?;
        let mut out = Outgoing {
            to: conv.peer,
            message: message.id(),
            plain: Some(message.encode()),
            envelope: None,
            receipt,
        };
        // Sealed now only when nothing before it to the same node waits
        // for keys: the ratchet seals in the order messages were written.
        match conv.their_key {
            Some(their) if conv.unsealed == 0 && e2e.has_session(&conv.peer) => {
                out.envelope =
                    Some(self.seal(e2e, &conv.peer, &their, None, &message.encode(), now)?);
                out.plain = None;
            }
            _ => conv.unsealed += 1,
        }
        db::put(&mut tx.open_table(OUTBOX)?, &key.to_be_bytes(), &out)?;
        Ok(key)
    }

    fn seal(
        &self,
        e2e: &mut E2e,
        to: &NodeId,
        their_key: &[u8; 32],
        prekeys: Option<(&SignedPrekeys, u32)>,
        body: &[u8],
        now: u64,
    ) -> Result<Envelope, MailError> {
        let sealed = e2e.encrypt(&self.keypair, *to, prekeys, body, now)?;
        let inner = warren_proto::encode(&Inner {
            from: self.me,
            sealed,
        });
        let bytes = seal::seal(their_key, &inner)?;
        Ok(Envelope::new(MailboxId::of(to), bytes)?)
    }

    /// The nodes whose outbox entries wait for keys (no session, or no
    /// mailbox key yet).
    pub(crate) fn needing_keys(&self, db: &Database) -> Result<Vec<NodeId>, MailError> {
        Ok(self
            .conversations(db)?
            .into_iter()
            .filter(|c| c.unsealed > 0)
            .map(|c| c.peer)
            .collect())
    }

    /// Seals every outbox entry to `to` that waits, in order, with its
    /// signed prekeys (checked; the one-time key `index` starts a session
    /// when there is none). One transaction.
    pub(crate) fn seal_waiting(
        &self,
        db: &Database,
        e2e: &mut E2e,
        to: NodeId,
        prekeys: &SignedPrekeys,
        index: Option<u32>,
        now: u64,
    ) -> Result<u32, MailError> {
        let p = prekeys
            .verify(&to)
            .map_err(|e| MailError::E2e(crate::e2e::E2eError::BadSignature(e)))?;
        let their_key = p.mailbox_key;
        let tx = db.begin_write()?;
        let mut sealed = 0;
        {
            let conversation = ConversationId::between(&self.me, &to);
            let mut conv = self.conversation(&tx, conversation, to)?;
            conv.their_key = Some(their_key);
            let mut t = tx.open_table(OUTBOX)?;
            let waiting: Vec<(Vec<u8>, Outgoing)> = t
                .iter()?
                .filter_map(|e| e.ok())
                .filter_map(|(k, v)| {
                    let o: Outgoing = postcard::from_bytes(v.value()).ok()?;
                    (o.to == to && o.envelope.is_none()).then(|| (k.value().to_vec(), o))
                })
                .collect();
            for (k, mut o) in waiting {
                let Some(plain) = o.plain.take() else {
                    continue;
                };
                let with = if e2e.has_session(&to) {
                    None
                } else {
                    index.map(|i| (prekeys, i))
                };
                o.envelope = Some(self.seal(e2e, &to, &their_key, with, &plain, now)?);
                db::put(&mut t, &k, &o)?;
                sealed += 1;
            }
            drop(t);
            conv.unsealed = 0;
            self.save_conversation(&tx, &conv)?;
        }
        save_e2e(&tx, e2e)?;
        tx.commit()?;
        Ok(sealed)
    }

    /// The outbox, oldest first (at most a batch).
    pub(crate) fn pending(&self, db: &Database) -> Result<Vec<(u64, Outgoing)>, MailError> {
        let t = db.begin_read()?.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for e in t.iter()?.take(PENDING_BATCH) {
            let (k, v) = e?;
            let key = u64::from_be_bytes(k.value().try_into().unwrap_or([0; 8]));
            let o: Outgoing =
                postcard::from_bytes(v.value()).map_err(|_| DbError::Damaged("outbox"))?;
            out.push((key, o));
        }
        Ok(out)
    }

    /// Outbox entry `key` reached `delivery` (stored by boxes, or handed to
    /// the recipient): it leaves the outbox and its message shows it.
    pub(crate) fn settled(
        &self,
        db: &Database,
        key: u64,
        delivery: Delivery,
    ) -> Result<(), MailError> {
        let tx = db.begin_write()?;
        let removed: Option<Outgoing> = {
            let mut t = tx.open_table(OUTBOX)?;
            let v = t.remove(key.to_be_bytes().as_slice())?;
            v.and_then(|v| postcard::from_bytes(v.value()).ok())
        };
        if let Some(o) = removed {
            self.update_shown(&tx, &o.message, |s| {
                s.outbox = None;
                s.refusal = None;
                if rank(delivery) > rank(s.delivery) {
                    s.delivery = delivery;
                }
            })?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Notes why outbox entry `key` was refused, for the person to see.
    pub(crate) fn refused(&self, db: &Database, key: u64, why: &str) -> Result<(), MailError> {
        let tx = db.begin_write()?;
        let o: Option<Outgoing> = db::get(&tx.open_table(OUTBOX)?, &key.to_be_bytes(), "outbox")?;
        if let Some(o) = o {
            self.update_shown(&tx, &o.message, |s| s.refusal = Some(why.to_string()))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn update_shown(
        &self,
        tx: &WriteTransaction,
        id: &MessageId,
        f: impl FnOnce(&mut Shown),
    ) -> Result<bool, DbError> {
        let Some(key) = tx
            .open_table(MESSAGE_IDS)?
            .get(id.0.as_slice())?
            .map(|k| k.value().to_vec())
        else {
            return Ok(false);
        };
        let mut m = tx.open_table(MESSAGES)?;
        let Some(mut s) = db::get::<Shown>(&m, &key, "messages")? else {
            return Ok(false);
        };
        f(&mut s);
        db::put(&mut m, &key, &s)?;
        Ok(true)
    }

    /// Opens what came (from a box, or handed over directly), in order,
    /// in one transaction: new texts join their threads (an id already
    /// shown is skipped), receipts move this node's messages on, and each
    /// sender's new texts are acknowledged with one receipt.
    pub(crate) fn receive(
        &self,
        db: &Database,
        e2e: &mut E2e,
        envelopes: Vec<Envelope>,
        now: u64,
    ) -> Result<Received, MailError> {
        let tx = db.begin_write()?;
        let mut out = Received::default();
        let mut texts: Vec<(NodeId, Vec<MessageId>)> = Vec::new();
        for env in envelopes {
            let id = env.id();
            out.ack.push(id);
            if tx.open_table(SEEN)?.get(id.0.as_slice())?.is_some() {
                continue;
            }
            tx.open_table(SEEN)?
                .insert(id.0.as_slice(), now.to_be_bytes().as_slice())?;
            let Some((from, message, their_key)) = self.open(e2e, &env) else {
                out.unreadable += 1;
                continue;
            };
            if self.apply(&tx, from, &message, their_key, now)? {
                out.new += 1;
                if matches!(message.body, Body::Text(_)) {
                    match texts.iter_mut().find(|(n, _)| *n == from) {
                        Some((_, ids)) => ids.push(message.id()),
                        None => texts.push((from, vec![message.id()])),
                    }
                }
            }
        }
        for (from, ids) in texts {
            let conversation = ConversationId::between(&self.me, &from);
            for chunk in ids.chunks(warren_proto::chat::MAX_RECEIPT_IDS) {
                let mut conv = self.conversation(&tx, conversation, from)?;
                let body = Body::Delivered(BoundedVec::truncating(chunk.iter().copied()));
                let receipt = self.next_message(&mut conv, body, now);
                self.queue(&tx, e2e, &mut conv, &receipt, true, now)?;
                self.save_conversation(&tx, &conv)?;
            }
        }
        save_e2e(&tx, e2e)?;
        tx.commit()?;
        Ok(out)
    }

    /// The sender and message of an envelope sealed to this node, if it
    /// opens and holds a genuine message of the conversation with its
    /// sender; and, on a first message, the sender's mailbox key (signed
    /// by it, checked by the decryption).
    fn open(
        &self,
        e2e: &mut E2e,
        env: &Envelope,
    ) -> Option<(NodeId, ChatMessage, Option<[u8; 32]>)> {
        if env.mailbox != MailboxId::of(&self.me) {
            return None;
        }
        let inner = e2e.mailbox_key().open(env.sealed.as_slice()).ok()?;
        let inner: Inner = warren_proto::decode_exact(&inner).ok()?;
        let plain = match e2e.decrypt(inner.from, &inner.sealed) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "an envelope does not decrypt");
                return None;
            }
        };
        let m = ChatMessage::decode(&plain).ok()?;
        let genuine = m.author == inner.from
            && m.conversation == ConversationId::between(&self.me, &inner.from);
        let their_key = match &inner.sealed {
            Sealed::PreKey { sender, .. } => Some(sender.prekeys.mailbox_key),
            Sealed::Normal { .. } => None,
        };
        genuine.then_some((inner.from, m, their_key))
    }

    /// Applies one message from `from`; whether it was new.
    fn apply(
        &self,
        tx: &WriteTransaction,
        from: NodeId,
        m: &ChatMessage,
        their_key: Option<[u8; 32]>,
        now: u64,
    ) -> Result<bool, MailError> {
        let id = m.id();
        if tx.open_table(MESSAGE_IDS)?.get(id.0.as_slice())?.is_some() {
            return Ok(false);
        }
        let mut conv = self.conversation(tx, m.conversation, from)?;
        if their_key.is_some() {
            conv.their_key = their_key;
        }
        match &m.body {
            Body::Text(text) => {
                let key = message_key(m);
                let shown = Shown {
                    id,
                    author: from,
                    seq: m.seq,
                    sent_at: m.sent_at,
                    text: text.as_str().to_string(),
                    outgoing: false,
                    delivery: Delivery::Delivered,
                    refusal: None,
                    outbox: None,
                };
                db::put(&mut tx.open_table(MESSAGES)?, &key, &shown)?;
                conv.unread += 1;
                conv.last_at = conv.last_at.max(now);
                conv.preview = text.as_str().chars().take(PREVIEW_CHARS).collect();
                tx.open_table(MESSAGE_IDS)?
                    .insert(id.0.as_slice(), key.as_slice())?;
            }
            Body::Delivered(ids) | Body::Read(ids) => {
                let reached = if matches!(m.body, Body::Read(_)) {
                    Delivery::Read
                } else {
                    Delivery::Delivered
                };
                let mut outboxes = Vec::new();
                for own in ids.as_slice() {
                    self.update_shown(tx, own, |s| {
                        if s.outgoing && rank(reached) > rank(s.delivery) {
                            s.delivery = reached;
                        }
                        s.refusal = None;
                        if let Some(k) = s.outbox.take() {
                            outboxes.push(k);
                        }
                    })?;
                }
                let mut t = tx.open_table(OUTBOX)?;
                for k in outboxes {
                    t.remove(k.to_be_bytes().as_slice())?;
                }
                // A receipt is kept only as its id (so it counts once).
                tx.open_table(MESSAGE_IDS)?
                    .insert(id.0.as_slice(), [].as_slice())?;
            }
        }
        self.save_conversation(tx, &conv)?;
        Ok(true)
    }

    /// Every conversation, the latest first.
    pub(crate) fn conversations(&self, db: &Database) -> Result<Vec<Conversation>, MailError> {
        let t = db.begin_read()?.open_table(CONVERSATIONS)?;
        let mut out = Vec::new();
        for e in t.iter()? {
            let (_, v) = e?;
            out.push(
                postcard::from_bytes::<Conversation>(v.value())
                    .map_err(|_| DbError::Damaged("conversations"))?,
            );
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.last_at));
        Ok(out)
    }

    /// The thread with `peer`, in order (at most the last `limit`).
    pub(crate) fn thread(
        &self,
        db: &Database,
        peer: &NodeId,
        limit: usize,
    ) -> Result<Vec<Shown>, MailError> {
        let conversation = ConversationId::between(&self.me, peer);
        let mut out = Vec::new();
        let t = db.begin_read()?.open_table(MESSAGES)?;
        let from = key2(&conversation.0, &[0; 8]);
        let to = key2(&conversation.0, &[0xff; 80]);
        for e in t.range(from.as_slice()..to.as_slice())?.rev().take(limit) {
            let (_, v) = e?;
            out.push(
                postcard::from_bytes::<Shown>(v.value())
                    .map_err(|_| DbError::Damaged("messages"))?,
            );
        }
        out.reverse();
        Ok(out)
    }

    /// Marks the conversation with `peer` read (nothing is written when
    /// it is); with `receipts`, tells `peer` which of its messages were
    /// shown (`Read` receipts, 256 ids each). One transaction.
    pub(crate) fn mark_read(
        &self,
        db: &Database,
        e2e: &mut E2e,
        peer: &NodeId,
        receipts: bool,
        now: u64,
    ) -> Result<(), MailError> {
        let conversation = ConversationId::between(&self.me, peer);
        let conv: Option<Conversation> = {
            let t = db.begin_read()?.open_table(CONVERSATIONS)?;
            db::get(&t, &conversation.0, "conversations")?
        };
        let Some(mut conv) = conv.filter(|c| c.unread > 0) else {
            return Ok(());
        };
        let tx = db.begin_write()?;
        if receipts {
            // The unread ones are the peer's last `unread` messages.
            let mut ids = Vec::new();
            {
                let t = tx.open_table(MESSAGES)?;
                let from = key2(&conversation.0, &[0; 8]);
                let to = key2(&conversation.0, &[0xff; 80]);
                for e in t.range(from.as_slice()..to.as_slice())?.rev() {
                    let (_, v) = e?;
                    let s: Shown = postcard::from_bytes(v.value())
                        .map_err(|_| DbError::Damaged("messages"))?;
                    if !s.outgoing {
                        ids.push(s.id);
                        if ids.len() >= conv.unread as usize {
                            break;
                        }
                    }
                }
            }
            ids.reverse();
            for chunk in ids.chunks(warren_proto::chat::MAX_RECEIPT_IDS) {
                let body = Body::Read(BoundedVec::truncating(chunk.iter().copied()));
                let receipt = self.next_message(&mut conv, body, now);
                self.queue(&tx, e2e, &mut conv, &receipt, true, now)?;
            }
            save_e2e(&tx, e2e)?;
        }
        conv.unread = 0;
        self.save_conversation(&tx, &conv)?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets opened envelopes' ids older than `keep_secs` (longer than
    /// any box keeps mail, so none comes back).
    pub(crate) fn forget_seen(
        &self,
        db: &Database,
        now: u64,
        keep_secs: u64,
    ) -> Result<(), MailError> {
        let cutoff = now.saturating_sub(keep_secs);
        let tx = db.begin_write()?;
        {
            let mut t = tx.open_table(SEEN)?;
            t.retain(|_, v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])) >= cutoff)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn rank(d: Delivery) -> u8 {
    match d {
        Delivery::Sending => 0,
        Delivery::Stored(_) => 1,
        Delivery::Delivered => 2,
        Delivery::Read => 3,
    }
}
