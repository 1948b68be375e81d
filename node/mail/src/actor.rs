//! The mail actor: the one owner of the mail database and the ratchets. It
//! runs on a thread of its own (its work is the database's: short
//! transactions that wait on the disk), fed by a bounded queue of
//! commands; [`MailHandle`] is how everyone else asks.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTableMetadata};
use tokio::sync::{mpsc, oneshot};
use warren_net::clock::SharedClock;
use warren_proto::mail::{DepositResult, Envelope, EnvelopeId, MailMsg, SignedPrekeys};
use warren_proto::{Keypair, NodeId};

use crate::boxes::{BoxLimits, Boxes, MailboxInfo};
use crate::db::{self, OUTBOX};
use crate::e2e::E2e;
use crate::member::{Delivery, Member, Outgoing, Received, Shown};
use crate::views::{ConversationView, MailStatus, MessageView};
use crate::{MailConfig, MailError};

/// Commands queued for the actor at most.
const QUEUE: usize = 256;
/// Page cache of the mail database (bytes): small, for a Pi Zero 2 W.
const CACHE_BYTES: usize = 4 << 20;

type Reply<T> = oneshot::Sender<Result<T, MailError>>;

enum Cmd {
    Send(NodeId, Option<String>, String, Reply<MessageView>),
    Conversations(Reply<Vec<ConversationView>>),
    Thread(NodeId, usize, bool, Reply<Vec<MessageView>>),
    Status(Reply<MailStatus>),
    Mailboxes(Reply<Vec<MailboxInfo>>),
    Register(NodeId, SignedPrekeys, Reply<MailMsg>),
    BoxPrekeys(NodeId, Reply<MailMsg>),
    Deposit(NodeId, Vec<Envelope>, Reply<Vec<DepositResult>>),
    Page(NodeId, u64, Reply<MailMsg>),
    Ack(NodeId, Vec<EnvelopeId>, Reply<u32>),
    Expire(Reply<u32>),
    Receive(Vec<Envelope>, Reply<Received>),
    OwnPrekeys(usize, Reply<SignedPrekeys>),
    Pending(Reply<Vec<(u64, Outgoing)>>),
    NeedingKeys(Reply<Vec<NodeId>>),
    SealWaiting(NodeId, Box<SignedPrekeys>, Option<u32>, Reply<u32>),
    Settled(u64, Delivery, Reply<()>),
    Refused(u64, String, Reply<()>),
}

/// Asks the mail actor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MailHandle {
    tx: mpsc::Sender<Cmd>,
    id: NodeId,
    is_box: bool,
    poke: Arc<tokio::sync::Notify>,
}

struct Actor {
    db: Database,
    e2e: E2e,
    keypair: Arc<Keypair>,
    member: Member,
    boxes: Option<Boxes>,
    limits: BoxLimits,
    /// Tell senders which of their messages were shown.
    read_receipts: bool,
    clock: SharedClock,
}

