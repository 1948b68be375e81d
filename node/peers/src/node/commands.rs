//! Requests from the control socket (and the CLI), served by the node task.

use std::sync::Arc;

use tokio::sync::oneshot;
use warren_proto::SignedNodeRecord;
use warren_proto::{NodeId, PeerAddr, ProtocolVersion, Role};

use super::actor::Actor;
use super::persist::TrustEntry;
use super::status::{PeerInfo, SeedStatus, Status, TrustInfo};
use super::trust;
use crate::conn::Direction;
use crate::metrics::Metrics;
use crate::store::Table;

/// A request for the node task; each carries where to send the answer.
#[derive(Debug)]
pub(crate) enum NodeCmd {
    Status(oneshot::Sender<Status>),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    TrustAdd(PeerAddr, oneshot::Sender<crate::Result<TrustInfo>>),
    TrustRemove(NodeId, oneshot::Sender<crate::Result<bool>>),
    TrustList(oneshot::Sender<Vec<TrustInfo>>),
    Relaunch(oneshot::Sender<bool>),
    /// The live records of these nodes.
    Records(Vec<NodeId>, oneshot::Sender<Vec<SignedNodeRecord>>),
    /// Records heard from a peer: check and learn; the good ones' ids.
    Learn(Vec<SignedNodeRecord>, NodeId, oneshot::Sender<Vec<NodeId>>),
    /// Where to dial a node.
    AddressOf(NodeId, oneshot::Sender<Option<PeerAddr>>),
    /// Tests: the node task stops answering for a while, as if stuck.
    #[cfg(any(test, feature = "test-hooks"))]
    Stall(std::time::Duration),
}

fn role_name(r: Role) -> String {
    match r {
        Role::Member => "member".into(),
        Role::Box => "box".into(),
    }
}

impl Actor {
    pub(crate) async fn on_cmd(&mut self, cmd: NodeCmd) {
        match cmd {
            #[cfg(any(test, feature = "test-hooks"))]
            NodeCmd::Stall(d) => tokio::time::sleep(d).await,
            NodeCmd::Status(reply) => {
                let _ = reply.send(self.status());
            }
            NodeCmd::Peers(reply) => {
                let _ = reply.send(self.peer_list());
            }
            NodeCmd::TrustAdd(addr, reply) => {
                let r = self.trust_add(addr).await;
                let _ = reply.send(r);
            }
            NodeCmd::TrustRemove(id, reply) => {
                let r = self.trust_remove(id).await;
                let _ = reply.send(r);
            }
            NodeCmd::TrustList(reply) => {
                let _ = reply.send(self.trust_list());
            }
            NodeCmd::Relaunch(reply) => {
                let onion = self.ctx.transport.onion();
                if let Some(o) = onion {
                    o.relaunch();
                }
                let _ = reply.send(onion.is_some());
            }
            NodeCmd::Records(ids, reply) => {
                let _ = reply.send(self.live_records(&ids));
            }
            NodeCmd::Learn(records, from, reply) => {
                let ids = self.learn_all(records, from).await;
                let _ = reply.send(ids);
            }
            NodeCmd::AddressOf(id, reply) => {
                let given = self.trust.get(&id).map(|t| t.addr);
                let _ = reply.send(self.dial_addr(&id, given));
            }
        }
    }

    fn live_records(&self, ids: &[NodeId]) -> Vec<SignedNodeRecord> {
        let now = self.now_unix();
        let own = self.own_id();
        ids.iter()
            .filter_map(|id| {
                if *id == own {
                    return Some(self.own_tx.borrow().clone());
                }
                let e = self.peers.get(id)?;
                e.record.is_live(now).then(|| e.record.get().clone())
            })
            .collect()
    }

    async fn learn_all(&mut self, records: Vec<SignedNodeRecord>, from: NodeId) -> Vec<NodeId> {
        let now = self.now_unix();
        let m = Arc::clone(&self.ctx.metrics);
        let mut good = Vec::new();
        for r in records {
            match r.verify(now, &self.ctx.policy) {
                Ok(v) => {
                    let id = v.id();
                    if id != self.own_id() {
                        good.push(id);
                        self.learn(v, Some(from)).await;
                    }
                }
                Err(e) => {
                    Metrics::inc(&m.net.records_rejected);
                    m.reject(e.label());
                }
            }
        }
        good
    }

    /// Tells the inbound tasks the trust list as it now is.
    fn publish_trusted(&self) {
        self.trusted_tx
            .send_replace(Arc::new(self.trust.keys().copied().collect()));
        self.publish_connected();
    }

