//! The courier: the mail service's outbound side, one task. Each round
//! (every `mail.poll_secs`, and at once when a message is written or
//! receipts are due) it
//!
//! 1. registers this member's mailbox with up to `mail.boxes` boxes it
//!    trusts, each given its own one-time keys (again every
//!    [`REREGISTER`]);
//! 2. fetches what those boxes hold for it, opens it, and acknowledges it
//!    to every one of them, so a copy is deleted everywhere;
//! 3. gets prekeys for recipients it has no session with: from the
//!    recipient when it is online and trusted, else from a box;
//! 4. hands each outbox entry to its recipient directly when it is
//!    online; when not, deposits it with every trusted box (a box that
//!    holds no mailbox for the recipient says so).
//!
//! Connections are kept open between rounds (an onion dial costs
//! seconds); one that fails is dropped, and a recipient that cannot be
//! reached is tried directly again only after [`OFFLINE_BACKOFF`].

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use warren_net::conn::ServiceConn;
use warren_proto::mail::{
    DepositResult, Envelope, MAX_ACK, MAX_MAIL_MSG, MAX_ONE_TIME_KEYS, MAX_PAGE, MailMsg, SERVICE,
};
use warren_proto::service::ServiceName;
use warren_proto::{BoundedVec, NodeId, PeerAddr};

use crate::member::Delivery;
use crate::{MailConfig, MailError, MailHandle};

/// How often a member registers again with its boxes (fresh one-time keys).
pub(crate) const REREGISTER: Duration = Duration::from_secs(6 * 3600);
/// How long a recipient that could not be reached is left to the boxes.
pub(crate) const OFFLINE_BACKOFF: Duration = Duration::from_secs(60);
/// How long one request (or one page of a fetch) waits for its answer: a
/// kept connection whose circuit died unnoticed is given up this soon.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a dial may take.
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a box drops expired mail.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// The courier's state between rounds.
pub(crate) struct Courier {
    mail: MailHandle,
    peers: warren_peers::NodeHandle,
    config: MailConfig,
    conns: HashMap<NodeId, ServiceConn>,
    registered: HashMap<NodeId, Instant>,
    cursors: HashMap<NodeId, u64>,
    offline: HashMap<NodeId, Instant>,
    last_expire: Option<Instant>,
}

fn service() -> ServiceName {
    // SERVICE follows the naming rules.
    ServiceName::new(SERVICE).unwrap_or_else(|_| unreachable!("{SERVICE} is a valid name"))
}

/// Sends `msg` on `conn` and reads the answer.
async fn call(conn: &mut ServiceConn, msg: &MailMsg) -> Result<MailMsg, MailError> {
    conn.send(msg.encode())
        .await
        .map_err(|e| MailError::Conn(e.to_string()))?;
    read(conn).await
}

async fn read(conn: &mut ServiceConn) -> Result<MailMsg, MailError> {
    match tokio::time::timeout(ANSWER_TIMEOUT, conn.recv()).await {
        Err(_) => Err(MailError::Timeout),
        Ok(Err(e)) => Err(MailError::Conn(e.to_string())),
        Ok(Ok(None)) => Err(MailError::Conn("closed".into())),
        Ok(Ok(Some(b))) => Ok(MailMsg::decode(&b)?),
    }
}

impl Courier {
    pub(crate) fn new(
        mail: MailHandle,
        peers: warren_peers::NodeHandle,
        config: MailConfig,
    ) -> Courier {
        Courier {
            mail,
            peers,
            config,
            conns: HashMap::new(),
            registered: HashMap::new(),
            cursors: HashMap::new(),
            offline: HashMap::new(),
            last_expire: None,
        }
    }

