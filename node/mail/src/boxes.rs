//! Mailboxes a box holds for its members: blind stores of sealed
//! envelopes. The files hold mailbox ids, envelopes (sealed, padded),
//! sizes and times, and the members' signed prekeys; never a sender.
//!
//! Bounds ([`BoxLimits`]): each mailbox's bytes and envelopes (a full one
//! refuses new mail and keeps the old), how long undelivered mail is kept,
//! how many envelopes one sender deposits a minute. Rates are counted in
//! memory, never written.

use std::collections::HashMap;

use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};
use warren_proto::mail::{
    DepositResult, Envelope, EnvelopeId, Held, MAX_MAIL_MSG, MAX_PAGE, MailMsg, MailboxId, Refusal,
    SignedPrekeys, StoredReceipt,
};
use warren_proto::{BoundedBytes, BoundedVec, Keypair, NodeId};

use crate::db::{self, DbError, ENVELOPE_IDS, ENVELOPES, MAILBOXES, key2};

/// A box's bounds on the mail it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxLimits {
    /// Bytes of envelopes one mailbox holds at most.
    pub quota_bytes: u64,
    /// Envelopes one mailbox holds at most.
    pub quota_count: u32,
    /// How long an envelope is kept undelivered (seconds).
    pub retention_secs: u64,
    /// Envelopes one sender deposits per minute at most.
    pub per_sender_per_minute: u32,
}

/// A mailbox, as the box keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Mailbox {
    registered_at: u64,
    prekeys: SignedPrekeys,
    /// The next one-time key to hand out.
    next_one_time_key: u32,
    next_cursor: u64,
    bytes: u64,
    count: u32,
}

/// An envelope as the box keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    id: EnvelopeId,
    stored_at: u64,
    sealed: Vec<u8>,
}

/// One mailbox, for `warren mailboxes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxInfo {
    /// The member it holds mail for (from its signed prekeys).
    pub member: String,
    /// Envelopes held.
    pub envelopes: u32,
    /// Bytes held.
    pub bytes: u64,
    /// When the oldest was stored (unix seconds).
    pub oldest: Option<u64>,
    /// One-time keys left to hand out.
    pub one_time_keys: u32,
    /// When the member last registered (unix seconds).
    pub registered_at: u64,
}

/// The box side of the mail service, on the mail database.
pub(crate) struct Boxes {
    limits: BoxLimits,
    /// Per sender: the minute and how many it deposited in it.
    rates: HashMap<NodeId, (u64, u32)>,
}

/// The most senders whose rate is remembered at once.
const MAX_RATES: usize = 4096;

fn cursor_key(mailbox: &MailboxId, cursor: u64) -> Vec<u8> {
    key2(&mailbox.0, &cursor.to_be_bytes())
}

impl Boxes {
    pub(crate) fn new(limits: BoxLimits) -> Boxes {
        Boxes {
            limits,
            rates: HashMap::new(),
        }
    }

    /// `member` registers (or renews) its mailbox with these prekeys.
    pub(crate) fn register(
        &self,
        db: &Database,
        member: NodeId,
        prekeys: SignedPrekeys,
        now: u64,
    ) -> Result<MailMsg, DbError> {
        if prekeys.verify(&member).is_err() {
            return Ok(MailMsg::Refused {
                refusal: Refusal::NoPrekeys,
            });
        }
        let mailbox = MailboxId::of(&member);
        let one_time_keys = prekeys.prekeys.one_time_keys.len() as u32;
        let tx = db.begin_write()?;
        {
            let mut t = tx.open_table(MAILBOXES)?;
            let old: Option<Mailbox> = db::get(&t, &mailbox.0, "mailboxes")?;
            let (next_cursor, bytes, count) =
                old.map_or((1, 0, 0), |m| (m.next_cursor, m.bytes, m.count));
            let row = Mailbox {
                registered_at: now,
                prekeys,
                next_one_time_key: 0,
                next_cursor,
                bytes,
                count,
            };
            db::put(&mut t, &mailbox.0, &row)?;
        }
        tx.commit()?;
        Ok(MailMsg::Registered {
            one_time_keys,
            quota_bytes: self.limits.quota_bytes,
            quota_count: self.limits.quota_count,
        })
    }

    /// `node`'s prekeys, with a one-time key no one else was given.
    pub(crate) fn prekeys(&self, db: &Database, node: &NodeId) -> Result<MailMsg, DbError> {
        let mailbox = MailboxId::of(node);
        let tx = db.begin_write()?;
        let answer = {
            let mut t = tx.open_table(MAILBOXES)?;
            let row: Option<Mailbox> = db::get(&t, &mailbox.0, "mailboxes")?;
            match row {
                None => MailMsg::Refused {
                    refusal: Refusal::NoMailbox,
                },
                Some(mut row) => {
                    let one_time_key = (keys_left(&row) > 0).then_some(row.next_one_time_key);
                    if one_time_key.is_some() {
                        row.next_one_time_key += 1;
                        db::put(&mut t, &mailbox.0, &row)?;
                    }
                    MailMsg::Prekeys {
                        prekeys: row.prekeys,
                        one_time_key,
                    }
                }
            }
        };
        tx.commit()?;
        Ok(answer)
    }

