//! One download: a task that owns the piece picker, the providers and the
//! transfer connections, and reports progress.
//!
//! ```text
//!  providers (link, who-has) ──► transfer connections (several per
//!  provider, each its own circuit) ──► conn tasks ──ConnEvent──► this task
//!                                        │ verified pieces
//!                                        ▼
//!                                     writer ──Durable──► this task ──► registry (bitmap in redb)
//! ```
//!
//! Queues: connection events (`EVENT_QUEUE`, senders wait), piece writes
//! (`WRITE_QUEUE` pieces, senders wait: the disk slows the network down),
//! per-connection commands (`CONN_QUEUE`, this task uses `try_send` and the
//! connection holds at most two assignments, so it never fills).

mod anon;
mod conn;
pub(crate) mod meta;
mod picker;
mod want;
mod writer;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use warren_proto::content::SwarmId;
use warren_proto::{NodeId, PeerAddr, SignedNodeRecord};

use self::conn::ToConn;
use self::meta::{Expect, Opened};
use self::picker::Picker;
pub(crate) use self::want::{Place, Signer, Want, lay};
use self::writer::Durable;
pub(crate) use self::writer::WriteJob;
use super::FilesError;
use super::bitmap::Bitmap;
use super::output::Output;
use super::registry::{Content, RegistryEvent};
use super::source::Stamp;
use crate::config::FilesConfig;
use crate::conn::ConnCtx;
use crate::metrics::Metrics;

const EVENT_QUEUE: usize = 256;
const WRITE_QUEUE: usize = 8;
const CONN_QUEUE: usize = 64;
/// Pieces a connection works on at once, at least: enough that its
/// `max_inflight_blocks` requests can all be outstanding (a circuit with a
/// long round trip needs them all), and one more to start while the last
/// is finishing; at most `CONN_QUEUE`.
const MIN_PIECES_PER_CONN: usize = 2;

fn pieces_per_conn(max_inflight_blocks: usize, piece_size: u32) -> usize {
    let window = max_inflight_blocks as u64 * u64::from(warren_proto::files::MAX_BLOCK);
    let pieces = window.div_ceil(u64::from(piece_size.max(1))) as usize + 1;
    pieces.clamp(MIN_PIECES_PER_CONN, CONN_QUEUE)
}
/// Seconds between who-has requests while pieces are missing, once the
/// download is under way; before that, it asks again after 2, 4, 8 and 16
/// seconds (peers met just before the download may not have announced yet).
const WHO_HAS_EVERY: u64 = 30;

/// Whether to ask who has the swarm again at this second of the transfer.
fn ask_again(tick: u64) -> bool {
    matches!(tick, 2 | 4 | 8 | 16) || tick % WHO_HAS_EVERY == 0
}
/// First wait before asking again a provider that sent a piece that does
/// not match its hash; it doubles each time, up to the maximum.
const BAD_PIECE_BACKOFF: Duration = Duration::from_secs(10);
/// First wait before asking again a provider whose copy changed or is gone.
const UNAVAILABLE_BACKOFF: Duration = Duration::from_secs(10);
/// Longest wait before a provider is tried again.
const MAX_BAD_PIECE_BACKOFF: Duration = Duration::from_secs(600);
/// Providers named in a waiting download's `error`.
const MAX_REASONS: usize = 4;
/// A piece that did not hash to its entry in the piece table.
const BAD_PIECE: warren_proto::Error = warren_proto::Error::HashMismatch("piece");

/// How long to wait for other providers once every one asked has said it
/// does not have the swarm.
const NOBODY_HAS_IT: Duration = Duration::from_secs(15);

/// What a connection tells the download.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// The provider's pieces are known.
    Ready { conn: u64, has: Bitmap },
    /// The provider gained a piece.
    Have { conn: u64, piece: u32 },
    /// A piece was verified and handed to the writer.
    Verified { conn: u64, piece: u32 },
    /// A piece failed verification: the provider is lying or broken.
    Bad { conn: u64, piece: u32 },
    /// A piece was given back (refused by the provider).
    Released { conn: u64, piece: u32 },
    /// The connection ended.
    Closed { conn: u64, why: FilesError },
    /// A connection was opened (dialing done, swarm served).
    Opened { conn: u64, opened: Box<Opened> },
}

