//! Every node a tracker: who provides which swarm, the catalogue of public
//! shares, and incremental mirroring of both between trusted nodes — a
//! task of the files service, fed the tracker channel's messages by the
//! peer layer ([`warren_peers::PeerMessage`]) and commands by the files
//! registry and its downloads ([`TrackerHandle`]).
//!
//! | task | owns | talks to |
//! |---|---|---|
//! | tracker (`task.rs`) | providers, our swarms, the catalogue, sync cursors, watching downloads | peer connections (sends never wait), the peer layer (records), the files registry (mirror requests, never waits) |
//!
//! Private swarms: their ids are secrets (only link holders can compute
//! them), so a node announces its private swarms to trusted peers only, and
//! mirrors (sync) to trusted peers only. Anyone who names a swarm in
//! `WhoHas` already knows it, so answering is safe. Messages and sync pages
//! are `warren_proto::tracker::TrackerMsg` (SPEC.md §7).

mod state;
mod task;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use warren_peers::{NodeHandle, PeerMessage};
use warren_proto::content::SwarmId;
use warren_proto::tracker::{CatalogueEntry, SignedEntry};
use warren_proto::{NodeId, SignedNodeRecord};

use crate::FilesError;
use crate::conn::ConnCtx;

pub use task::run;

/// Commands queued for the tracker task. Full: the caller waits.
const COMMAND_QUEUE: usize = 32;
/// Tracker-channel messages queued from the peer layer. Full: the peer
/// layer drops the message (counted in `inbox_drops`); peers ask again on
/// their own schedule (sync every [`task::SYNC_EVERY`] s, re-announce
/// every [`task::ANNOUNCE_EVERY`] s).
const PEER_QUEUE: usize = 256;
/// Provider updates queued per watching download. Full: dropped (the
/// download asks again later).
const WATCH_QUEUE: usize = 8;

/// What the tracker task is asked.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// We provide (`Some(private)`) or stop providing (`None`) a swarm.
    Provide(SwarmId, Option<bool>),
    /// A public share of ours, for the catalogue: the task signs it.
    Publish(CatalogueEntry),
    /// Who provides a swarm? Answers go to the sender as they come.
    WhoHas(SwarmId, bool, mpsc::Sender<Vec<SignedNodeRecord>>),
    /// The catalogue.
    Catalogue(oneshot::Sender<Vec<SignedEntry>>),
    /// Ask the connected trusted boxes to mirror a swarm of ours.
    AskMirror(SwarmId, u64, oneshot::Sender<Vec<NodeId>>),
    /// Answered once every command before it was taken (liveness).
    Ping(oneshot::Sender<()>),
}

/// A cheap handle to the tracker task.
#[derive(Clone, Debug)]
pub struct TrackerHandle {
    cmds: mpsc::Sender<Cmd>,
}

/// The receiving ends the tracker task will own, made with the handle
/// (before the peer layer, which needs [`Pending::peer_messages`]).
#[derive(Debug)]
pub struct Pending {
    cmds: mpsc::Receiver<Cmd>,
    peer_rx: mpsc::Receiver<PeerMessage>,
    peer_tx: mpsc::Sender<PeerMessage>,
}

impl Pending {
    /// Where the peer layer hands the tracker channel's messages
    /// ([`warren_peers::NodeOptions::tracker`]).
    pub fn peer_messages(&self) -> mpsc::Sender<PeerMessage> {
        self.peer_tx.clone()
    }
}

/// What the tracker task runs with.
pub struct Setup {
    /// The peer layer: connected peers, records, where to dial.
    pub peers: NodeHandle,
    /// The node's context: key, own record, clock, counters, shutdown.
    pub ctx: Arc<ConnCtx>,
    /// Where trusted boxes' mirror requests go.
    pub files: crate::FilesHandle,
    /// Swarms whose providers are remembered (`limits.tracker_swarms`).
    pub max_swarms: usize,
    /// Public shares the catalogue holds (`limits.catalogue_entries`).
    pub max_entries: usize,
}

/// Makes the handle before the task exists.
pub(crate) fn handle() -> (TrackerHandle, Pending) {
    let (tx, cmds) = mpsc::channel(COMMAND_QUEUE);
    let (peer_tx, peer_rx) = mpsc::channel(PEER_QUEUE);
    (
        TrackerHandle { cmds: tx },
        Pending {
            cmds,
            peer_rx,
            peer_tx,
        },
    )
}

impl TrackerHandle {
    async fn send(&self, cmd: Cmd) -> Result<(), FilesError> {
        self.cmds.send(cmd).await.map_err(|_| FilesError::Cancelled)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, FilesError> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx)).await?;
        rx.await.map_err(|_| FilesError::Cancelled)
    }

    /// Announces (`Some(private)`) or withdraws (`None`) a swarm we provide.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn provide(&self, swarm: SwarmId, private: Option<bool>) -> Result<(), FilesError> {
        self.send(Cmd::Provide(swarm, private)).await
    }

    /// Signs a public share of ours with the node's key and publishes it
    /// to the catalogue.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn publish(&self, entry: CatalogueEntry) -> Result<(), FilesError> {
        self.send(Cmd::Publish(entry)).await
    }

    /// Asks who provides `swarm` (trusted peers only when `private`); the
    /// receiver gets provider records (at most
    /// `warren_proto::tracker::MAX_PROVIDERS` a time) as answers come in.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn who_has(
        &self,
        swarm: SwarmId,
        private: bool,
    ) -> Result<mpsc::Receiver<Vec<SignedNodeRecord>>, FilesError> {
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        self.send(Cmd::WhoHas(swarm, private, tx)).await?;
        Ok(rx)
    }

    /// Asks the connected trusted boxes to mirror `swarm` (`size` bytes);
    /// the boxes asked.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn ask_mirror(&self, swarm: SwarmId, size: u64) -> Result<Vec<NodeId>, FilesError> {
        self.ask(|tx| Cmd::AskMirror(swarm, size, tx)).await
    }

    /// Answers once the tracker has taken every command before it: the
    /// liveness check.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn ping(&self) -> Result<(), FilesError> {
        self.ask(Cmd::Ping).await
    }

    /// The catalogue of public shares this node knows, newest first.
    ///
    /// # Errors
    /// [`FilesError::Cancelled`]: the tracker has stopped.
    pub async fn catalogue(&self) -> Result<Vec<SignedEntry>, FilesError> {
        self.ask(Cmd::Catalogue).await
    }
}