    /// Whether `sender` may deposit `n` more envelopes this minute; counts
    /// them if so.
    fn take_rate(&mut self, sender: NodeId, n: u32, now: u64) -> Result<(), Refusal> {
        let minute = now / 60;
        if self.rates.len() >= MAX_RATES {
            self.rates.retain(|_, (m, _)| *m == minute);
        }
        let entry = self.rates.entry(sender).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1.saturating_add(n) > self.limits.per_sender_per_minute {
            return Err(Refusal::RateLimited {
                retry_after_secs: (60 - now % 60) as u32,
            });
        }
        entry.1 += n;
        Ok(())
    }

    /// Stores what `sender` (a member) deposits, in one transaction: each
    /// envelope gets a signed receipt or a refusal. An envelope already held
    /// gets its receipt again (a sender retrying after a crash).
    pub(crate) fn deposit(
        &mut self,
        db: &Database,
        keypair: &Keypair,
        sender: NodeId,
        envelopes: Vec<Envelope>,
        now: u64,
    ) -> Result<Vec<DepositResult>, DbError> {
        let tx = db.begin_write()?;
        let mut results = Vec::with_capacity(envelopes.len());
        {
            let mut boxes = tx.open_table(MAILBOXES)?;
            let mut envs = tx.open_table(ENVELOPES)?;
            let mut ids = tx.open_table(ENVELOPE_IDS)?;
            for env in envelopes {
                let id = env.id();
                if let Some(k) = ids.get(id.0.as_slice())? {
                    let held: Option<Stored> = db::get(&envs, k.value(), "envelopes")?;
                    if let Some(held) = held {
                        results.push(DepositResult::Stored(StoredReceipt::sign(
                            id,
                            held.stored_at,
                            keypair,
                        )));
                        continue;
                    }
                }
                let Some(mut row) = db::get::<Mailbox>(&boxes, &env.mailbox.0, "mailboxes")? else {
                    results.push(DepositResult::Refused(Refusal::NoMailbox));
                    continue;
                };
                let size = env.sealed.len() as u64;
                let refusal = if row.count >= self.limits.quota_count {
                    Some(Refusal::QuotaCount {
                        quota: self.limits.quota_count,
                    })
                } else if row.bytes + size > self.limits.quota_bytes {
                    Some(Refusal::QuotaBytes {
                        quota: self.limits.quota_bytes,
                    })
                } else {
                    self.take_rate(sender, 1, now).err()
                };
                if let Some(r) = refusal {
                    results.push(DepositResult::Refused(r));
                    continue;
                }
                let key = cursor_key(&env.mailbox, row.next_cursor);
                row.next_cursor += 1;
                row.bytes += size;
                row.count += 1;
                db::put(&mut boxes, &env.mailbox.0, &row)?;
                let stored = Stored {
                    id,
                    stored_at: now,
                    sealed: env.sealed.into_vec(),
                };
                db::put(&mut envs, &key, &stored)?;
                ids.insert(id.0.as_slice(), key.as_slice())?;
                results.push(DepositResult::Stored(StoredReceipt::sign(id, now, keypair)));
            }
        }
        tx.commit()?;
        Ok(results)
    }

    /// A page of `member`'s mailbox after `after`: at most [`MAX_PAGE`]
    /// envelopes in one message of at most [`MAX_MAIL_MSG`] bytes; whether
    /// more follow.
    pub(crate) fn page(
        &self,
        db: &Database,
        member: &NodeId,
        after: u64,
    ) -> Result<MailMsg, DbError> {
        let mailbox = MailboxId::of(member);
        let t = db.begin_read()?.open_table(ENVELOPES)?;
        let from = cursor_key(&mailbox, after.saturating_add(1));
        let to = cursor_key(&mailbox, u64::MAX);
        let mut items = BoundedVec::new();
        let mut bytes = 16;
        let mut more = false;
        for entry in t.range(from.as_slice()..=to.as_slice())? {
            let (k, v) = entry?;
            let stored: Stored =
                postcard::from_bytes(v.value()).map_err(|_| DbError::Damaged("envelopes"))?;
            let cursor = u64::from_be_bytes(
                k.value()[32..40]
                    .try_into()
                    .map_err(|_| DbError::Damaged("envelopes"))?,
            );
            let size = stored.sealed.len() + 64;
            if items.len() == MAX_PAGE || bytes + size > MAX_MAIL_MSG {
                more = true;
                break;
            }
            bytes += size;
            let sealed =
                BoundedBytes::new(stored.sealed).map_err(|_| DbError::Damaged("envelopes"))?;
            let held = Held {
                cursor,
                stored_at: stored.stored_at,
                envelope: Envelope { mailbox, sealed },
            };
            if items.push(held).is_err() {
                more = true;
                break;
            }
        }
        Ok(MailMsg::Page { items, more })
    }

