//! The mail service's inbound side (`warren/mail/1`, SPEC.md §15): a box
//! answers its members (register, prekeys, deposit, fetch, acknowledge);
//! every node takes envelopes handed to it directly and gives its own
//! prekeys to nodes it trusts.
//!
//! Only members (nodes this node trusts, [`ServiceConn::trusted`]) may use
//! its mailboxes; anyone else is refused ([`Refusal::NotMember`]) and
//! counted. A connection idle
//! for [`IDLE`] is closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use warren_net::conn::{ServiceConn, ServiceHandler};
use warren_proto::mail::{MailMsg, MailboxId, Refusal};
use warren_proto::{BoundedVec, NodeId};

use crate::MailHandle;

/// How long a connection may wait between requests.
pub(crate) const IDLE: Duration = Duration::from_secs(120);
/// One-time keys a node hands a trusted node asking it directly.
const DIRECT_KEYS: usize = 1;

/// Serves `warren/mail/1` connections.
pub struct MailService {
    mail: MailHandle,
    refused: Arc<AtomicU64>,
}

impl MailService {
    /// The service for this node's mail actor.
    pub fn new(mail: MailHandle) -> MailService {
        MailService {
            mail,
            refused: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests refused because the asker is not a member.
    pub fn refused_strangers(&self) -> Arc<AtomicU64> {
        self.refused.clone()
    }

    fn refuse(&self, refusal: Refusal) -> MailMsg {
        if refusal == Refusal::NotMember {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        MailMsg::Refused { refusal }
    }

    /// The answer to one request from `peer`; `None` for a message that is
    /// not a request.
    async fn answer(&self, peer: NodeId, msg: MailMsg, conn: &mut ServiceConn) -> Option<MailMsg> {
        let member = conn.trusted();
        let is_box = self.mail.is_box();
        let me = self.mail.id();
        let res = match msg {
            MailMsg::Deliver { envelope } => {
                if envelope.mailbox != MailboxId::of(&me) {
                    return Some(self.refuse(Refusal::NoMailbox));
                }
                let id = envelope.id();
                self.mail.receive(vec![envelope]).await.map(|r| {
                    if r.unreadable > 0 {
                        MailMsg::Refused {
                            refusal: Refusal::Undecryptable,
                        }
                    } else {
                        MailMsg::Accepted { envelope: id }
                    }
                })
            }
            MailMsg::GetPrekeys { node } if node == me => {
                if !member {
                    return Some(self.refuse(Refusal::NotMember));
                }
                self.mail
                    .own_prekeys(DIRECT_KEYS)
                    .await
                    .map(|prekeys| MailMsg::Prekeys {
                        prekeys,
                        one_time_key: Some(0),
                    })
            }
            _ if !is_box => return Some(self.refuse(Refusal::NotABox)),
            _ if !member => return Some(self.refuse(Refusal::NotMember)),
            MailMsg::Register { prekeys } => self.mail.register(peer, prekeys).await,
            MailMsg::GetPrekeys { node } => self.mail.box_prekeys(node).await,
            MailMsg::Deposit { envelopes } => self
                .mail
                .deposit(peer, envelopes.into_vec())
                .await
                .map(|r| MailMsg::Deposited {
                    results: BoundedVec::truncating(r),
                }),
            MailMsg::Fetch { after } => {
                // Pages follow one another until the mailbox is read.
                let mut after = after;
                loop {
                    let page = match self.mail.page(peer, after).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(error = %e, "a mailbox page cannot be read");
                            break Ok(self.refuse(Refusal::Unavailable));
                        }
                    };
                    let MailMsg::Page { items, more } = &page else {
                        break Ok(page);
                    };
                    if !more {
                        break Ok(page);
                    }
                    after = items.as_slice().last().map_or(after, |h| h.cursor);
                    if conn.send(page.encode()).await.is_err() {
                        return None;
                    }
                }
            }
            MailMsg::Ack { ids } => self
                .mail
                .ack(peer, ids.into_vec())
                .await
                .map(|deleted| MailMsg::Acked { deleted }),
            _ => return None,
        };
        Some(res.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a mail request failed");
            MailMsg::Refused {
                refusal: Refusal::Unavailable,
            }
        }))
    }
}

#[async_trait]
impl ServiceHandler for MailService {
    async fn accept(&self, mut conn: ServiceConn) {
        let peer = conn.peer();
        loop {
            let next = match tokio::time::timeout(IDLE, conn.recv()).await {
                Ok(Ok(Some(bytes))) => bytes,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer.short(), error = %e, "mail connection failed");
                    return;
                }
                Err(_) => break,
            };
            let msg = match MailMsg::decode(&next) {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(peer = %peer.short(), error = %e, "a mail message does not decode");
                    break;
                }
            };
            let Some(answer) = self.answer(peer, msg, &mut conn).await else {
                tracing::debug!(peer = %peer.short(), "a mail message out of turn");
                break;
            };
            if conn.send(answer.encode()).await.is_err() {
                return;
            }
        }
        conn.close().await;
    }
}
