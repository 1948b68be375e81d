//! The files service: one task that owns the shares and the downloads.
//!
//! It hashes new shares (on a blocking thread), signs their tickets, keeps
//! them and their piece tables in the store, answers upload sessions'
//! lookups, starts, resumes and tracks downloads, and tells the node task
//! what to announce. Commands arrive on a bounded queue (callers wait);
//! download events on another (downloads wait).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use warren_proto::content::{ContentId, Listing, Manifest, Meta, SwarmId, Ticket, Token};
use warren_proto::link::Link;
use warren_proto::seal::SealKey;
use warren_proto::{NodeId, PeerAddr, decode_exact};

mod addressed;
mod checks;
mod downloads;
mod handle;
mod mirrors;
mod shares;

pub use addressed::ExtraSetup;
pub use handle::FilesHandle;
pub use handle::{Pending, Work, handle};
pub use mirrors::{MirrorInfo, MirrorList};

use super::FilesError;
use super::bitmap::Bitmap;
use super::download::{DownloadStatus, Place, Want};
use super::hashing::Hashed;
use super::health::{FAULT_QUEUE, Fault, Health, Owner};
use super::persist::{StoredDownload, StoredMirror, StoredShare, StoredState};
use super::source::{FileSet, Stamp};
use super::verified::{ReadBudget, Verified};
use crate::config::FilesConfig;
use crate::conn::ConnCtx;
use crate::store::{Db, StoreWriter, Table};
use warren_peers::NodeHandle;

/// Download events queued. Full: downloads wait.
const EVENT_QUEUE: usize = 64;

/// A share's content, checked: manifest, its encoding and id, piece table.
#[derive(Debug)]
pub struct Content {
    /// The content id.
    pub id: ContentId,
    /// The manifest.
    pub manifest: Manifest,
    /// Its canonical encoding.
    pub bytes: Vec<u8>,
    /// The piece table.
    pub hashes: Vec<[u8; 32]>,
}

impl Content {
    /// The listing: readable, or opened with the link's key.
    pub fn listing(&self, key: Option<&SealKey>) -> Result<Listing, FilesError> {
        let m = &self.manifest;
        match (&m.meta, key) {
            (Meta::Plain(l), _) => Ok(l.clone()),
            (Meta::Sealed(sealed), Some(k)) => Ok(k.open_listing(
                sealed.as_slice(),
                m.piece_size,
                m.total_size,
                &m.pieces_root,
            )?),
            (Meta::Sealed(_), None) => Err(FilesError::Refused(crate::Refusal::NoKey)),
        }
    }
}

/// What an upload session (and the web gateway) serves for one swarm.
#[derive(Clone)]
pub struct Served {
    /// Whose it is (a share or a download).
    pub(crate) owner: Owner,
    pub(crate) content: Arc<Content>,
    pub(crate) ticket: Option<Ticket>,
    /// The content as it travels (sealed shares: encrypted), only ever
    /// read piece by verified piece.
    pub(crate) pieces: Arc<Verified>,
    pub(crate) have: watch::Receiver<Arc<Bitmap>>,
    /// What a browser sees; none when this node cannot read the content.
    pub(crate) view: Option<View>,
}

/// The readable side of a share: its listing, and the key that turns the
/// pieces back into plaintext (sealed shares).
#[derive(Clone)]
pub(crate) struct View {
    pub(crate) listing: Arc<Listing>,
    pub(crate) key: Option<SealKey>,
}

/// What a lookup finds.
#[derive(Clone)]
pub enum Found {
    /// Served (while its files are being checked, too: every piece is
    /// verified as it is read).
    Served(Box<Served>),
    /// Known here, but its files no longer hold it (why, in words, is for
    /// the owner only: it names local paths).
    Unavailable {
        /// Changed or missing.
        health: Health,
    },
}

/// Events from downloads.
pub(crate) enum RegistryEvent {
    /// The content is known and the output files exist: serve what is done.
    Meta {
        swarm: SwarmId,
        content: Arc<Content>,
        ticket: Option<Ticket>,
        have: watch::Receiver<Arc<Bitmap>>,
        files: Arc<FileSet>,
        view: Option<View>,
        name: String,
    },
    /// More pieces are durable.
    Progress { swarm: SwarmId, have: Bitmap },
    /// The download ended (cancelled = paused); a finished one gives its
    /// files' stamps.
    Done {
        swarm: SwarmId,
        result: Result<Option<Vec<Stamp>>, FilesError>,
    },
}