    /// Deletes these envelopes from `member`'s mailbox (others' are left
    /// alone); how many were deleted.
    pub(crate) fn ack(
        &self,
        db: &Database,
        member: &NodeId,
        ids: &[EnvelopeId],
    ) -> Result<u32, DbError> {
        let mailbox = MailboxId::of(member);
        let tx = db.begin_write()?;
        let mut deleted = 0;
        {
            let mut boxes = tx.open_table(MAILBOXES)?;
            let mut envs = tx.open_table(ENVELOPES)?;
            let mut index = tx.open_table(ENVELOPE_IDS)?;
            let Some(mut row) = db::get::<Mailbox>(&boxes, &mailbox.0, "mailboxes")? else {
                return Ok(0);
            };
            for id in ids {
                let Some(key) = index.get(id.0.as_slice())?.map(|k| k.value().to_vec()) else {
                    continue;
                };
                if key[..32] != mailbox.0 {
                    continue;
                }
                if let Some(old) = envs.remove(key.as_slice())? {
                    let stored: Option<Stored> = postcard::from_bytes(old.value()).ok();
                    row.bytes = row
                        .bytes
                        .saturating_sub(stored.map_or(0, |s| s.sealed.len() as u64));
                    row.count = row.count.saturating_sub(1);
                    deleted += 1;
                }
                index.remove(id.0.as_slice())?;
            }
            db::put(&mut boxes, &mailbox.0, &row)?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    /// Deletes envelopes stored before `now - retention`; how many.
    pub(crate) fn expire(&self, db: &Database, now: u64) -> Result<u32, DbError> {
        let cutoff = now.saturating_sub(self.limits.retention_secs);
        let mut old: Vec<(Vec<u8>, EnvelopeId, u64)> = Vec::new();
        {
            let t = db.begin_read()?.open_table(ENVELOPES)?;
            for entry in t.iter()? {
                let (k, v) = entry?;
                let s: Stored =
                    postcard::from_bytes(v.value()).map_err(|_| DbError::Damaged("envelopes"))?;
                if s.stored_at < cutoff {
                    old.push((k.value().to_vec(), s.id, s.sealed.len() as u64));
                }
            }
        }
        if old.is_empty() {
            return Ok(0);
        }
        let tx = db.begin_write()?;
        {
            let mut boxes = tx.open_table(MAILBOXES)?;
            let mut envs = tx.open_table(ENVELOPES)?;
            let mut index = tx.open_table(ENVELOPE_IDS)?;
            for (key, id, size) in &old {
                envs.remove(key.as_slice())?;
                index.remove(id.0.as_slice())?;
                let mailbox = &key[..32];
                if let Some(mut row) = db::get::<Mailbox>(&boxes, mailbox, "mailboxes")? {
                    row.bytes = row.bytes.saturating_sub(*size);
                    row.count = row.count.saturating_sub(1);
                    db::put(&mut boxes, mailbox, &row)?;
                }
            }
        }
        tx.commit()?;
        Ok(old.len() as u32)
    }

    /// Every mailbox held.
    pub(crate) fn list(&self, db: &Database) -> Result<Vec<MailboxInfo>, DbError> {
        let rtx = db.begin_read()?;
        let boxes = rtx.open_table(MAILBOXES)?;
        let envs = rtx.open_table(ENVELOPES)?;
        let mut out = Vec::new();
        for entry in boxes.iter()? {
            let (k, v) = entry?;
            let row: Mailbox =
                postcard::from_bytes(v.value()).map_err(|_| DbError::Damaged("mailboxes"))?;
            let from = key2(k.value(), &0u64.to_be_bytes());
            let to = key2(k.value(), &u64::MAX.to_be_bytes());
            let oldest = match envs.range(from.as_slice()..=to.as_slice())?.next() {
                Some(e) => {
                    let (_, v) = e?;
                    let s: Stored = postcard::from_bytes(v.value())
                        .map_err(|_| DbError::Damaged("envelopes"))?;
                    Some(s.stored_at)
                }
                None => None,
            };
            out.push(MailboxInfo {
                member: row.prekeys.prekeys.node.to_string(),
                envelopes: row.count,
                bytes: row.bytes,
                oldest,
                one_time_keys: keys_left(&row),
                registered_at: row.registered_at,
            });
        }
        Ok(out)
    }
}

fn keys_left(row: &Mailbox) -> u32 {
    (row.prekeys.prekeys.one_time_keys.len() as u32).saturating_sub(row.next_one_time_key)
}