/// What every connection of a download shares.
pub(crate) struct Shared {
    pub(crate) pieces: u32,
    pub(crate) piece_size: u32,
    pub(crate) total: u64,
    pub(crate) content: Arc<Content>,
    pub(crate) events: mpsc::Sender<ConnEvent>,
    pub(crate) writes: mpsc::Sender<WriteJob>,
    pub(crate) max_inflight: usize,
    pub(crate) request_timeout: Duration,
    /// The files service (its thermal cap slows downloads while hot).
    pub(crate) files: crate::FilesHandle,
}

impl Shared {
    pub(crate) fn piece_len(&self, p: u32) -> u64 {
        let start = u64::from(p) * u64::from(self.piece_size);
        self.total
            .saturating_sub(start)
            .min(u64::from(self.piece_size))
    }
}

/// Where a download stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadState {
    /// Asking providers for the manifest and piece table.
    #[default]
    Metadata,
    /// No provider can send pieces now; `error` says why and `retry_at`
    /// when the next one will be tried.
    Waiting,
    /// Pieces are arriving.
    Downloading,
    /// Its files are being checked against the piece table.
    Checking,
    /// Every piece verified and on disk, under the files' own names.
    Complete,
    /// Paused (by its owner, or by a full disk); `warren get` resumes it.
    Paused,
    /// Stopped for good; `error` says why.
    Failed,
    /// Its files changed after they were downloaded; not seeded.
    /// `warren get` fetches what changed again.
    Changed,
    /// Its files are gone; not seeded. `warren get` fetches them again.
    Missing,
}

impl DownloadState {
    /// The word `warren downloads` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            DownloadState::Metadata => "metadata",
            DownloadState::Waiting => "waiting",
            DownloadState::Downloading => "downloading",
            DownloadState::Checking => "checking",
            DownloadState::Complete => "complete",
            DownloadState::Paused => "paused",
            DownloadState::Failed => "failed",
            DownloadState::Changed => "changed",
            DownloadState::Missing => "missing",
        }
    }

    /// Whether the download has stopped (nothing more happens until its
    /// owner acts).
    pub fn stopped(self) -> bool {
        matches!(
            self,
            DownloadState::Complete
                | DownloadState::Paused
                | DownloadState::Failed
                | DownloadState::Changed
                | DownloadState::Missing
        )
    }
}

impl std::fmt::Display for DownloadState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A download's state, as `warren downloads` shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DownloadStatus {
    /// Where it stands.
    pub state: DownloadState,
    /// The share's name, once known.
    pub name: Option<String>,
    /// Total bytes, once known.
    pub total_bytes: u64,
    /// Bytes verified and on disk.
    pub done_bytes: u64,
    /// Pieces.
    pub pieces_total: u32,
    /// Pieces verified and on disk.
    pub pieces_done: u32,
    /// Transfer connections ready.
    pub connections: usize,
    /// Providers known.
    pub providers: usize,
    /// Bytes per second over the last seconds.
    pub rate: u64,
    /// What went wrong, if anything (while waiting: why no provider can
    /// send pieces).
    pub error: Option<String>,
    /// While waiting: when the next provider will be tried (unix seconds).
    #[serde(default)]
    pub retry_at: Option<u64>,
}

impl DownloadStatus {
    /// Sets the sizes and the bytes on disk from `have`.
    pub(crate) fn set_progress(&mut self, content: &Content, have: &Bitmap) {
        let m = &content.manifest;
        self.total_bytes = m.total_size;
        self.pieces_total = have.len();
        self.pieces_done = have.count();
        self.done_bytes = (0..have.len())
            .filter(|p| have.get(*p))
            .map(|p| m.piece_len(u64::from(p)))
            .sum();
    }
}

/// Everything a download needs.
pub(crate) struct Setup {
    pub(crate) want: Want,
    pub(crate) place: Place,
    /// A download persisted earlier: its content and the pieces on disk
    /// (its output files exist and belong to it).
    pub(crate) resume: Option<(Arc<Content>, Bitmap)>,
    /// The most content this download may hold (a mirror's share of the
    /// seeding quota); none: no limit.
    pub(crate) max_bytes: Option<u64>,
    pub(crate) ctx: Arc<ConnCtx>,
    /// The files service (for the thermal cap).
    pub(crate) files: crate::FilesHandle,
    pub(crate) cfg: FilesConfig,
    pub(crate) circuits: usize,
    pub(crate) registry: mpsc::Sender<RegistryEvent>,
    pub(crate) status: watch::Sender<DownloadStatus>,
    pub(crate) cancel: CancellationToken,
}

