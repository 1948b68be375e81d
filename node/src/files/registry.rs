//! The files service: one task that owns the shares and the downloads.
//!
//! It hashes new shares (on a blocking thread), signs their tickets, keeps
//! them and their piece tables in the store, answers upload sessions'
//! lookups, starts, resumes and tracks downloads, and tells the node task
//! what to announce. Commands arrive on a bounded queue (callers wait);
//! download events on another (downloads wait).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use warren_proto::content::{ContentId, Listing, Manifest, Meta, SwarmId, Ticket, Token};
use warren_proto::link::{Link, Target};
use warren_proto::seal::SealKey;
use warren_proto::{NodeId, PeerAddr, decode_exact, encode};

use super::FilesError;
use super::bitmap::Bitmap;
use super::download::{self, DownloadStatus};
use super::hashing::{Describe, Hashed, hash_path};
use super::persist::{StoredDownload, StoredShare};
use super::source::{FileSet, PieceSource};
use crate::config::FilesConfig;
use crate::conn::ConnCtx;
use crate::node::NodeHandle;
use crate::store::{Db, StoreWriter, Table};

/// Commands queued for the files task. Full: callers wait.
const COMMAND_QUEUE: usize = 32;
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

/// What an upload session serves for one swarm.
#[derive(Clone)]
pub(crate) struct Served {
    pub(crate) content: Arc<Content>,
    pub(crate) ticket: Option<Ticket>,
    pub(crate) source: Arc<dyn PieceSource>,
    pub(crate) have: watch::Receiver<Arc<Bitmap>>,
}

/// Events from downloads.
pub(crate) enum RegistryEvent {
    /// The content is known and the output files exist: serve what is done.
    Meta {
        swarm: SwarmId,
        content: Arc<Content>,
        ticket: Option<Ticket>,
        have: watch::Receiver<Arc<Bitmap>>,
        source: Arc<dyn PieceSource>,
        listing: Box<Listing>,
    },
    /// More pieces are durable.
    Progress { swarm: SwarmId, have: Bitmap },
    /// The download ended (cancelled = paused).
    Done {
        swarm: SwarmId,
        result: Result<(), FilesError>,
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
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
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
    /// When it was shared (unix seconds).
    pub created_at: u64,
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
        result: Result<Hashed, FilesError>,
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
    Lookup {
        swarm: SwarmId,
        reply: oneshot::Sender<Option<Served>>,
    },
    Mirror {
        from: NodeId,
        swarm: SwarmId,
        size: u64,
    },
}

/// A cheap handle to the files service.
#[derive(Clone)]
pub struct FilesHandle {
    tx: mpsc::Sender<Cmd>,
    upload_slots: Arc<Semaphore>,
    max_queued: usize,
    /// The upload cap, shared by every upload session.
    upload_rate: Option<Arc<std::sync::Mutex<crate::conn::TokenBucket>>>,
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

    pub(crate) async fn lookup(&self, swarm: SwarmId) -> Option<Served> {
        self.ask(|reply| Cmd::Lookup { swarm, reply })
            .await
            .ok()
            .flatten()
    }

    /// A slot for an inbound transfer connection, if one is free.
    pub(crate) fn upload_slot(&self) -> Option<(FilesHandle, OwnedSemaphorePermit)> {
        self.upload_slots
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|p| (self.clone(), p))
    }

    pub(crate) fn max_queued_requests(&self) -> usize {
        self.max_queued
    }

    /// How long to wait before sending `bytes` under the upload cap.
    pub(crate) fn upload_wait(&self, bytes: usize) -> std::time::Duration {
        match &self.upload_rate {
            Some(b) => b
                .lock()
                .map(|mut b| b.take_n(bytes as u32))
                .unwrap_or_default(),
            None => std::time::Duration::ZERO,
        }
    }

    /// A trusted node asks us to store and seed a swarm.
    pub(crate) fn mirror_request(&self, from: NodeId, swarm: SwarmId, size: u64) {
        let _ = self.tx.try_send(Cmd::Mirror { from, swarm, size });
    }
}

/// A handle and the receiver the service task will own.
pub(crate) struct Pending {
    rx: mpsc::Receiver<Cmd>,
}

/// Makes the handle before the service exists (connections need it).
pub(crate) fn handle(cfg: &FilesConfig) -> (FilesHandle, Pending) {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let rate = u32::try_from(cfg.upload_rate_limit).unwrap_or(u32::MAX);
    let handle = FilesHandle {
        tx,
        upload_slots: Arc::new(Semaphore::new(cfg.max_upload_sessions)),
        max_queued: cfg.max_queued_requests,
        upload_rate: (rate > 0).then(|| {
            Arc::new(std::sync::Mutex::new(crate::conn::TokenBucket::new(
                rate, rate,
            )))
        }),
    };
    (handle, Pending { rx })
}