/// How to share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareOptions {
    /// In the catalogue and fetchable by content id from the start.
    #[serde(default)]
    pub public: bool,
    /// Encrypted with a key that only the link carries.
    #[serde(default)]
    pub sealed: bool,
    /// Reachable at an address of its own, unlinkable to the node.
    #[serde(default)]
    pub own_address: bool,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Leave out files that cannot be shared (names that are not valid
    /// UTF-8 or hold control characters, special files, links out of the
    /// folder) instead of refusing the folder; the answer lists them.
    #[serde(default)]
    pub skip_unsafe: bool,
}

/// A share, as `warren shares --json` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareInfo {
    /// The private link (for `warren get`).
    pub link: String,
    /// The browser URL, when the node has a web gateway.
    pub url: Option<String>,
    /// For public shares: the content link anyone can use.
    pub public_link: Option<String>,
    /// The content id.
    pub content: String,
    /// Display name.
    pub name: String,
    /// Total bytes.
    pub size: u64,
    /// Number of files.
    pub files: u32,
    /// In the catalogue.
    pub public: bool,
    /// Encrypted for boxes.
    pub sealed: bool,
    /// Reachable at an address of its own.
    pub own_address: bool,
    /// When it was shared (unix seconds).
    pub created_at: u64,
    /// Whether its files still hold what was shared.
    pub state: Health,
    /// What is wrong, when the state is not `ok`, and what to do.
    pub reason: Option<String>,
    /// What sharing left out or noticed (skipped files, empty folders);
    /// only in the answer to `share`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A download, as `warren downloads --json` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DownloadInfo {
    /// The link it came from.
    pub link: String,
    /// Where its files go.
    pub out: String,
    /// Its state.
    #[serde(flatten)]
    pub status: DownloadStatus,
}

/// Hashing progress: bytes done of bytes total.
pub type Progress = (u64, u64);

enum Cmd {
    Share {
        path: PathBuf,
        opts: ShareOptions,
        progress: mpsc::Sender<Progress>,
        reply: oneshot::Sender<Result<ShareInfo, FilesError>>,
    },
    Hashed {
        opts: ShareOptions,
        seal: Option<SealKey>,
        identity: Option<crate::identity::Identity>,
        result: Result<Box<Hashed>, FilesError>,
        reply: oneshot::Sender<Result<ShareInfo, FilesError>>,
    },
    Shares(oneshot::Sender<Vec<ShareInfo>>),
    SetPublic {
        id: String,
        reply: oneshot::Sender<Result<ShareInfo, FilesError>>,
    },
    Unshare {
        id: String,
        reply: oneshot::Sender<Result<(), FilesError>>,
    },
    Get {
        link: Link,
        out: PathBuf,
        reply: oneshot::Sender<Result<watch::Receiver<DownloadStatus>, FilesError>>,
    },
    Downloads(oneshot::Sender<Vec<DownloadInfo>>),
    Pause {
        swarm: SwarmId,
        reply: oneshot::Sender<Result<(), FilesError>>,
    },
    Forget {
        swarm: SwarmId,
        reply: oneshot::Sender<Result<(), FilesError>>,
    },
    SetQuota {
        bytes: u64,
        reply: oneshot::Sender<()>,
    },
    Lookup {
        swarm: SwarmId,
        /// Set when asked on a share's own address.
        scope: Option<SwarmId>,
        reply: oneshot::Sender<Option<Found>>,
    },
    /// A file of this swarm's no longer has its recorded stamp: check it
    /// (once, however many ask) and answer when the verdict is in.
    Settle {
        swarm: SwarmId,
        scope: Option<SwarmId>,
        reply: oneshot::Sender<Option<Found>>,
    },
    /// The owner asks for a share's or a download's files to be checked
    /// against the piece table.
    Recheck {
        id: String,
        progress: mpsc::Sender<Progress>,
        reply: oneshot::Sender<Result<RecheckReport, FilesError>>,
    },
    /// A check finished (sent by its task).
    Checked(Box<checks::Done>),
    /// The periodic look at every file finished (sent by its task).
    Scanned(Vec<(Owner, Result<Vec<Stamp>, FilesError>)>),
    /// A trusted node asks us to keep a copy of a swarm.
    Mirror {
        from: PeerAddr,
        swarm: SwarmId,
        size: u64,
    },
    /// The owner asks us to keep a copy of a link's content.
    MirrorLink {
        link: Link,
        reply: oneshot::Sender<Result<MirrorInfo, FilesError>>,
    },
    Mirrors(oneshot::Sender<MirrorList>),
    /// Answers at once: the liveness check.
    Ping(oneshot::Sender<()>),
    Unmirror {
        id: String,
        reply: oneshot::Sender<Result<(), FilesError>>,
    },
    /// Ask the trusted boxes to mirror one of our shares.
    AskMirror {
        id: String,
        reply: oneshot::Sender<Result<Vec<NodeId>, FilesError>>,
    },
}