/// Opens the mail database (`path`; none: in memory) and starts the actor
/// on a thread of its own. `is_box`: this node holds mailboxes for its
/// members.
///
/// # Errors
/// [`MailError::Db`] when the database cannot be opened,
/// [`MailError::E2e`] when the saved keys do not read.
pub fn start(
    path: Option<&Path>,
    keypair: Arc<Keypair>,
    config: &MailConfig,
    is_box: bool,
    clock: SharedClock,
) -> Result<MailHandle, MailError> {
    let db = match path {
        Some(p) => db::open(p, CACHE_BYTES)?,
        None => db::in_memory()?,
    };
    let e2e = crate::member::load_e2e(&db)?;
    let id = keypair.id();
    let limits = config.box_limits();
    let actor = Actor {
        db,
        e2e,
        member: Member {
            me: id,
            keypair: keypair.clone(),
        },
        keypair,
        boxes: is_box.then(|| Boxes::new(limits)),
        limits,
        read_receipts: config.read_receipts,
        clock,
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    std::thread::Builder::new()
        .name("warren-mail".into())
        .spawn(move || actor.run(rx))
        .map_err(|e| MailError::Db(crate::DbError::Redb(e.to_string())))?;
    Ok(MailHandle {
        tx,
        id,
        is_box,
        poke: Arc::new(tokio::sync::Notify::new()),
    })
}

fn view(s: Shown) -> MessageView {
    MessageView {
        id: hex(&s.id.0),
        author: s.author.to_string(),
        seq: s.seq,
        sent_at: s.sent_at,
        text: s.text,
        outgoing: s.outgoing,
        delivery: s.delivery,
        refusal: s.refusal,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Actor {
    fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        while let Some(cmd) = rx.blocking_recv() {
            self.handle(cmd);
        }
        tracing::debug!("mail actor stopped");
    }

    fn not_a_box() -> MailMsg {
        MailMsg::Refused {
            refusal: warren_proto::mail::Refusal::NotABox,
        }
    }

    fn handle(&mut self, cmd: Cmd) {
        let now = self.clock.unix_now();
        let db = &self.db;
        match cmd {
            Cmd::Send(to, address, text, r) => {
                let res = self
                    .member
                    .send(db, &mut self.e2e, to, address, &text, now)
                    .map(view);
                let _ = r.send(res);
            }
            Cmd::Conversations(r) => {
                let res = self.member.conversations(db).map(|v| {
                    v.into_iter()
                        .map(|c| ConversationView {
                            peer: c.peer.to_string(),
                            address: c.address,
                            unread: c.unread,
                            last_at: c.last_at,
                            preview: c.preview,
                        })
                        .collect()
                });
                let _ = r.send(res);
            }
            Cmd::Thread(peer, limit, mark, r) => {
                let mut res = self
                    .member
                    .thread(db, &peer, limit)
                    .map(|v| v.into_iter().map(view).collect());
                if mark && res.is_ok() {
                    let receipts = self.read_receipts;
                    if let Err(e) = self
                        .member
                        .mark_read(db, &mut self.e2e, &peer, receipts, now)
                    {
                        self.reload();
                        res = Err(e);
                    }
                }
                let _ = r.send(res);
            }
            Cmd::Status(r) => {
                let _ = r.send(self.status());
            }
            Cmd::Mailboxes(r) => {
                let res = match &self.boxes {
                    Some(b) => b.list(db).map_err(MailError::from),
                    None => Ok(Vec::new()),
                };
                let _ = r.send(res);
            }
            Cmd::Register(member, prekeys, r) => {
                let res = match &self.boxes {
                    Some(b) => b.register(db, member, prekeys, now).map_err(Into::into),
                    None => Ok(Self::not_a_box()),
                };
                let _ = r.send(res);
            }
            Cmd::BoxPrekeys(node, r) => {
                let res = match &self.boxes {
                    Some(b) => b.prekeys(db, &node).map_err(Into::into),
                    None => Ok(Self::not_a_box()),
                };
                let _ = r.send(res);
            }
            Cmd::Deposit(sender, envs, r) => {
                let res = match &mut self.boxes {
                    Some(b) => b
                        .deposit(db, &self.keypair, sender, envs, now)
                        .map_err(Into::into),
                    None => Ok(Vec::new()),
                };
                let _ = r.send(res);
            }
            Cmd::Page(member, after, r) => {
                let res = match &self.boxes {
                    Some(b) => b.page(db, &member, after).map_err(Into::into),
                    None => Ok(Self::not_a_box()),
                };
                let _ = r.send(res);
            }
            Cmd::Ack(member, ids, r) => {
                let res = match &self.boxes {
                    Some(b) => b.ack(db, &member, &ids).map_err(Into::into),
                    None => Ok(0),
                };
                let _ = r.send(res);
            }
            Cmd::Expire(r) => {
                let res = match &self.boxes {
                    Some(b) => b.expire(db, now).map_err(Into::into),
                    None => Ok(0),
                };
                // Opened envelopes are remembered a day longer than boxes
                // keep them, so none is opened twice.
                let keep = self.limits.retention_secs.saturating_add(86_400);
                let res = res.and_then(|n| self.member.forget_seen(db, now, keep).map(|()| n));
                let _ = r.send(res);
            }
            Cmd::Receive(envs, r) => {
                let res = self.member.receive(db, &mut self.e2e, envs, now);
                if res.is_err() {
                    self.reload();
                }
                let _ = r.send(res);
            }
            Cmd::OwnPrekeys(count, r) => {
                let p = self.e2e.prekeys(&self.keypair, count, now);
                let res = self.save().map(|()| p);
                let _ = r.send(res);
            }
            Cmd::Pending(r) => {
                let _ = r.send(self.member.pending(db));
            }
            Cmd::NeedingKeys(r) => {
                let _ = r.send(self.member.needing_keys(db));
            }
            Cmd::SealWaiting(to, prekeys, index, r) => {
                let res = self
                    .member
                    .seal_waiting(db, &mut self.e2e, to, &prekeys, index, now);
                if res.is_err() {
                    self.reload();
                }
                let _ = r.send(res);
            }
            Cmd::Settled(key, d, r) => {
                let _ = r.send(self.member.settled(db, key, d));
            }
            Cmd::Refused(key, why, r) => {
                let _ = r.send(self.member.refused(db, key, &why));
            }
        }
    }

    /// After a failed transaction the ratchets in memory may be ahead of
    /// the saved ones: take the saved ones back.
    fn reload(&mut self) {
        match crate::member::load_e2e(&self.db) {
            Ok(e) => self.e2e = e,
            Err(e) => tracing::warn!(error = %e, "the saved ratchets do not read"),
        }
    }

    fn save(&self) -> Result<(), MailError> {
        let bytes = self.e2e.save()?;
        let tx = self.db.begin_write()?;
        tx.open_table(crate::db::SECRETS)?
            .insert(b"e2e".as_slice(), bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    fn status(&self) -> Result<MailStatus, MailError> {
        let conversations = self.member.conversations(&self.db)?;
        let outbox = self.db.begin_read()?.open_table(OUTBOX)?.len()?;
        let mut s = MailStatus {
            conversations: conversations.len() as u32,
            unread: conversations.iter().map(|c| c.unread).sum(),
            outbox: outbox as u32,
            quota_bytes: self.limits.quota_bytes,
            ..MailStatus::default()
        };
        if let Some(b) = &self.boxes {
            let list = b.list(&self.db)?;
            s.mailboxes = list.len() as u32;
            s.envelopes = list.iter().map(|m| u64::from(m.envelopes)).sum();
            s.bytes = list.iter().map(|m| m.bytes).sum();
        }
        Ok(s)
    }
}

impl MailHandle {
    /// This node.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether this node holds mailboxes.
    pub fn is_box(&self) -> bool {
        self.is_box
    }

    pub(crate) fn poked(&self) -> Arc<tokio::sync::Notify> {
        self.poke.clone()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, MailError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| MailError::Stopped)?;
        rx.await.map_err(|_| MailError::Stopped)?
    }

    /// Writes `text` to `to` (reached at `address` when given): kept at
    /// once (a crash after this returns loses nothing), then handed over
    /// or deposited by the courier.
    ///
    /// # Errors
    /// [`MailError::ToSelf`], [`MailError::TooLong`] (over 32 KiB), the
    /// database's errors.
    pub async fn send(
        &self,
        to: NodeId,
        address: Option<String>,
        text: String,
    ) -> Result<MessageView, MailError> {
        let v = self.ask(|r| Cmd::Send(to, address, text, r)).await?;
        self.poke.notify_one();
        Ok(v)
    }

    /// Every conversation, the latest first.
    ///
    /// # Errors
    /// The database's.
    pub async fn conversations(&self) -> Result<Vec<ConversationView>, MailError> {
        self.ask(Cmd::Conversations).await
    }

    /// The last `limit` messages with `peer`, oldest first; marks the
    /// conversation read when `mark_read`.
    ///
    /// # Errors
    /// The database's.
    pub async fn thread(
        &self,
        peer: NodeId,
        limit: usize,
        mark_read: bool,
    ) -> Result<Vec<MessageView>, MailError> {
        let v = self.ask(|r| Cmd::Thread(peer, limit, mark_read, r)).await?;
        if mark_read {
            // Read receipts may wait in the outbox.
            self.poke.notify_one();
        }
        Ok(v)
    }

    /// Conversations, unread, outbox; on a box, its mailboxes.
    ///
    /// # Errors
    /// The database's.
    pub async fn status(&self) -> Result<MailStatus, MailError> {
        self.ask(Cmd::Status).await
    }

    /// Box: the mailboxes held (empty on a member).
    ///
    /// # Errors
    /// The database's.
    pub async fn mailboxes(&self) -> Result<Vec<MailboxInfo>, MailError> {
        self.ask(Cmd::Mailboxes).await
    }

    pub(crate) async fn register(
        &self,
        member: NodeId,
        prekeys: SignedPrekeys,
    ) -> Result<MailMsg, MailError> {
        self.ask(|r| Cmd::Register(member, prekeys, r)).await
    }

    pub(crate) async fn box_prekeys(&self, node: NodeId) -> Result<MailMsg, MailError> {
        self.ask(|r| Cmd::BoxPrekeys(node, r)).await
    }

    pub(crate) async fn deposit(
        &self,
        sender: NodeId,
        envelopes: Vec<Envelope>,
    ) -> Result<Vec<DepositResult>, MailError> {
        self.ask(|r| Cmd::Deposit(sender, envelopes, r)).await
    }

    pub(crate) async fn page(&self, member: NodeId, after: u64) -> Result<MailMsg, MailError> {
        self.ask(|r| Cmd::Page(member, after, r)).await
    }

    pub(crate) async fn ack(&self, member: NodeId, ids: Vec<EnvelopeId>) -> Result<u32, MailError> {
        self.ask(|r| Cmd::Ack(member, ids, r)).await
    }

    pub(crate) async fn expire(&self) -> Result<u32, MailError> {
        self.ask(Cmd::Expire).await
    }

    pub(crate) async fn receive(&self, envelopes: Vec<Envelope>) -> Result<Received, MailError> {
        let r = self.ask(|r| Cmd::Receive(envelopes, r)).await?;
        if r.new > 0 {
            // Receipts wait in the outbox.
            self.poke.notify_one();
        }
        Ok(r)
    }

    pub(crate) async fn own_prekeys(&self, count: usize) -> Result<SignedPrekeys, MailError> {
        self.ask(|r| Cmd::OwnPrekeys(count, r)).await
    }

    pub(crate) async fn pending(&self) -> Result<Vec<(u64, Outgoing)>, MailError> {
        self.ask(Cmd::Pending).await
    }

    pub(crate) async fn needing_keys(&self) -> Result<Vec<NodeId>, MailError> {
        self.ask(Cmd::NeedingKeys).await
    }

    pub(crate) async fn seal_waiting(
        &self,
        to: NodeId,
        prekeys: SignedPrekeys,
        index: Option<u32>,
    ) -> Result<u32, MailError> {
        self.ask(|r| Cmd::SealWaiting(to, Box::new(prekeys), index, r))
            .await
    }

    pub(crate) async fn settled(&self, key: u64, d: Delivery) -> Result<(), MailError> {
        self.ask(|r| Cmd::Settled(key, d, r)).await
    }

    pub(crate) async fn refused(&self, key: u64, why: String) -> Result<(), MailError> {
        self.ask(|r| Cmd::Refused(key, why, r)).await
    }
}