#[derive(Debug)]
struct Provider {
    addr: PeerAddr,
    conns: usize,
    failures: u32,
    next_try: Instant,
    banned: bool,
    gone: bool,
    /// Pieces it sent that did not match.
    bad: u32,
    /// What went wrong with it last.
    last_error: Option<String>,
}

struct ConnState {
    provider: NodeId,
    to: Option<mpsc::Sender<ToConn>>,
    has: Option<Bitmap>,
    assigned: HashSet<u32>,
}

/// Runs a download to completion, failure or cancellation.
pub(crate) async fn run(setup: Setup) {
    let swarm = setup.want.swarm;
    let registry = setup.registry.clone();
    let status = setup.status.clone();
    let result = match anon::Anon::new(&setup.ctx).await {
        Ok(anon) => Download::new(setup, anon).run().await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        if !matches!(e, FilesError::Cancelled) {
            tracing::warn!(error = %e, "download stopped");
        }
        status.send_modify(|s| {
            s.state = stopped_state(e);
            s.error = (!matches!(e, FilesError::Cancelled)).then(|| e.to_string());
            s.connections = 0;
            s.rate = 0;
            s.retry_at = None;
        });
    }
    let _ = registry.send(RegistryEvent::Done { swarm, result }).await;
}

/// The state a download that stopped with `e` is in.
pub(crate) fn stopped_state(e: &FilesError) -> DownloadState {
    match e {
        // A full disk pauses: free space and resume.
        FilesError::Cancelled | FilesError::DiskFull(_) => DownloadState::Paused,
        FilesError::Fault(f) => match f.health() {
            crate::health::Health::Missing => DownloadState::Missing,
            _ => DownloadState::Changed,
        },
        _ => DownloadState::Failed,
    }
}

struct Download {
    s: Setup,
    /// The identity its transfer connections dial with.
    anon: anon::Anon,
    swarm: SwarmId,
    expect: Expect,
    providers: HashMap<NodeId, Provider>,
    conns: HashMap<u64, ConnState>,
    next_conn: u64,
    /// Pieces assigned to a connection at once (see `pieces_per_conn`).
    per_conn: usize,
    events_tx: mpsc::Sender<ConnEvent>,
    events: mpsc::Receiver<ConnEvent>,
}

impl Download {
    fn new(s: Setup, anon: anon::Anon) -> Download {
        let swarm = s.want.swarm;
        let content = s.resume.as_ref().map(|(c, _)| c.id);
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let mut providers = HashMap::new();
        providers.insert(s.want.at.id, Provider::new(s.want.at));
        Download {
            anon,
            swarm,
            expect: Expect {
                swarm,
                signer: s.want.signer.clone(),
                content,
            },
            s,
            providers,
            conns: HashMap::new(),
            next_conn: 1,
            per_conn: MIN_PIECES_PER_CONN,
            events_tx,
            events,
        }
    }

    fn private(&self) -> bool {
        self.s.want.private()
    }

    async fn run(mut self) -> Result<Option<Vec<Stamp>>, FilesError> {
        let mut who_has = self
            .s
            .files
            .tracker()
            .who_has(self.swarm, self.private())
            .await
            .ok();
        let resuming = self.s.resume.is_some();
        let (content, have, first) = match self.s.resume.take() {
            Some((c, have)) => (c, have, None),
            None => {
                self.s
                    .status
                    .send_modify(|s| s.state = DownloadState::Metadata);
                let (content, opened) = self.metadata(&mut who_has).await?;
                let n = content.manifest.piece_count() as u32;
                (content, Bitmap::new(n), Some(opened))
            }
        };
        self.expect.content = Some(content.id);
        let total = content.manifest.total_size;
        if let Some(max) = self.s.max_bytes.filter(|m| total > *m) {
            return Err(FilesError::Quota {
                need: total,
                left: max,
            });
        }
        let (place, key, c2, h2) = (
            self.s.place.clone(),
            self.s.want.key.clone(),
            content.clone(),
            have.clone(),
        );
        let prepared = tokio::task::spawn_blocking(move || {
            want::prepare(&place, &c2, key.as_ref(), &h2, resuming)
        })
        .await
        .map_err(FilesError::from)??;
        let files = prepared.files.clone();
        let (have_tx, have_rx) = watch::channel(Arc::new(have.clone()));
        let ticket = first.as_ref().and_then(|o| o.ticket.clone());
        let _ = self
            .s
            .registry
            .send(RegistryEvent::Meta {
                swarm: self.swarm,
                content: content.clone(),
                ticket,
                have: have_rx,
                files: prepared.files,
                view: prepared.view,
                name: prepared.name.clone(),
            })
            .await;
        self.s.status.send_modify(|s| {
            s.name = Some(prepared.name);
            s.set_progress(&content, &have);
        });
        if have.complete() {
            // Everything was on disk already: check what was not checked.
            let mut output = prepared.output;
            tokio::task::spawn_blocking(move || output.finish(&have))
                .await
                .map_err(FilesError::from)??;
        } else {
            self.transfer(
                content.clone(),
                have.clone(),
                have_tx,
                prepared.output,
                first,
                &mut who_has,
            )
            .await?;
        }
        // Every piece is durable and every file has its own name: record
        // what the files look like now.
        let stamps = tokio::task::spawn_blocking(move || files.stamps_now())
            .await
            .map_err(FilesError::from)??;
        self.finish_status(&content);
        Ok(Some(stamps))
    }

