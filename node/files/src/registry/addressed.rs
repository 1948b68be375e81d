//! Shares with an address of their own (`warren share --own-address`).
//!
//! Such a share gets a fresh identity — a key with its proof of work —
//! and the transport listens as that identity too: an onion service of its
//! own on Tor, other loopback ports on TCP. Its link names that address,
//! its ticket is signed by that key, and that address serves this share
//! only (transfer connections and the web gateway), while the node's own
//! address does not serve it at all and the node never announces it. So
//! neither a link nor a downloader can tell that two such shares, or such
//! a share and the node, are the same machine.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warren_proto::content::{SwarmId, Token};
use warren_proto::{Keypair, PeerAddr, Services, decode_exact, encode};

use super::Registry;
use crate::FilesError;
use crate::config::GatewayConfig;
use crate::identity::Identity;
use crate::store::Table;

/// What the registry needs beyond its configuration: where mirrors go,
/// and what other identities' services (shares' own addresses) need.
#[derive(Debug, Clone)]
pub struct ExtraSetup {
    /// Where mirrors are kept; none: this node keeps none.
    pub mirror_dir: Option<std::path::PathBuf>,
    /// The node's gateway settings (a share's gateway follows them).
    pub gateway: GatewayConfig,
    /// How long records are valid, seconds (they are re-signed at half).
    pub record_validity_secs: u64,
    /// Where the services' tasks run.
    pub tasks: TaskTracker,
    /// Base URL of the node's web gateway (`http://…`); none: no gateway.
    pub gateway_base: Option<String>,
    /// Swarms whose providers the tracker remembers
    /// (`limits.tracker_swarms`).
    pub tracker_swarms: usize,
    /// Public shares the tracker's catalogue holds
    /// (`limits.catalogue_entries`).
    pub catalogue_entries: usize,
}

/// A share's identity as stored (`share_keys` table, key: the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredShareKey {
    pub(crate) seed: [u8; 32],
    pub(crate) pow_nonce: u64,
}

/// A running share address.
pub(crate) struct Addressed {
    /// The share's private swarm.
    pub(crate) swarm: SwarmId,
    /// Where it is reached, once listening.
    pub(crate) addr: Option<PeerAddr>,
    /// The base of its browser URLs, if it has a gateway.
    pub(crate) web_base: Option<String>,
    /// Stops its listeners and tasks.
    pub(crate) stop: CancellationToken,
}

impl Drop for Addressed {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A fresh identity for a share, with work at `difficulty`. Blocking.
pub(crate) fn new_identity(
    difficulty: warren_proto::pow::Difficulty,
) -> Result<Identity, FilesError> {
    Ok(Identity::generate(difficulty)?)
}

impl Registry {
    /// Stores a share's identity (before the share itself is committed).
    pub(super) async fn save_share_key(&self, token: [u8; 16], identity: &Identity) {
        let stored = StoredShareKey {
            seed: *identity.keypair.seed(),
            pow_nonce: identity.pow_nonce,
        };
        self.store
            .put(Table::ShareKeys, token.to_vec(), encode(&stored))
            .await;
    }

    /// The stored identity of a share, if it has one.
    pub(super) fn load_share_key(&self, token: &[u8; 16]) -> Option<Identity> {
        let bytes = self.db.get(Table::ShareKeys, token).ok()??;
        let k = decode_exact::<StoredShareKey>(&bytes).ok()?;
        Some(Identity {
            keypair: Arc::new(Keypair::from_seed(&k.seed)),
            pow_nonce: k.pow_nonce,
        })
    }

    /// Starts listening as a share's identity; its address, or an error
    /// that says why not (the share then stays unreachable, never
    /// reachable through the node's own address).
    pub(super) async fn start_addressed(
        &mut self,
        token: [u8; 16],
        identity: Identity,
    ) -> Result<PeerAddr, FilesError> {
        let swarm = Token(token).swarm();
        let stop = self.ctx.shutdown.child_token();
        self.addressed.insert(
            token,
            Addressed {
                swarm,
                addr: None,
                web_base: None,
                stop: stop.clone(),
            },
        );
        let host = self
            .ctx
            .transport
            .host()
            .ok_or(FilesError::Refused(crate::Refusal::NoShareAddress))?;
        let listeners = host
            .listen_as(&identity.keypair)
            .await
            .map_err(|e| FilesError::Refused(crate::Refusal::ShareAddress(Arc::new(e))))?;
        let validity = self.extra.record_validity_secs;
        let record = |now: u64| {
            identity.record(
                warren_proto::Role::Member,
                Services::SEED,
                &listeners.hints,
                now,
                validity,
            )
        };
        let now = crate::clock::Clock::unix_now(&*self.ctx.clock);
        let (record_tx, record_rx) = watch::channel(
            record(now)
                .map_err(|e| FilesError::Refused(crate::Refusal::ShareRecord(Arc::new(e))))?,
        );
        let files = self.me.scoped(swarm);
        let ctx = Arc::new(self.ctx.for_extra(
            identity.keypair.clone(),
            record_rx,
            crate::conn::Router::new().with(
                warren_proto::handshake::Purpose::Transfer,
                Arc::new(crate::upload::UploadService(files.clone())),
            ),
            stop.clone(),
        ));
        let tasks = self.extra.tasks.clone();
        tasks.spawn(crate::conn::accept_loop(
            listeners.listener,
            ctx,
            tasks.clone(),
        ));
        // Records expire: re-sign at half their validity.
        let (clock, hints, s2) = (
            self.ctx.clock.clone(),
            listeners.hints.clone(),
            stop.clone(),
        );
        let id2 = identity.clone();
        tasks.spawn(async move {
            let every = Duration::from_secs((validity / 2).max(60));
            loop {
                tokio::select! {
                    () = s2.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let now = crate::clock::Clock::unix_now(&*clock);
                let r = id2.record(
                    warren_proto::Role::Member,
                    Services::SEED,
                    &hints,
                    now,
                    validity,
                );
                if let Ok(r) = r {
                    let _ = record_tx.send(r);
                }
            }
        });
        let mut web_base = None;
        if let (true, Some((web, base))) = (self.extra.gateway.enabled, listeners.web) {
            tasks.spawn(crate::gateway::serve(
                web,
                files,
                self.extra.gateway.clone(),
                stop,
                tasks.clone(),
            ));
            web_base = Some(base);
        }
        let addr = listeners
            .hints
            .first()
            .map(|h| PeerAddr::new(identity.keypair.id(), *h))
            .ok_or(FilesError::Refused(crate::Refusal::NoAddressToAdvertise))?;
        if let Some(a) = self.addressed.get_mut(&token) {
            a.addr = Some(addr);
            a.web_base = web_base;
        }
        tracing::info!(address = %addr, "a share listens at its own address");
        Ok(addr)
    }

    /// Stops a share's own address and forgets its identity.
    pub(super) async fn stop_addressed(&mut self, token: [u8; 16]) {
        if self.addressed.remove(&token).is_some() {
            self.store.delete(Table::ShareKeys, token.to_vec()).await;
        }
    }
}