    /// Runs rounds until the node stops.
    pub(crate) async fn run(mut self, stop: tokio_util::sync::CancellationToken) {
        let poke = self.mail.poked();
        let every = Duration::from_secs(self.config.poll_secs);
        let mut next_full = Instant::now();
        loop {
            let full = Instant::now() >= next_full;
            if full {
                next_full = Instant::now() + every;
            }
            if let Err(e) = self.round(full).await {
                tracing::debug!(error = %e, "mail round");
            }
            let wait = next_full.saturating_duration_since(Instant::now());
            tokio::select! {
                () = stop.cancelled() => break,
                () = poke.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        for (_, c) in self.conns.drain() {
            c.close().await;
        }
    }

    /// One round; `full`: also registers, fetches and expires (not only
    /// the outbox).
    async fn round(&mut self, full: bool) -> Result<(), MailError> {
        if full {
            if self.mail.is_box() && self.last_expire.is_none_or(|t| t.elapsed() >= EXPIRE_EVERY) {
                let n = self.mail.expire().await?;
                if n > 0 {
                    tracing::info!(expired = n, "undelivered mail past its retention dropped");
                }
                self.last_expire = Some(Instant::now());
            }
            let boxes = self.boxes().await;
            self.register(&boxes).await;
            self.fetch().await;
        }
        self.keys().await?;
        self.deliver().await
    }

    /// Trusted boxes other than this node, with their addresses.
    async fn boxes(&mut self) -> Vec<PeerAddr> {
        let me = self.mail.id();
        let Ok(peers) = self.peers.peers().await else {
            return Vec::new();
        };
        peers
            .into_iter()
            .filter(|p| p.trusted && p.role.as_deref() == Some("box"))
            .filter_map(|p| p.address?.parse::<PeerAddr>().ok())
            .filter(|a| a.id != me)
            .collect()
    }

    async fn conn(&mut self, addr: &PeerAddr) -> Result<&mut ServiceConn, MailError> {
        if !self.conns.contains_key(&addr.id) {
            let dial = self.peers.dial_service(addr, service());
            let conn = tokio::time::timeout(DIAL_TIMEOUT, dial)
                .await
                .map_err(|_| MailError::Timeout)?
                .map_err(|e| MailError::Conn(e.to_string()))?;
            self.conns.insert(addr.id, conn);
        }
        self.conns
            .get_mut(&addr.id)
            .ok_or(MailError::Conn("gone".into()))
    }

    /// A request to `addr`, on the kept connection; a failed one is
    /// dropped (and tried once more on a new one when it was an old one).
    async fn ask(&mut self, addr: &PeerAddr, msg: &MailMsg) -> Result<MailMsg, MailError> {
        let reused = self.conns.contains_key(&addr.id);
        let res = match self.conn(addr).await {
            Ok(c) => call(c, msg).await,
            Err(e) => Err(e),
        };
        match res {
            Err(MailError::Conn(_) | MailError::Timeout) if reused => {
                self.conns.remove(&addr.id);
                let c = self.conn(addr).await?;
                let r = call(c, msg).await;
                if r.is_err() {
                    self.conns.remove(&addr.id);
                }
                r
            }
            Err(e) => {
                self.conns.remove(&addr.id);
                Err(e)
            }
            ok => ok,
        }
    }

    async fn register(&mut self, boxes: &[PeerAddr]) {
        if self.mail.is_box() {
            return;
        }
        let want = self.config.boxes;
        // Each box gets keys of its own: a key handed out twice would
        // start two sessions on one key.
        let per_box = (MAX_ONE_TIME_KEYS / (want + 1)).max(1);
        let mut held: Vec<NodeId> = self.registered.keys().copied().collect();
        held.retain(|b| boxes.iter().any(|a| a.id == *b));
        for addr in boxes {
            let fresh = self
                .registered
                .get(&addr.id)
                .is_some_and(|t| t.elapsed() < REREGISTER);
            if fresh || (!held.contains(&addr.id) && held.len() >= want) {
                continue;
            }
            let prekeys = match self.mail.own_prekeys(per_box).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "prekeys");
                    return;
                }
            };
            match self.ask(addr, &MailMsg::Register { prekeys }).await {
                Ok(MailMsg::Registered { one_time_keys, .. }) => {
                    tracing::info!(r#box = %addr.id.short(), one_time_keys, "mailbox registered");
                    self.registered.insert(addr.id, Instant::now());
                    if !held.contains(&addr.id) {
                        held.push(addr.id);
                    }
                }
                Ok(MailMsg::Refused { refusal }) => {
                    tracing::info!(r#box = %addr.id.short(), %refusal, "a box did not take the mailbox");
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(r#box = %addr.id.short(), error = %e, "register"),
            }
        }
        self.registered.retain(|b, _| held.contains(b));
    }

    /// Fetches from every box holding this member's mail, then
    /// acknowledges what was opened to all of them.
    async fn fetch(&mut self) {
        let boxes: Vec<NodeId> = self.registered.keys().copied().collect();
        let mut ack = Vec::new();
        let mut reached = Vec::new();
        for b in boxes {
            let Ok(Some(addr)) = self.peers.address_of(b).await else {
                continue;
            };
            match self.fetch_from(&addr).await {
                Ok(ids) => {
                    reached.push(addr);
                    ack.extend(ids);
                }
                Err(e) => tracing::debug!(r#box = %b.short(), error = %e, "fetch"),
            }
        }
        if ack.is_empty() {
            return;
        }
        ack.sort();
        ack.dedup();
        for addr in reached {
            for chunk in ack.chunks(MAX_ACK) {
                let msg = MailMsg::Ack {
                    ids: BoundedVec::truncating(chunk.iter().copied()),
                };
                if let Err(e) = self.ask(&addr, &msg).await {
                    tracing::debug!(r#box = %addr.id.short(), error = %e, "ack");
                    break;
                }
            }
        }
    }

    async fn fetch_from(
        &mut self,
        addr: &PeerAddr,
    ) -> Result<Vec<warren_proto::mail::EnvelopeId>, MailError> {
        let after = self.cursors.get(&addr.id).copied().unwrap_or(0);
        let mut page = self.ask(addr, &MailMsg::Fetch { after }).await?;
        let mut ids = Vec::new();
        loop {
            let MailMsg::Page { items, more } = page else {
                return match page {
                    MailMsg::Refused { refusal } => {
                        self.registered.remove(&addr.id);
                        Err(MailError::Refused(refusal))
                    }
                    _ => Err(MailError::OutOfTurn),
                };
            };
            let items = items.into_vec();
            if let Some(last) = items.last() {
                self.cursors.insert(addr.id, last.cursor);
            }
            let envelopes: Vec<Envelope> = items.into_iter().map(|h| h.envelope).collect();
            if !envelopes.is_empty() {
                let r = self.mail.receive(envelopes).await?;
                if r.new > 0 {
                    tracing::info!(r#box = %addr.id.short(), new = r.new, "mail fetched");
                }
                ids.extend(r.ack);
            }
            if !more {
                return Ok(ids);
            }
            let conn = self
                .conns
                .get_mut(&addr.id)
                .ok_or(MailError::Conn("gone".into()))?;
            page = read(conn).await?;
        }
    }

    fn online(&self, id: &NodeId) -> bool {
        self.offline
            .get(id)
            .is_none_or(|t| t.elapsed() >= OFFLINE_BACKOFF)
    }

    async fn keys(&mut self) -> Result<(), MailError> {
        for to in self.mail.needing_keys().await? {
            let mut got = None;
            if self.online(&to) {
                if let Ok(Some(addr)) = self.peers.address_of(to).await {
                    match self.ask(&addr, &MailMsg::GetPrekeys { node: to }).await {
                        Ok(MailMsg::Prekeys {
                            prekeys,
                            one_time_key,
                        }) => {
                            got = Some((prekeys, one_time_key));
                        }
                        Ok(_) => {}
                        Err(_) => {
                            self.offline.insert(to, Instant::now());
                        }
                    }
                }
            }
            let mut refusal = None;
            if got.is_none() {
                for addr in self.boxes().await {
                    match self.ask(&addr, &MailMsg::GetPrekeys { node: to }).await {
                        Ok(MailMsg::Prekeys {
                            prekeys,
                            one_time_key,
                        }) => {
                            if one_time_key.is_some() || got.is_none() {
                                got = Some((prekeys, one_time_key));
                            }
                            if one_time_key.is_some() {
                                break;
                            }
                        }
                        Ok(MailMsg::Refused { refusal: r }) => refusal = Some(r),
                        _ => {}
                    }
                }
            }
            if let (None, Some(r)) = (&got, refusal) {
                // The person sees why nothing moves.
                for (key, o) in self.mail.pending().await? {
                    if o.to == to && o.envelope.is_none() {
                        self.mail.refused(key, r.to_string()).await?;
                    }
                }
            }
            if let Some((prekeys, index)) = got {
                match self.mail.seal_waiting(to, prekeys, index).await {
                    Ok(n) => tracing::debug!(to = %to.short(), sealed = n, "sealed"),
                    Err(e) => {
                        tracing::info!(to = %to.short(), error = %e, "cannot seal for a first contact yet")
                    }
                }
            }
        }
        Ok(())
    }

    /// Hands each sealed outbox entry over or deposits it (what no
    /// recipient took directly, in one set of deposits).
    async fn deliver(&mut self) -> Result<(), MailError> {
        let pending = self.mail.pending().await?;
        let mut by_to: Vec<(NodeId, Vec<(u64, Envelope)>)> = Vec::new();
        for (key, o) in pending {
            let Some(env) = o.envelope else { continue };
            match by_to.iter_mut().find(|(t, _)| *t == o.to) {
                Some((_, v)) => v.push((key, env)),
                None => by_to.push((o.to, vec![(key, env)])),
            }
        }
        if by_to.is_empty() {
            return Ok(());
        }
        // What no recipient took directly goes to the boxes together: one
        // deposit (one transaction on each box) for many recipients.
        let mut left = Vec::new();
        for (to, items) in by_to {
            left.extend(self.direct(to, items).await?);
        }
        if !left.is_empty() {
            let boxes = self.boxes().await;
            self.deposit(&boxes, left).await?;
        }
        Ok(())
    }

    /// Hands `items` to `to` over its own connection, in order; what is
    /// left for the boxes.
    async fn direct(
        &mut self,
        to: NodeId,
        items: Vec<(u64, Envelope)>,
    ) -> Result<Vec<(u64, Envelope)>, MailError> {
        if !self.online(&to) {
            return Ok(items);
        }
        let Ok(Some(addr)) = self.peers.address_of(to).await else {
            return Ok(items);
        };
        let mut left = items.into_iter();
        while let Some((key, env)) = left.next() {
            match self
                .ask(
                    &addr,
                    &MailMsg::Deliver {
                        envelope: env.clone(),
                    },
                )
                .await
            {
                Ok(MailMsg::Accepted { .. }) => {
                    self.mail.settled(key, Delivery::Delivered).await?;
                }
                Ok(other) => {
                    tracing::debug!(to = %to.short(), answer = ?std::mem::discriminant(&other), "not taken directly");
                    let mut rest = vec![(key, env)];
                    rest.extend(left);
                    return Ok(rest);
                }
                Err(e) => {
                    tracing::debug!(to = %to.short(), error = %e, "not reached directly");
                    self.offline.insert(to, Instant::now());
                    let mut rest = vec![(key, env)];
                    rest.extend(left);
                    return Ok(rest);
                }
            }
        }
        Ok(Vec::new())
    }

    /// Deposits `items` with every box, in pages; each entry is settled
    /// as stored by the boxes that signed for it, or its refusal noted.
    async fn deposit(
        &mut self,
        boxes: &[PeerAddr],
        items: Vec<(u64, Envelope)>,
    ) -> Result<(), MailError> {
        let mut stored: HashMap<u64, u8> = HashMap::new();
        let mut refusals: HashMap<u64, String> = HashMap::new();
        for addr in boxes {
            for page in pages(&items) {
                let envelopes = BoundedVec::truncating(page.iter().map(|(_, e)| e.clone()));
                let answer = match self.ask(addr, &MailMsg::Deposit { envelopes }).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(r#box = %addr.id.short(), error = %e, "deposit");
                        break;
                    }
                };
                let MailMsg::Deposited { results } = answer else {
                    if let MailMsg::Refused { refusal } = answer {
                        for (k, _) in page {
                            refusals.insert(*k, refusal.to_string());
                        }
                    }
                    break;
                };
                for ((key, env), r) in page.iter().zip(results.as_slice()) {
                    match r {
                        DepositResult::Stored(receipt)
                            if receipt.envelope == env.id()
                                && receipt.holder == addr.id
                                && receipt.verify().is_ok() =>
                        {
                            *stored.entry(*key).or_default() += 1;
                        }
                        DepositResult::Stored(_) => {
                            tracing::warn!(r#box = %addr.id.short(), "a box's receipt does not check");
                        }
                        DepositResult::Refused(warren_proto::mail::Refusal::NoMailbox) => {}
                        DepositResult::Refused(refusal) => {
                            refusals.insert(*key, refusal.to_string());
                        }
                    }
                }
            }
        }
        for (key, _) in &items {
            if let Some(n) = stored.get(key) {
                self.mail.settled(*key, Delivery::Stored(*n)).await?;
            } else if let Some(why) = refusals.remove(key) {
                self.mail.refused(*key, why).await?;
            }
        }
        Ok(())
    }
}

/// `items` cut into deposits that fit one message.
fn pages(items: &[(u64, Envelope)]) -> Vec<&[(u64, Envelope)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 16;
    for (i, (_, e)) in items.iter().enumerate() {
        let size = e.sealed.len() + 48;
        if i > start && (i - start == MAX_PAGE || bytes + size > MAX_MAIL_MSG) {
            out.push(&items[start..i]);
            start = i;
            bytes = 16;
        }
        bytes += size;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Starts the courier on the node's tasks.
pub fn spawn(
    mail: MailHandle,
    peers: warren_peers::NodeHandle,
    config: MailConfig,
    tasks: &tokio_util::task::TaskTracker,
    stop: tokio_util::sync::CancellationToken,
) {
    tasks.spawn(Courier::new(mail, peers, config).run(stop));
}