/// What `warren recheck` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecheckReport {
    /// The share's or download's name.
    pub name: String,
    /// Pieces checked.
    pub pieces: u32,
    /// Pieces whose bytes match the piece table.
    pub good: u32,
    /// Its state now.
    pub state: Health,
    /// What is wrong and what to do, if anything is.
    pub reason: Option<String>,
    /// For a download: what it does now (`complete`, or fetching what is
    /// missing).
    pub download: Option<DownloadStatus>,
}

struct Share {
    stored: StoredShare,
    content: Arc<Content>,
    seal: Option<SealKey>,
    /// Its files, read only through piece verification.
    pieces: Arc<Verified>,
    /// What its files looked like when last verified (`stamps` table).
    stamps: Vec<Stamp>,
    health: Health,
    reason: Option<String>,
    /// The files' stamps when a check last found them wrong: they are not
    /// checked again until they change.
    seen_bad: Option<Vec<Stamp>>,
}

struct Dl {
    stored: StoredDownload,
    want: Want,
    place: Place,
    /// For a mirror kept for others: its quota and who asked.
    mirror: Option<MirrorMeta>,
    /// The status the registry shows; a running download's task writes
    /// to a clone.
    status_tx: watch::Sender<DownloadStatus>,
    status: watch::Receiver<DownloadStatus>,
    cancel: Option<CancellationToken>,
    /// A finished download's files as last verified (`stamps` table).
    stamps: Option<Vec<Stamp>>,
    /// The files' stamps when a check last found them wrong.
    seen_bad: Option<Vec<Stamp>>,
}

impl Dl {
    /// A new download (or mirror) of `want` into `place`, not started.
    fn new(
        link: String,
        want: Want,
        place: Place,
        mirror: Option<MirrorMeta>,
        added_at: u64,
    ) -> Dl {
        let out = match &place {
            Place::Files(p) | Place::Blob(p) => p.to_string_lossy().into_owned(),
        };
        let stored = StoredDownload {
            link,
            out,
            content: None,
            ticket: None,
            have: Vec::new(),
            state: StoredState::Active,
            error: None,
            added_at,
            name: None,
        };
        Dl::stored(stored, want, place, mirror, None)
    }

    /// A download as recorded, not running; `content` (when known) gives
    /// the stored progress its sizes.
    fn stored(
        stored: StoredDownload,
        want: Want,
        place: Place,
        mirror: Option<MirrorMeta>,
        content: Option<&Content>,
    ) -> Dl {
        let mut status = DownloadStatus {
            state: stored.state.shown(),
            name: stored.name.clone(),
            error: stored.error.clone(),
            ..DownloadStatus::default()
        };
        if let Some(c) = content {
            let have = Bitmap::from_bytes(&stored.have)
                .filter(|b| u64::from(b.len()) == c.manifest.piece_count())
                .unwrap_or_else(|| Bitmap::new(c.manifest.piece_count() as u32));
            status.set_progress(c, &have);
        }
        let (status_tx, status) = watch::channel(status);
        Dl {
            stored,
            want,
            place,
            mirror,
            status_tx,
            status,
            cancel: None,
            stamps: None,
            seen_bad: None,
        }
    }

    fn state(&self) -> StoredState {
        self.stored.state
    }

    fn set_state(&mut self, s: StoredState) {
        self.stored.state = s;
    }
}

/// What a mirror adds to a download.
#[derive(Debug, Clone, Copy)]
struct MirrorMeta {
    /// Bytes counted against the seeding quota: what was asked for until
    /// the content is known, then its size.
    reserved: u64,
    asked_by: Option<NodeId>,
}