    /// Finds a provider and learns the manifest and piece table from it.
    async fn metadata(
        &mut self,
        who_has: &mut Option<mpsc::Receiver<Vec<SignedNodeRecord>>>,
    ) -> Result<(Arc<Content>, Opened), FilesError> {
        let mut last_error = String::from("no provider found yet");
        let mut hopeless_since: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let due: Vec<PeerAddr> = self
                .providers
                .values()
                .filter(|p| !p.banned && !p.gone && p.next_try <= now)
                .map(|p| p.addr)
                .collect();
            for addr in due {
                match self.open_meta(&addr).await {
                    Ok(found) => return Ok(found),
                    Err(e) => {
                        last_error = format!("{}: {e}", addr.id.short());
                        self.provider_failed(&addr.id, &e);
                    }
                }
            }
            // Everyone asked said they do not have it, and nobody else
            // turned up for a while: the link is unknown or withdrawn.
            if self.providers.values().all(|p| p.gone || p.banned) {
                let since = *hopeless_since.get_or_insert(Instant::now());
                if since.elapsed() >= NOBODY_HAS_IT {
                    return Err(FilesError::NotFound(format!(
                        "nobody serves this link (unknown or withdrawn share; last answer: {last_error})"
                    )));
                }
            } else {
                hopeless_since = None;
            }
            let (why, retry_at) = self.why_waiting();
            self.s.status.send_modify(|s| {
                s.state = DownloadState::Waiting;
                s.error = Some(why);
                s.retry_at = retry_at;
                s.providers = self.providers.len();
            });
            tokio::select! {
                () = self.s.cancel.cancelled() => return Err(FilesError::Cancelled),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                Some(records) = async { match who_has.as_mut() { Some(r) => r.recv().await, None => None } } => {
                    self.add_providers(records);
                }
            }
        }
    }

    async fn open_meta(&mut self, addr: &PeerAddr) -> Result<(Arc<Content>, Opened), FilesError> {
        let mut opened = tokio::select! {
            r = meta::open(addr, &self.expect, &self.anon.ctx) => r?,
            () = self.s.cancel.cancelled() => return Err(FilesError::Cancelled),
        };
        let (bytes, manifest, hashes) = opened.fetch_meta().await?;
        let content = Arc::new(Content {
            id: opened.content,
            manifest,
            bytes,
            hashes,
        });
        Ok((content, opened))
    }

    /// Records what went wrong with a provider and when to try it again.
    /// A provider that says it does not have the swarm is not asked again;
    /// one that breaks the protocol is dropped; one that sent a piece that
    /// does not match, or whose copy changed, is tried again later (its
    /// owner may put the file back) after a longer wait each time.
    fn provider_failed(&mut self, id: &NodeId, e: &FilesError) {
        if matches!(e, FilesError::Cancelled) {
            return;
        }
        if let Some(p) = self.providers.get_mut(id) {
            let (base, cap) = match e {
                FilesError::NotFound(_) => {
                    p.gone = true;
                    p.last_error = Some(e.to_string());
                    return;
                }
                FilesError::Proto(warren_proto::Error::HashMismatch("piece")) => {
                    p.bad += 1;
                    p.last_error = Some(format!(
                        "sent {} that did not match {} hash",
                        if p.bad == 1 {
                            "a piece".to_string()
                        } else {
                            format!("{} pieces", p.bad)
                        },
                        if p.bad == 1 { "its" } else { "their" }
                    ));
                    (BAD_PIECE_BACKOFF, MAX_BAD_PIECE_BACKOFF)
                }
                FilesError::Proto(_) => {
                    p.banned = true;
                    p.last_error = Some(format!("broke the protocol: {e}"));
                    return;
                }
                FilesError::Unavailable(_) => {
                    p.last_error = Some(e.to_string());
                    (UNAVAILABLE_BACKOFF, MAX_BAD_PIECE_BACKOFF)
                }
                _ => {
                    p.last_error = Some(e.to_string());
                    (Duration::from_secs(1), Duration::from_secs(120))
                }
            };
            p.failures += 1;
            // base, 2·base, 4·base … up to cap; each cut by up to a half at
            // random, so that many downloaders do not come back at once.
            let backoff = base
                .saturating_mul(1 << (p.failures - 1).min(10))
                .min(cap)
                .mul_f64(0.5 + fastrand::f64() / 2.0);
            p.next_try = Instant::now() + backoff;
        }
    }

    /// Why no provider sends pieces now, and when the next will be tried
    /// (unix seconds).
    fn why_waiting(&self) -> (String, Option<u64>) {
        let now = Instant::now();
        let mut reasons: Vec<String> = self
            .providers
            .values()
            .filter_map(|p| Some(format!("{}: {}", p.addr.id.short(), p.last_error.as_ref()?)))
            .collect();
        reasons.sort();
        let shown = reasons.len().min(MAX_REASONS);
        let mut why = reasons[..shown].join("; ");
        if reasons.len() > shown {
            why.push_str(&format!("; and {} more", reasons.len() - shown));
        }
        if why.is_empty() {
            why = "no provider found yet".into();
        }
        let next = self
            .providers
            .values()
            .filter(|p| !p.gone && !p.banned)
            .map(|p| p.next_try)
            .min();
        let unix = self.s.ctx.clock.unix_now();
        let retry_at = next.map(|t| unix + t.saturating_duration_since(now).as_secs());
        (why, retry_at)
    }

    fn add_providers(&mut self, records: Vec<SignedNodeRecord>) {
        let own = self.s.ctx.keypair.id();
        for r in records {
            let id = r.id();
            if id == own || self.providers.contains_key(&id) {
                continue;
            }
            let hint = r
                .record
                .hints
                .iter()
                .find(|h| self.s.ctx.transport.can_dial(h))
                .copied();
            if let Some(hint) = hint {
                tracing::debug!(provider = %id.short(), "new provider");
                self.providers
                    .insert(id, Provider::new(PeerAddr::new(id, hint)));
            }
        }
    }

    fn finish_status(&self, content: &Content) {
        let n = content.manifest.piece_count() as u32;
        self.s.status.send_modify(|s| {
            s.state = DownloadState::Complete;
            s.set_progress(content, &Bitmap::full(n));
            s.connections = 0;
            s.rate = 0;
            s.error = None;
            s.retry_at = None;
        });
    }

    /// The piece phase.
    async fn transfer(
        &mut self,
        content: Arc<Content>,
        mut have: Bitmap,
        have_tx: watch::Sender<Arc<Bitmap>>,
        output: Output,
        first: Option<Opened>,
        who_has: &mut Option<mpsc::Receiver<Vec<SignedNodeRecord>>>,
    ) -> Result<(), FilesError> {
        let pieces = have.len();
        let (writes_tx, writes_rx) = mpsc::channel(WRITE_QUEUE);
        let (durable_tx, mut durable) = mpsc::channel(16);
        let writer = writer::spawn(output, have.clone(), writes_rx, durable_tx);
        let shared = Arc::new(Shared {
            pieces,
            piece_size: content.manifest.piece_size,
            total: content.manifest.total_size,
            content: content.clone(),
            events: self.events_tx.clone(),
            writes: writes_tx,
            max_inflight: self.s.cfg.max_inflight_blocks,
            request_timeout: Duration::from_secs(self.s.cfg.request_timeout_secs),
            files: self.s.files.clone(),
        });
        self.per_conn =
            pieces_per_conn(self.s.cfg.max_inflight_blocks, content.manifest.piece_size);
        let mut picker = Picker::new(have.clone());
        if let Some(o) = first {
            let id = self.reserve_conn(o.provider);
            self.start_conn(id, o, &shared);
        }
        self.s.status.send_modify(|s| {
            s.state = DownloadState::Downloading;
            s.error = None;
            s.retry_at = None;
        });
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut ticks: u64 = 0;
        let mut last_bytes = 0u64;
        loop {
            tokio::select! {
                () = self.s.cancel.cancelled() => {
                    drop(shared);
                    self.conns.clear();
                    let _ = writer.await;
                    // What the writer finished before it stopped is durable.
                    while let Ok(Durable::Pieces(done, _)) = durable.try_recv() {
                        self.durable(&done, &mut have, &have_tx, &content).await;
                    }
                    return Err(FilesError::Cancelled);
                }
                Some(ev) = self.events.recv() => self.on_event(ev, &mut picker, &shared),
                Some(d) = durable.recv() => match d {
                    Durable::Pieces(done, _written) => {
                        self.durable(&done, &mut have, &have_tx, &content).await;
                        if have.complete() {
                            drop(shared);
                            self.conns.clear();
                            let _ = writer.await;
                            return Ok(());
                        }
                    }
                    Durable::Failed(e) => {
                        self.conns.clear();
                        return Err(e);
                    }
                },
                Some(records) = async { match who_has.as_mut() { Some(r) => r.recv().await, None => None } } => {
                    self.add_providers(records);
                }
                _ = tick.tick() => {
                    ticks += 1;
                    self.anon.refresh();
                    self.dial_more(&shared);
                    if ask_again(ticks) {
                        *who_has = self.s.files.tracker().who_has(self.swarm, self.private()).await.ok();
                    }
                    let bytes = self.s.files.counters().transfers.bytes_downloaded.load(std::sync::atomic::Ordering::Relaxed);
                    let rate = bytes.saturating_sub(last_bytes);
                    last_bytes = bytes;
                    let ready = self.conns.values().filter(|c| c.has.is_some()).count();
                    let providers = self.providers.values().filter(|p| !p.banned && !p.gone).count();
                    let waiting = (ready == 0).then(|| self.why_waiting());
                    self.s.status.send_modify(|s| {
                        s.rate = rate;
                        s.connections = ready;
                        s.providers = providers;
                        match waiting {
                            Some((why, retry_at)) => {
                                s.state = DownloadState::Waiting;
                                s.error = Some(why);
                                s.retry_at = retry_at;
                            }
                            None => {
                                s.state = DownloadState::Downloading;
                                s.error = None;
                                s.retry_at = None;
                            }
                        }
                    });
                }
            }
        }
    }

    async fn durable(
        &mut self,
        done: &[u32],
        have: &mut Bitmap,
        have_tx: &watch::Sender<Arc<Bitmap>>,
        content: &Content,
    ) {
        for p in done {
            have.set(*p);
        }
        let _ = have_tx.send(Arc::new(have.clone()));
        let _ = self
            .s
            .registry
            .send(RegistryEvent::Progress {
                swarm: self.swarm,
                have: have.clone(),
            })
            .await;
        self.s.status.send_modify(|s| s.set_progress(content, have));
    }

    fn on_event(&mut self, ev: ConnEvent, picker: &mut Picker, shared: &Arc<Shared>) {
        match ev {
            ConnEvent::Opened { conn, opened } => {
                if self.conns.contains_key(&conn) {
                    self.start_conn(conn, *opened, shared);
                }
            }
            ConnEvent::Ready { conn, has } => {
                picker.add_provider(&has);
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.has = Some(has);
                }
                self.assign(conn, picker);
            }
            ConnEvent::Have { conn, piece } => {
                picker.provider_gained(piece);
                if let Some(c) = self.conns.get_mut(&conn) {
                    if let Some(h) = c.has.as_mut() {
                        h.set(piece);
                    }
                }
                self.assign(conn, picker);
            }
            ConnEvent::Verified { conn, piece } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.assigned.remove(&piece);
                }
                if picker.finish(piece) {
                    Metrics::inc(&self.s.files.counters().transfers.pieces_verified);
                    // Others fetching the same piece (endgame) can stop.
                    for c in self.conns.values_mut() {
                        if c.assigned.remove(&piece) {
                            if let Some(to) = &c.to {
                                let _ = to.try_send(ToConn::Cancel(piece));
                            }
                        }
                    }
                }
                self.assign_all(picker);
            }
            ConnEvent::Bad { conn, piece } => {
                Metrics::inc(&self.s.files.counters().transfers.pieces_bad);
                if let Some(c) = self.conns.get(&conn) {
                    let provider = c.provider;
                    tracing::warn!(peer = %provider.short(), piece, "provider sent a piece that does not match its hash; dropping it");
                    self.provider_failed(&provider, &FilesError::Proto(BAD_PIECE));
                    // Close every connection to that provider.
                    for c in self.conns.values_mut().filter(|c| c.provider == provider) {
                        c.to = None;
                    }
                }
            }
            ConnEvent::Released { conn, piece } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    if c.assigned.remove(&piece) {
                        picker.release(piece);
                    }
                }
                self.assign_all(picker);
            }
            ConnEvent::Closed { conn, why } => {
                if let Some(c) = self.conns.remove(&conn) {
                    for p in c.assigned {
                        picker.release(p);
                    }
                    if let Some(h) = &c.has {
                        picker.remove_provider(h);
                    }
                    if let Some(p) = self.providers.get_mut(&c.provider) {
                        p.conns = p.conns.saturating_sub(1);
                    }
                    tracing::debug!(peer = %c.provider.short(), %why, "transfer connection closed");
                    // A bad piece was counted when it came.
                    if !matches!(
                        why,
                        FilesError::Proto(warren_proto::Error::HashMismatch("piece"))
                    ) {
                        self.provider_failed(&c.provider, &why);
                    }
                }
                self.assign_all(picker);
            }
        }
    }

    fn assign(&mut self, conn: u64, picker: &mut Picker) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let (Some(has), Some(to)) = (&c.has, &c.to) else {
            return;
        };
        while c.assigned.len() < self.per_conn {
            let Some(p) = picker.pick(has) else { break };
            if c.assigned.contains(&p) || to.try_send(ToConn::Assign(p)).is_err() {
                picker.release(p);
                break;
            }
            c.assigned.insert(p);
        }
    }

    fn assign_all(&mut self, picker: &mut Picker) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            self.assign(id, picker);
        }
    }

    /// Counts a connection to `provider` from now (dialing included).
    fn reserve_conn(&mut self, provider: NodeId) -> u64 {
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            ConnState {
                provider,
                to: None,
                has: None,
                assigned: HashSet::new(),
            },
        );
        if let Some(p) = self.providers.get_mut(&provider) {
            p.conns += 1;
        }
        id
    }

    /// Starts the task of a reserved connection whose swarm is open.
    fn start_conn(&mut self, id: u64, o: Opened, shared: &Arc<Shared>) {
        let (to, cmds) = mpsc::channel(CONN_QUEUE);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.to = Some(to);
        if let Some(p) = self.providers.get_mut(&c.provider) {
            p.failures = 0;
        }
        let Opened { tx, rx, early, .. } = o;
        tokio::spawn(conn::run(id, tx, rx, early, cmds, shared.clone()));
    }

    /// Opens more connections while providers have room.
    fn dial_more(&mut self, _shared: &Arc<Shared>) {
        let max_total = self.s.cfg.max_connections_per_download;
        let now = Instant::now();
        let mut total = self.conns.len();
        let wanted: Vec<(NodeId, PeerAddr)> = self
            .providers
            .iter()
            .filter(|(_, p)| !p.banned && !p.gone && p.next_try <= now && p.conns < self.s.circuits)
            .map(|(id, p)| (*id, p.addr))
            .collect();
        for (id, addr) in wanted {
            while total < max_total
                && self
                    .providers
                    .get(&id)
                    .is_some_and(|p| p.conns < self.s.circuits)
            {
                let conn = self.reserve_conn(id);
                total += 1;
                let (expect, ctx, events) = (
                    self.expect.clone(),
                    self.anon.ctx.clone(),
                    self.events_tx.clone(),
                );
                tokio::spawn(async move {
                    let ev = match meta::open(&addr, &expect, &ctx).await {
                        Ok(o) => ConnEvent::Opened {
                            conn,
                            opened: Box::new(o),
                        },
                        Err(e) => ConnEvent::Closed { conn, why: e },
                    };
                    let _ = events.send(ev).await;
                });
            }
        }
    }
}

impl Provider {
    fn new(addr: PeerAddr) -> Provider {
        Provider {
            addr,
            conns: 0,
            failures: 0,
            next_try: Instant::now(),
            banned: false,
            gone: false,
            bad: 0,
            last_error: None,
        }
    }
}