    async fn trust_add(&mut self, addr: PeerAddr) -> crate::Result<TrustInfo> {
        trust::check_add(
            self.own_id(),
            &addr,
            &self.trust,
            self.cfg.limits.max_trusted,
        )?;
        let entry = TrustEntry {
            addr,
            added_at: self.now_unix(),
        };
        self.trust.insert(addr.id, entry);
        self.publish_trusted();
        self.dial_state.remove(&addr.id);
        self.store
            .put(Table::Trust, addr.id.as_bytes().to_vec(), entry.encode())
            .await;
        self.store.flush().await?;
        tracing::info!(peer = %addr, "trusted");
        Ok(trust::info(&entry))
    }

    async fn trust_remove(&mut self, id: NodeId) -> crate::Result<bool> {
        let was = self.trust.remove(&id).is_some();
        self.publish_trusted();
        if was {
            self.store
                .delete(Table::Trust, id.as_bytes().to_vec())
                .await;
            self.store.flush().await?;
        }
        Ok(was)
    }

    fn trust_list(&self) -> Vec<TrustInfo> {
        trust::sorted(&self.trust)
    }

    fn status(&self) -> Status {
        let own = self.own_tx.borrow().clone();
        let addresses: Vec<String> = own
            .record
            .hints
            .iter()
            .map(|h| PeerAddr::new(own.id(), *h).to_string())
            .collect();
        let listen = own.record.hints.iter().find_map(|h| match h {
            warren_proto::TransportHint::Tcp { ip, port } => {
                Some(std::net::SocketAddr::new((*ip).into(), *port).to_string())
            }
            _ => None,
        });
        let inbound = self
            .conns
            .values()
            .filter(|c| c.handle.direction == Direction::Inbound)
            .count();
        let now = tokio::time::Instant::now();
        let seed_status = |addr: &PeerAddr| {
            let state = self.dial_state.get(&addr.id);
            SeedStatus {
                address: addr.to_string(),
                connected: self.conns.contains_key(&addr.id),
                failures: state.map_or(0, |s| s.failures),
                last_error: state.and_then(|s| s.last_error.clone()),
                retry_in_secs: state.map_or(0, |s| {
                    s.next_attempt.saturating_duration_since(now).as_secs()
                }),
            }
        };
        let tor = self.ctx.transport.onion().map(|o| o.tor_status());
        let t = tor.clone().unwrap_or_default();
        Status {
            extra: super::NoExtras {},
            online: tor.as_ref().is_none_or(|t| t.onion_reachable == Some(true)),
            not_online_because: t.not_online_because,
            tor_bootstrap: t.bootstrap,
            onion_address: t.onion_address,
            onion_reachable: t.onion_reachable,
            onion_last_check: t.last_check,
            onion_last_failure: t.last_failure,
            onion_recent_failures: t.recent_failures,
            onion_launches: t.launches,
            id: own.id().to_string(),
            address: addresses
                .first()
                .cloned()
                .unwrap_or_else(|| own.id().to_string()),
            addresses,
            transport: self.ctx.transport.name().to_string(),
            listen,
            role: role_name(self.role),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol_version: ProtocolVersion::LATEST.as_u16(),
            uptime_secs: self.started.elapsed().as_secs(),
            connected_peers: self.conns.len(),
            known_peers: self.peers.len(),
            trusted_peers: self.trust.len(),
            inbound,
            outbound: self.conns.len() - inbound,
            dialing: self.dialing.len(),
            pow_difficulty: self.cfg.community.pow_difficulty,
            bootstrap: self.seeds.iter().map(seed_status).collect(),
            metrics: super::PeerMetrics {
                net: self.ctx.metrics.snapshot(),
                store: self.store_counters.snapshot(),
                rejected: self.ctx.metrics.rejected(),
            },
        }
    }

    fn peer_list(&self) -> Vec<PeerInfo> {
        let mut ids: Vec<NodeId> = self.peers.iter().map(|(id, _)| *id).collect();
        ids.extend(self.trust.keys().filter(|id| self.peers.get(id).is_none()));
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let entry = self.peers.get(&id);
                let given = self.trust.get(&id).map(|t| t.addr);
                let state = self.dial_state.get(&id);
                PeerInfo {
                    id: id.to_string(),
                    address: self.dial_addr(&id, given).map(|a| a.to_string()),
                    role: entry.map(|e| role_name(e.record.get().record.role)),
                    connected: self.conns.get(&id).map(|c| c.handle.direction),
                    trusted: given.is_some(),
                    last_connected: entry.and_then(|e| e.last_connected),
                    record_issued_at: entry.map(|e| e.record.get().record.issued_at),
                    record_expires_at: entry.map(|e| e.record.get().record.expires_at),
                    failures: state.map_or(0, |s| s.failures),
                    last_error: state.and_then(|s| s.last_error.clone()),
                }
            })
            .collect()
    }
}