/// The files service task.
pub struct Registry {
    cfg: FilesConfig,
    /// Where mirrors are kept; none: this node keeps none.
    mirror_dir: Option<PathBuf>,
    /// For shares with addresses of their own.
    extra: ExtraSetup,
    addressed: HashMap<[u8; 16], addressed::Addressed>,
    db: Db,
    store: StoreWriter,
    ctx: Arc<ConnCtx>,
    node: NodeHandle,
    me: FilesHandle,
    shares: HashMap<[u8; 16], Share>,
    served: HashMap<SwarmId, Served>,
    downloads: HashMap<SwarmId, Dl>,
    events_tx: mpsc::Sender<RegistryEvent>,
    events: mpsc::Receiver<RegistryEvent>,
    full: HashMap<ContentId, watch::Receiver<Arc<Bitmap>>>,
    keep_full: Vec<watch::Sender<Arc<Bitmap>>>,
    /// Memory for verified pieces being sent, node-wide.
    budget: ReadBudget,
    faults_tx: mpsc::Sender<(Owner, Fault)>,
    faults: mpsc::Receiver<(Owner, Fault)>,
    /// Checks running or queued, and who waits for their verdict.
    checks: checks::Checks,
}

impl Registry {
    /// Unix seconds, from the node's clock.
    fn now(&self) -> u64 {
        self.ctx.clock.unix_now()
    }
}

impl Registry {
    /// Builds the service, restoring shares and downloads from `db`.
    pub fn new(
        cfg: FilesConfig,
        extra: ExtraSetup,
        db: Db,
        store: StoreWriter,
        ctx: Arc<ConnCtx>,
        node: NodeHandle,
        me: FilesHandle,
    ) -> Result<Registry, FilesError> {
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let (faults_tx, faults) = mpsc::channel(FAULT_QUEUE);
        let budget = ReadBudget::new(cfg.read_buffer_bytes);
        let mut r = Registry {
            cfg,
            mirror_dir: extra.mirror_dir.clone(),
            extra,
            addressed: HashMap::new(),
            db,
            store,
            ctx,
            node,
            me,
            shares: HashMap::new(),
            served: HashMap::new(),
            downloads: HashMap::new(),
            events_tx,
            events,
            full: HashMap::new(),
            keep_full: Vec::new(),
            budget,
            faults_tx,
            faults,
            checks: checks::Checks::default(),
        };
        r.restore()?;
        Ok(r)
    }

    fn store_err(e: warren_peers::Error) -> FilesError {
        e.into()
    }

    fn load_content(&self, id: &[u8; 32]) -> Result<Option<Arc<Content>>, FilesError> {
        let Some(bytes) = self.db.get(Table::Manifests, id).map_err(Self::store_err)? else {
            return Ok(None);
        };
        let Some(table) = self
            .db
            .get(Table::PieceTables, id)
            .map_err(Self::store_err)?
        else {
            return Ok(None);
        };
        let manifest = Manifest::decode(&bytes)?;
        let hashes: Vec<[u8; 32]> = table
            .chunks_exact(32)
            .filter_map(|c| c.try_into().ok())
            .collect();
        manifest.check_piece_table(&hashes)?;
        Ok(Some(Arc::new(Content {
            id: ContentId(*id),
            manifest,
            bytes,
            hashes,
        })))
    }

    fn restore(&mut self) -> Result<(), FilesError> {
        for (_, v) in self.db.scan(Table::Shares).map_err(Self::store_err)? {
            let Ok(stored) = decode_exact::<StoredShare>(&v) else {
                continue;
            };
            // Stamps recorded in full, or what the share itself recorded.
            let stamps = self
                .db
                .get(Table::Stamps, &stored.token)
                .ok()
                .flatten()
                .and_then(|v| decode_exact::<Vec<Stamp>>(&v).ok())
                .filter(|s| s.len() == stored.sources.len())
                .unwrap_or_else(|| stored.sources.iter().map(|f| f.stamp()).collect());
            match self.load_content(&stored.content)? {
                Some(content) => self.install_share(stored, content, stamps),
                None => tracing::warn!(name = %stored.name, "share without its manifest skipped"),
            }
        }
        for (key, stored) in self.scan_swarms::<StoredDownload>(Table::Downloads)? {
            let Ok(link) = stored.link.parse::<Link>() else {
                continue;
            };
            let place = Place::Files(PathBuf::from(&stored.out));
            self.restore_download(SwarmId(key), stored, Want::of(&link), place, None);
        }
        for (key, m) in self.scan_swarms::<StoredMirror>(Table::Mirrors)? {
            let Ok(at) = m.at.parse::<PeerAddr>() else {
                continue;
            };
            let want = Want {
                swarm: SwarmId(key),
                at,
                signer: m.signer,
                key: None,
            };
            let place = Place::Blob(PathBuf::from(&m.dl.out));
            let meta = MirrorMeta {
                reserved: m.reserved,
                asked_by: m.asked_by,
            };
            self.restore_download(SwarmId(key), m.dl, want, place, Some(meta));
        }
        Ok(())
    }

