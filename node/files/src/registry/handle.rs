//! The handle callers hold: commands to the registry task, the upload
//! slots and the upload cap.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use warren_proto::content::SwarmId;
use warren_proto::link::Link;
use warren_proto::{NodeId, PeerAddr};

use super::{
    Cmd, DownloadInfo, Found, MirrorInfo, MirrorList, Progress, RecheckReport, ShareInfo,
    ShareOptions,
};
use crate::config::FilesConfig;
use crate::{DownloadStatus, FilesError};

/// Commands queued for the files task. Full: callers wait.
const COMMAND_QUEUE: usize = 32;

/// A cheap handle to the files service.
#[derive(Clone)]
pub struct FilesHandle {
    pub(super) tx: mpsc::Sender<Cmd>,
    upload_slots: Arc<crate::slots::UploadSlots>,
    max_queued: usize,
    /// The upload cap, shared by every upload session (none: no cap).
    upload_rate: Arc<std::sync::Mutex<Option<crate::conn::TokenBucket>>>,
    /// The thermal cap: while the box is too hot, uploads, downloads and
    /// hashing each take bytes from a bucket of their own at this rate.
    thermal: Arc<std::sync::Mutex<Option<ThermalCap>>>,
    /// For a share's own address: the one swarm it serves.
    scope: Option<SwarmId>,
    /// The tracker task.
    tracker: crate::tracker::TrackerHandle,
    /// The service's counters.
    counters: Arc<crate::FilesCounters>,
}

impl std::fmt::Debug for FilesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FilesHandle")
    }
}

impl FilesHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, FilesError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| FilesError::Cancelled)?;
        rx.await.map_err(|_| FilesError::Cancelled)
    }

    /// Shares a file or folder; `progress` receives hashing progress.
    pub async fn share(
        &self,
        path: PathBuf,
        opts: ShareOptions,
        progress: mpsc::Sender<Progress>,
    ) -> Result<ShareInfo, FilesError> {
        self.ask(|reply| Cmd::Share {
            path,
            opts,
            progress,
            reply,
        })
        .await?
    }

    /// Every share.
    pub async fn shares(&self) -> Result<Vec<ShareInfo>, FilesError> {
        self.ask(Cmd::Shares).await
    }

    /// Makes a share public (by token, link or content id).
    pub async fn set_public(&self, id: String) -> Result<ShareInfo, FilesError> {
        self.ask(|reply| Cmd::SetPublic { id, reply }).await?
    }

    /// Stops sharing (by token, link or content id).
    pub async fn unshare(&self, id: String) -> Result<(), FilesError> {
        self.ask(|reply| Cmd::Unshare { id, reply }).await?
    }

    /// Starts (or resumes, or attaches to) a download.
    pub async fn get(
        &self,
        link: Link,
        out: PathBuf,
    ) -> Result<watch::Receiver<DownloadStatus>, FilesError> {
        self.ask(|reply| Cmd::Get { link, out, reply }).await?
    }

    /// Every download.
    pub async fn downloads(&self) -> Result<Vec<DownloadInfo>, FilesError> {
        self.ask(Cmd::Downloads).await
    }

    /// Pauses a download (resumed by the next `get` of its link).
    pub async fn pause(&self, swarm: SwarmId) -> Result<(), FilesError> {
        self.ask(|reply| Cmd::Pause { swarm, reply }).await?
    }

    /// Stops and forgets a download (its files stay).
    pub async fn forget(&self, swarm: SwarmId) -> Result<(), FilesError> {
        self.ask(|reply| Cmd::Forget { swarm, reply }).await?
    }

    /// The same service, serving only `swarm` (a share's own address).
    pub(crate) fn scoped(&self, swarm: SwarmId) -> FilesHandle {
        FilesHandle {
            scope: Some(swarm),
            ..self.clone()
        }
    }

    /// What `swarm` is on this node (none: unknown here).
    pub(crate) async fn lookup(&self, swarm: SwarmId) -> Option<Found> {
        let scope = self.scope;
        self.ask(|reply| Cmd::Lookup {
            swarm,
            scope,
            reply,
        })
        .await
        .ok()
        .flatten()
    }

    /// A file of `swarm` no longer has the stamp it had when last verified:
    /// has it changed? Answers once its pieces are checked (several
    /// callers share one check).
    pub(crate) async fn settle(&self, swarm: SwarmId) -> Option<Found> {
        let scope = self.scope;
        self.ask(|reply| Cmd::Settle {
            swarm,
            scope,
            reply,
        })
        .await
        .ok()
        .flatten()
    }

    /// Checks a share's or download's files against its piece table (by
    /// token, link or content id); `progress` gets bytes checked. A
    /// download missing pieces afterwards fetches them again.
    pub async fn recheck(
        &self,
        id: String,
        progress: mpsc::Sender<Progress>,
    ) -> Result<RecheckReport, FilesError> {
        self.ask(|reply| Cmd::Recheck {
            id,
            progress,
            reply,
        })
        .await?
    }

    /// A slot for an inbound transfer connection from `peer`: when the
    /// pool is full, the session silent the longest is closed for it (see
    /// `files::slots`); the flag says whether one was.
    pub(crate) fn upload_slot(
        &self,
        peer: warren_proto::NodeId,
    ) -> (FilesHandle, crate::slots::UploadSlot, bool) {
        let (slot, evicted) = self.upload_slots.take(peer);
        (self.clone(), slot, evicted)
    }

    pub(crate) fn max_queued_requests(&self) -> usize {
        self.max_queued
    }

    /// How long to wait before sending `bytes` under the upload cap (and
    /// the thermal cap).
    pub(crate) fn upload_wait(&self, bytes: usize) -> std::time::Duration {
        let cap = self
            .upload_rate
            .lock()
            .expect(crate::HELD)
            .as_mut()
            .map(|b| b.take_n(bytes as u32))
            .unwrap_or_default();
        cap.max(self.thermal_wait(Work::Upload, bytes))
    }

    /// How long `work` on `bytes` must wait under the thermal cap (zero
    /// while the box is cool).
    pub fn thermal_wait(&self, work: Work, bytes: usize) -> std::time::Duration {
        self.thermal
            .lock()
            .expect(crate::HELD)
            .as_mut()
            .map(|t| {
                let b = match work {
                    Work::Upload => &mut t.upload,
                    Work::Download => &mut t.download,
                    Work::Disk => &mut t.disk,
                };
                b.take_n(u32::try_from(bytes).unwrap_or(u32::MAX))
            })
            .unwrap_or_default()
    }

    /// Turns the thermal cap on (bytes per second for each kind of work)
    /// or off.
    pub fn set_thermal_cap(&self, rate: Option<u64>) {
        {
            let mut t = self.thermal.lock().expect(crate::HELD);
            *t = rate.and_then(|r| {
                Some(ThermalCap {
                    upload: bucket(r)?,
                    download: bucket(r)?,
                    disk: bucket(r)?,
                })
            });
        }
    }

    /// Whether the thermal cap is on.
    pub fn thermal_capped(&self) -> bool {
        self.thermal.lock().expect(crate::HELD).is_some()
    }

    /// Answers once the files service has taken every command before it:
    /// the liveness check.
    pub async fn ping(&self) -> Result<(), FilesError> {
        self.ask(Cmd::Ping).await
    }

    /// Changes the seeding quota and the upload cap (bytes per second, 0:
    /// none) of the running service.
    pub async fn set_limits(&self, seeding_quota: u64, upload_rate: u64) -> Result<(), FilesError> {
        {
            let mut b = self.upload_rate.lock().expect(crate::HELD);
            *b = bucket(upload_rate);
        }
        self.ask(|reply| Cmd::SetQuota {
            bytes: seeding_quota,
            reply,
        })
        .await
    }

    /// Keeps a copy of a link's content for others (without its key).
    pub async fn mirror(&self, link: Link) -> Result<MirrorInfo, FilesError> {
        self.ask(|reply| Cmd::MirrorLink { link, reply }).await?
    }

    /// Every mirror, and the seeding quota.
    pub async fn mirrors(&self) -> Result<MirrorList, FilesError> {
        self.ask(Cmd::Mirrors).await
    }

    /// Stops keeping a mirror (by swarm, content id or link).
    pub async fn unmirror(&self, id: String) -> Result<(), FilesError> {
        self.ask(|reply| Cmd::Unmirror { id, reply }).await?
    }

    /// Asks the connected trusted boxes to mirror a share of ours (by
    /// token, link or content id); the boxes asked.
    pub async fn ask_mirror(&self, id: String) -> Result<Vec<NodeId>, FilesError> {
        self.ask(|reply| Cmd::AskMirror { id, reply }).await?
    }
}