struct Share {
    stored: StoredShare,
    content: Arc<Content>,
    seal: Option<SealKey>,
    source: Arc<dyn PieceSource>,
}

struct Dl {
    stored: StoredDownload,
    link: Link,
    status: watch::Receiver<DownloadStatus>,
    cancel: Option<CancellationToken>,
}

/// The files service task.
pub(crate) struct Registry {
    cfg: FilesConfig,
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
}

fn now() -> u64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.unix_now()
}

impl Registry {
    /// Builds the service, restoring shares and downloads from `db`.
    pub(crate) fn new(
        cfg: FilesConfig,
        db: Db,
        store: StoreWriter,
        ctx: Arc<ConnCtx>,
        node: NodeHandle,
        me: FilesHandle,
    ) -> Result<Registry, FilesError> {
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let mut r = Registry {
            cfg,
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
        };
        r.restore()?;
        Ok(r)
    }

    fn store_err(e: crate::Error) -> FilesError {
        FilesError::Refused(format!("store: {e}"))
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
            match self.load_content(&stored.content)? {
                Some(content) => self.install_share(stored, content),
                None => tracing::warn!(name = %stored.name, "share without its manifest skipped"),
            }
        }
        for (k, v) in self.db.scan(Table::Downloads).map_err(Self::store_err)? {
            let (Ok(stored), Ok(key)) = (
                decode_exact::<StoredDownload>(&v),
                <[u8; 32]>::try_from(k.as_slice()),
            ) else {
                continue;
            };
            let Ok(link) = stored.link.parse::<Link>() else {
                continue;
            };
            let (_tx, status) = watch::channel(DownloadStatus {
                state: stored.state.clone(),
                name: stored.name.clone(),
                error: stored.error.clone(),
                ..DownloadStatus::default()
            });
            self.downloads.insert(
                SwarmId(key),
                Dl {
                    stored,
                    link,
                    status,
                    cancel: None,
                },
            );
        }
        Ok(())
    }

    /// Resumes the downloads that were running when the node stopped.
    fn resume_all(&mut self) {
        let active: Vec<SwarmId> = self
            .downloads
            .iter()
            .filter(|(_, d)| d.stored.state == "active" || d.stored.state == "complete")
            .map(|(s, _)| *s)
            .collect();
        for s in active {
            if let Err(e) = self.start_download(s) {
                tracing::warn!(error = %e, "cannot resume a download");
            }
        }
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

    fn install_share(&mut self, stored: StoredShare, content: Arc<Content>) {
        let seal = stored.seal.map(SealKey);
        let source: Arc<dyn PieceSource> =
            Arc::new(FileSet::originals(&stored.sources, seal.clone()));
        let have = self.full_have(&content);
        let served = Served {
            content: content.clone(),
            ticket: Some(stored.ticket.clone()),
            source: source.clone(),
            have: have.clone(),
        };
        let token = Token(stored.token);
        self.served.insert(token.swarm(), served.clone());
        if stored.public {
            self.served.insert(
                SwarmId::from(content.id),
                Served {
                    ticket: None,
                    ..served
                },
            );
        }
        self.shares.insert(
            stored.token,
            Share {
                stored,
                content,
                seal,
                source,
            },
        );
    }

    fn own_addr(&self) -> Option<PeerAddr> {
        let own = self.ctx.own_record.borrow();
        own.record
            .hints
            .first()
            .map(|h| PeerAddr::new(own.id(), *h))
    }

    fn share_info(&self, s: &Share) -> ShareInfo {
        let at = self.own_addr();
        let token = Token(s.stored.token);
        let link = at.map(|at| Link {
            at,
            target: Target::Private {
                token,
                key: s.seal.clone(),
            },
        });
        let public_link = at.filter(|_| s.stored.public).map(|at| Link {
            at,
            target: Target::Public(s.content.id),
        });
        ShareInfo {
            url: link.as_ref().and_then(|l| self.browser_url(l)),
            link: link.map(|l| l.to_string()).unwrap_or_default(),
            public_link: public_link.map(|l| l.to_string()),
            content: s.content.id.to_string(),
            name: s.stored.name.clone(),
            size: s.stored.size,
            files: s.stored.files,
            public: s.stored.public,
            sealed: s.seal.is_some(),
            created_at: s.stored.created_at,
        }
    }

    /// The browser URL of a link on this node's web gateway.
    fn browser_url(&self, link: &Link) -> Option<String> {
        self.ctx
            .gateway_base
            .lock()
            .ok()
            .and_then(|b| b.clone())
            .map(|base| format!("{base}{}", link.path()))
    }

    fn find_share(&self, id: &str) -> Option<[u8; 16]> {
        let id = id.trim();
        let token = id
            .parse::<Link>()
            .ok()
            .and_then(|l| match l.target {
                Target::Private { token, .. } => Some(token),
                Target::Public(_) => None,
            })
            .or_else(|| Token::from_base32(id).ok());
        if let Some(t) = token {
            return self.shares.contains_key(&t.0).then_some(t.0);
        }
        let content =
            ContentId::from_base32(id)
                .ok()
                .or_else(|| match id.parse::<Link>().ok()?.target {
                    Target::Public(c) => Some(c),
                    Target::Private { .. } => None,
                })?;
        self.shares
            .iter()
            .find(|(_, s)| s.content.id == content)
            .map(|(t, _)| *t)
    }

    /// Runs the service until the node shuts down (or every handle is gone).
    pub(crate) async fn run(mut self, mut pending: Pending) {
        self.provide_all().await;
        self.resume_all();
        let shutdown = self.ctx.shutdown.clone();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                cmd = pending.rx.recv() => match cmd {
                    Some(c) => self.on_cmd(c).await,
                    None => break,
                },
                Some(ev) = self.events.recv() => self.on_event(ev).await,
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
        for s in self.shares.values() {
            let _ = self
                .node
                .provide(Token(s.stored.token).swarm(), Some(true))
                .await;
            if s.stored.public {
                let _ = self
                    .node
                    .provide(SwarmId::from(s.content.id), Some(false))
                    .await;
            }
        }
        for (swarm, d) in &self.downloads {
            if d.stored.content.is_some() {
                let private = matches!(d.link.target, Target::Private { .. });
                let _ = self.node.provide(*swarm, Some(private)).await;
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
                result,
                reply,
            } => {
                let r = match result {
                    Ok(h) => self.finish_share(h, opts, seal).await,
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
            Cmd::Lookup { swarm, reply } => {
                let _ = reply.send(self.served.get(&swarm).cloned());
            }
            Cmd::Mirror { from, swarm, size } => {
                tracing::info!(from = %from.short(), size, "mirror request (storing for others is not enabled on this node)");
                let _ = swarm;
            }
        }
    }

    fn start_share(
        &mut self,
        path: PathBuf,
        opts: ShareOptions,
        progress: mpsc::Sender<Progress>,
        reply: oneshot::Sender<Result<ShareInfo, FilesError>>,
    ) {
        if self.shares.len() >= self.cfg.max_shares {
            let _ = reply.send(Err(FilesError::Refused(format!(
                "already {} shares (files.max_shares)",
                self.shares.len()
            ))));
            return;
        }
        let seal = if opts.sealed {
            let mut k = [0u8; 32];
            if getrandom::fill(&mut k).is_err() {
                let _ = reply.send(Err(FilesError::Refused("no randomness".into())));
                return;
            }
            Some(SealKey(k))
        } else {
            None
        };
        let me = self.me.tx.clone();
        let describe = Describe {
            description: opts.description.clone(),
            tags: opts.tags.clone(),
            created_at: now(),
        };
        tokio::spawn(async move {
            let seal2 = seal.clone();
            let result = tokio::task::spawn_blocking(move || {
                let mut nonce = [0u8; 24];
                let _ = getrandom::fill(&mut nonce);
                let cancel = AtomicBool::new(false);
                let mut report = |done: u64, total: u64| {
                    let _ = progress.try_send((done, total));
                };
                hash_path(
                    &path,
                    &describe,
                    seal2.as_ref().map(|k| (k, nonce)),
                    &mut report,
                    &cancel,
                )
            })
            .await
            .unwrap_or_else(|e| Err(FilesError::Refused(format!("hashing task failed: {e}"))));
            let _ = me
                .send(Cmd::Hashed {
                    opts,
                    seal,
                    result,
                    reply,
                })
                .await;
        });
    }

    async fn finish_share(
        &mut self,
        h: Hashed,
        opts: ShareOptions,
        seal: Option<SealKey>,
    ) -> Result<ShareInfo, FilesError> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token)
            .map_err(|e| FilesError::Refused(format!("no randomness: {e}")))?;
        let bytes = h.manifest.encode();
        let id = h.manifest.id();
        let (name, files) = match &h.manifest.meta {
            Meta::Plain(l) => (l.name.to_string(), l.files.len() as u32),
            Meta::Sealed(_) => (
                h.sources
                    .first()
                    .and_then(|s| s.path.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                h.sources.len() as u32,
            ),
        };
        let ticket = Ticket::sign(&self.ctx.keypair, Token(token).swarm(), id);
        let stored = StoredShare {
            token,
            content: id.0,
            public: false,
            sources: h.sources,
            seal: seal.as_ref().map(|k| k.0),
            ticket,
            created_at: now(),
            name,
            size: h.manifest.total_size,
            files,
        };
        let table: Vec<u8> = h.hashes.iter().flatten().copied().collect();
        let content = Arc::new(Content {
            id,
            manifest: h.manifest,
            bytes,
            hashes: h.hashes,
        });
        self.store
            .put(Table::Manifests, id.0.to_vec(), content.bytes.clone())
            .await;
        self.store
            .put(Table::PieceTables, id.0.to_vec(), table)
            .await;
        self.store
            .put(Table::Shares, token.to_vec(), encode(&stored))
            .await;
        self.store.flush().await.map_err(Self::store_err)?;
        self.install_share(stored, content);
        let _ = self.node.provide(Token(token).swarm(), Some(true)).await;
        tracing::info!(token = %Token(token).to_base32().get(..6).unwrap_or(""), "shared");
        if opts.public {
            return self.set_public(&Token(token).to_base32()).await;
        }
        Ok(self.share_info(&self.shares[&token]))
    }

    async fn set_public(&mut self, id: &str) -> Result<ShareInfo, FilesError> {
        let token = self
            .find_share(id)
            .ok_or_else(|| FilesError::NotFound(format!("no share {id:?}")))?;
        let s = self
            .shares
            .get_mut(&token)
            .ok_or_else(|| FilesError::NotFound(id.into()))?;
        if s.seal.is_some() {
            return Err(FilesError::Refused(
                "a sealed share cannot be public: its point is that only link holders can read it"
                    .into(),
            ));
        }
        s.stored.public = true;
        let stored = s.stored.clone();
        let content = s.content.clone();
        self.store
            .put(Table::Shares, token.to_vec(), encode(&stored))
            .await;
        self.store.flush().await.map_err(Self::store_err)?;
        let have = self.full_have(&content);
        let source = self.shares[&token].source.clone();
        self.served.insert(
            SwarmId::from(content.id),
            Served {
                content: content.clone(),
                ticket: None,
                source,
                have,
            },
        );
        let _ = self
            .node
            .provide(SwarmId::from(content.id), Some(false))
            .await;
        if let Meta::Plain(l) = &content.manifest.meta {
            let _ = self
                .node
                .publish(content.id, l, content.manifest.total_size)
                .await;
        }
        Ok(self.share_info(&self.shares[&token]))
    }

    async fn unshare(&mut self, id: &str) -> Result<(), FilesError> {
        let token = self
            .find_share(id)
            .ok_or_else(|| FilesError::NotFound(format!("no share {id:?}")))?;
        let Some(s) = self.shares.remove(&token) else {
            return Ok(());
        };
        self.served.remove(&Token(token).swarm());
        let _ = self.node.provide(Token(token).swarm(), None).await;
        if s.stored.public
            && !self
                .shares
                .values()
                .any(|o| o.content.id == s.content.id && o.stored.public)
        {
            self.served.remove(&SwarmId::from(s.content.id));
            let _ = self.node.provide(SwarmId::from(s.content.id), None).await;
        }
        self.store.delete(Table::Shares, token.to_vec()).await;
        self.store.flush().await.map_err(Self::store_err)
    }

    fn get(
        &mut self,
        link: Link,
        out: PathBuf,
    ) -> Result<watch::Receiver<DownloadStatus>, FilesError> {
        let swarm = link.swarm();
        if self.shares.values().any(|s| {
            Token(s.stored.token).swarm() == swarm
                || (s.stored.public && SwarmId::from(s.content.id) == swarm)
        }) {
            return Err(FilesError::Refused(
                "that is one of this node's own shares".into(),
            ));
        }
        if let Some(d) = self.downloads.get(&swarm) {
            if d.cancel.is_some() || d.stored.state == "complete" {
                return Ok(d.status.clone());
            }
        } else {
            if !out.is_absolute() {
                return Err(FilesError::Refused(format!(
                    "{} is not an absolute path",
                    out.display()
                )));
            }
            if !Path::new(&out).is_dir() {
                return Err(FilesError::Refused(format!(
                    "{} is not a folder",
                    out.display()
                )));
            }
            let active = self
                .downloads
                .values()
                .filter(|d| d.cancel.is_some())
                .count();
            if active >= self.cfg.max_downloads {
                return Err(FilesError::Refused(format!(
                    "{active} downloads are running (files.max_downloads)"
                )));
            }
            let stored = StoredDownload {
                link: link.to_string(),
                out: out.to_string_lossy().into_owned(),
                content: None,
                ticket: None,
                have: Vec::new(),
                state: "active".into(),
                error: None,
                added_at: now(),
                name: None,
            };
            let (_tx, status) = watch::channel(DownloadStatus::default());
            self.downloads.insert(
                swarm,
                Dl {
                    stored,
                    link,
                    status,
                    cancel: None,
                },
            );
        }
        self.start_download(swarm)?;
        Ok(self.downloads[&swarm].status.clone())
    }

    fn start_download(&mut self, swarm: SwarmId) -> Result<(), FilesError> {
        let resume = match self.downloads.get(&swarm).and_then(|d| d.stored.content) {
            Some(c) => {
                let content = self
                    .load_content(&c)?
                    .ok_or_else(|| FilesError::NotFound("the download's manifest".into()))?;
                let have = self.downloads[&swarm].stored.have.clone();
                let have = Bitmap::from_bytes(&have)
                    .unwrap_or_else(|| Bitmap::new(content.manifest.piece_count() as u32));
                Some((content, have))
            }
            None => None,
        };
        let circuits = match self.ctx.transport.name() {
            "arti" | "ctor" => self.cfg.circuits_per_provider,
            _ => 1,
        };
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return Ok(());
        };
        let (status_tx, status) = watch::channel(DownloadStatus {
            state: "metadata".into(),
            ..d.status.borrow().clone()
        });
        let cancel = CancellationToken::new();
        d.status = status;
        d.cancel = Some(cancel.clone());
        d.stored.state = "active".into();
        d.stored.error = None;
        tokio::spawn(download::run(download::Setup {
            link: d.link.clone(),
            out: PathBuf::from(&d.stored.out),
            resume,
            ctx: self.ctx.clone(),
            node: self.node.clone(),
            cfg: self.cfg.clone(),
            circuits,
            registry: self.events_tx.clone(),
            status: status_tx,
            cancel,
        }));
        Ok(())
    }

    async fn persist_download(&mut self, swarm: SwarmId, flush: bool) {
        if let Some(d) = self.downloads.get(&swarm) {
            self.store
                .put(Table::Downloads, swarm.0.to_vec(), encode(&d.stored))
                .await;
            if flush {
                if let Err(e) = self.store.flush().await {
                    tracing::error!(error = %e, "cannot record download progress");
                }
            }
        }
    }

    async fn on_event(&mut self, ev: RegistryEvent) {
        match ev {
            RegistryEvent::Meta {
                swarm,
                content,
                ticket,
                have,
                source,
                listing,
            } => {
                if self
                    .db
                    .get(Table::Manifests, &content.id.0)
                    .ok()
                    .flatten()
                    .is_none()
                {
                    let table: Vec<u8> = content.hashes.iter().flatten().copied().collect();
                    self.store
                        .put(
                            Table::Manifests,
                            content.id.0.to_vec(),
                            content.bytes.clone(),
                        )
                        .await;
                    self.store
                        .put(Table::PieceTables, content.id.0.to_vec(), table)
                        .await;
                }
                let private = match self.downloads.get_mut(&swarm) {
                    Some(d) => {
                        d.stored.content = Some(content.id.0);
                        d.stored.ticket = ticket.clone();
                        d.stored.name = Some(listing.name.to_string());
                        matches!(d.link.target, Target::Private { .. })
                    }
                    None => return,
                };
                self.persist_download(swarm, true).await;
                self.served.insert(
                    swarm,
                    Served {
                        content,
                        ticket,
                        source,
                        have,
                    },
                );
                let _ = self.node.provide(swarm, Some(private)).await;
            }
            RegistryEvent::Progress { swarm, have } => {
                if let Some(d) = self.downloads.get_mut(&swarm) {
                    d.stored.have = have.to_bytes();
                    if have.complete() {
                        d.stored.state = "complete".into();
                    }
                }
                self.persist_download(swarm, true).await;
            }
            RegistryEvent::Done { swarm, result } => {
                if let Some(d) = self.downloads.get_mut(&swarm) {
                    d.cancel = None;
                    match &result {
                        Ok(()) => d.stored.state = "complete".into(),
                        Err(FilesError::Cancelled) => d.stored.state = "paused".into(),
                        Err(e) => {
                            d.stored.state = "failed".into();
                            d.stored.error = Some(e.to_string());
                        }
                    }
                }
                self.persist_download(swarm, true).await;
            }
        }
    }
}