    /// The entries of a table keyed by swarm that decode (others skipped).
    fn scan_swarms<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
    ) -> Result<Vec<([u8; 32], T)>, FilesError> {
        let rows = self.db.scan(table).map_err(Self::store_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_slice().try_into().ok()?, decode_exact(&v).ok()?)))
            .collect())
    }

    fn restore_download(
        &mut self,
        swarm: SwarmId,
        stored: StoredDownload,
        want: Want,
        place: Place,
        mirror: Option<MirrorMeta>,
    ) {
        let content = match stored.content.map(|c| self.load_content(&c)) {
            Some(Ok(c)) => c,
            _ => None,
        };
        let mut dl = Dl::stored(stored, want, place, mirror, content.as_deref());
        dl.stamps = self
            .db
            .get(Table::Stamps, &swarm.0)
            .ok()
            .flatten()
            .and_then(|v| decode_exact(&v).ok());
        self.downloads.insert(swarm, dl);
    }

    /// What `swarm` is here. A share with an address of its own is served
    /// there only, and that address serves nothing else.
    fn lookup(&self, swarm: SwarmId, scope: Option<SwarmId>) -> Option<Found> {
        let visible = match scope {
            Some(s) => s == swarm,
            None => !self.addressed.values().any(|a| a.swarm == swarm),
        };
        let served = self.served.get(&swarm).filter(|_| visible)?;
        Some(match self.health_of(served.owner) {
            (Health::Ok | Health::Checking, _) => Found::Served(Box::new(served.clone())),
            (health, _) => Found::Unavailable { health },
        })
    }

    fn full_have(&mut self, content: &Content) -> watch::Receiver<Arc<Bitmap>> {
        if let Some(rx) = self.full.get(&content.id) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(Arc::new(
            Bitmap::full(content.manifest.piece_count() as u32),
        ));
        self.keep_full.push(tx);
        self.full.insert(content.id, rx.clone());
        rx
    }

    /// Runs the service, and starts its tracker task, until the node shuts
    /// down.
    pub async fn run(mut self, mut pending: Pending) {
        self.extra.tasks.spawn(crate::tracker::run(
            pending.tracker,
            crate::tracker::Setup {
                peers: self.node.clone(),
                ctx: self.ctx.clone(),
                files: self.me.clone(),
                max_swarms: self.extra.tracker_swarms,
                max_entries: self.extra.catalogue_entries,
            },
        ));
        self.start_all_addressed().await;
        self.resume_all();
        self.provide_all().await;
        // Look at every file once at start, then every check interval.
        self.start_scan();
        let every = self.cfg.check_interval_secs;
        let mut scan = tokio::time::interval(std::time::Duration::from_secs(every.max(1)));
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        scan.reset();
        let shutdown = self.ctx.shutdown.clone();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                cmd = pending.rx.recv() => match cmd {
                    Some(c) => self.on_cmd(c).await,
                    None => break,
                },
                Some(ev) = self.events.recv() => self.on_event(ev).await,
                Some((owner, fault)) = self.faults.recv() => self.on_fault(owner, fault).await,
                _ = scan.tick(), if every > 0 => self.start_scan(),
            }
        }
        // Stop downloads; each records what is durable as it stops.
        for d in self.downloads.values() {
            if let Some(c) = &d.cancel {
                c.cancel();
            }
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.downloads.values().any(|d| d.cancel.is_some()) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) => self.on_event_at_shutdown(ev).await,
                _ => break,
            }
        }
    }

    /// At shutdown a paused download stays `active`, to resume at next start.
    async fn on_event_at_shutdown(&mut self, ev: RegistryEvent) {
        match ev {
            RegistryEvent::Done {
                swarm,
                result: Err(FilesError::Cancelled),
            } => {
                if let Some(d) = self.downloads.get_mut(&swarm) {
                    d.cancel = None;
                }
                self.persist_download(swarm, true).await;
            }
            other => self.on_event(other).await,
        }
    }

    async fn provide_all(&self) {
        for (token, s) in &self.shares {
            if self.addressed.contains_key(token) {
                // Announcing it would tie it to this node.
                continue;
            }
            let _ = self
                .me
                .tracker()
                .provide(Token(s.stored.token).swarm(), Some(true))
                .await;
            if s.stored.public {
                let _ = self
                    .me
                    .tracker()
                    .provide(SwarmId::from(s.content.id), Some(false))
                    .await;
            }
        }
        for (swarm, d) in &self.downloads {
            if d.stored.content.is_some()
                && !matches!(d.state(), StoredState::Changed | StoredState::Missing)
            {
                // Private swarms are the ones with tickets.
                let private = d.stored.ticket.is_some();
                let _ = self.me.tracker().provide(*swarm, Some(private)).await;
            }
        }
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Share {
                path,
                opts,
                progress,
                reply,
            } => self.start_share(path, opts, progress, reply),
            Cmd::Hashed {
                opts,
                seal,
                identity,
                result,
                reply,
            } => {
                let r = match result {
                    Ok(h) => {
                        let notes = h.notes.clone();
                        let r = self.finish_share(*h, opts, seal, identity).await;
                        r.map(|mut info| {
                            info.warnings = notes;
                            info
                        })
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            Cmd::Shares(reply) => {
                let mut v: Vec<ShareInfo> =
                    self.shares.values().map(|s| self.share_info(s)).collect();
                v.sort_by_key(|s| std::cmp::Reverse(s.created_at));
                let _ = reply.send(v);
            }
            Cmd::SetPublic { id, reply } => {
                let r = self.set_public(&id).await;
                let _ = reply.send(r);
            }
            Cmd::Unshare { id, reply } => {
                let r = self.unshare(&id).await;
                let _ = reply.send(r);
            }
            Cmd::Get { link, out, reply } => {
                let r = self.get(link, out);
                let _ = reply.send(r);
            }
            Cmd::Downloads(reply) => {
                let v = self
                    .downloads
                    .values()
                    .filter(|d| d.mirror.is_none())
                    .map(|d| DownloadInfo {
                        link: d.stored.link.clone(),
                        out: d.stored.out.clone(),
                        status: d.status.borrow().clone(),
                    })
                    .collect();
                let _ = reply.send(v);
            }
            Cmd::Pause { swarm, reply } => {
                let r = match self.downloads.get(&swarm).and_then(|d| d.cancel.clone()) {
                    Some(c) => {
                        c.cancel();
                        Ok(())
                    }
                    None => Err(FilesError::NotFound("no running download of that".into())),
                };
                let _ = reply.send(r);
            }
            Cmd::SetQuota { bytes, reply } => {
                self.cfg.seeding_quota_bytes = bytes;
                let _ = reply.send(());
            }
            Cmd::Forget { swarm, reply } => {
                let r = self.forget(swarm).await;
                let _ = reply.send(r);
            }
            Cmd::Lookup {
                swarm,
                scope,
                reply,
            } => {
                let _ = reply.send(self.lookup(swarm, scope));
            }
            Cmd::Settle {
                swarm,
                scope,
                reply,
            } => self.settle(swarm, scope, reply),
            Cmd::Recheck {
                id,
                progress,
                reply,
            } => self.recheck_for_owner(&id, progress, reply),
            Cmd::Checked(done) => self.on_checked(*done).await,
            Cmd::Scanned(results) => self.on_scanned(results).await,
            Cmd::Mirror { from, swarm, size } => self.mirror_request(from, swarm, size).await,
            Cmd::MirrorLink { link, reply } => {
                let r = self.mirror_link(link).await;
                let _ = reply.send(r);
            }
            Cmd::Mirrors(reply) => {
                let _ = reply.send(self.mirror_list());
            }
            Cmd::Ping(reply) => {
                let _ = reply.send(());
            }
            Cmd::Unmirror { id, reply } => {
                let r = self.unmirror(&id).await;
                let _ = reply.send(r);
            }
            Cmd::AskMirror { id, reply } => {
                let r = self.ask_mirror(&id).await;
                let _ = reply.send(r);
            }
        }
    }
}