/// Work the thermal cap slows.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// Sending blocks to downloaders.
    Upload,
    /// Asking providers for blocks.
    Download,
    /// Reading files to hash them.
    Disk,
}

/// The thermal cap's buckets, one per kind of work.
struct ThermalCap {
    upload: crate::conn::TokenBucket,
    download: crate::conn::TokenBucket,
    disk: crate::conn::TokenBucket,
}

/// A handle and the receivers the service's tasks will own.
pub struct Pending {
    pub(super) rx: mpsc::Receiver<Cmd>,
    pub(super) tracker: crate::tracker::Pending,
}

impl Pending {
    /// Where the peer layer hands the tracker channel's messages
    /// ([`warren_peers::NodeOptions::tracker`]).
    pub fn peer_messages(&self) -> mpsc::Sender<warren_peers::PeerMessage> {
        self.tracker.peer_messages()
    }
}

/// The upload cap's bucket: a second's worth of burst; none for 0.
fn bucket(rate: u64) -> Option<crate::conn::TokenBucket> {
    let rate = u32::try_from(rate).unwrap_or(u32::MAX);
    (rate > 0).then(|| crate::conn::TokenBucket::new(rate, rate))
}

/// Makes the handle before the service exists (connections need it).
pub fn handle(cfg: &FilesConfig) -> (FilesHandle, Pending) {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (tracker, tracker_pending) = crate::tracker::handle();
    let handle = FilesHandle {
        tx,
        upload_slots: crate::slots::UploadSlots::new(cfg.max_upload_sessions),
        max_queued: cfg.max_queued_requests,
        upload_rate: Arc::new(std::sync::Mutex::new(bucket(cfg.upload_rate_limit))),
        thermal: Arc::default(),
        scope: None,
        tracker,
        counters: Arc::default(),
    };
    (
        handle,
        Pending {
            rx,
            tracker: tracker_pending,
        },
    )
}

impl FilesHandle {
    /// A trusted node (reachable at `from`) asks us to keep and seed a
    /// swarm. Never waits: dropped when the command queue is full.
    pub(crate) fn mirror_request(&self, from: PeerAddr, swarm: SwarmId, size: u64) {
        let _ = self.tx.try_send(Cmd::Mirror { from, swarm, size });
    }

    /// The tracker: who provides which swarm, the catalogue.
    pub fn tracker(&self) -> &crate::tracker::TrackerHandle {
        &self.tracker
    }

    /// The service's counters.
    pub fn counters(&self) -> &crate::FilesCounters {
        &self.counters
    }
}
