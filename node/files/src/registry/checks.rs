//! The health of shares and downloads: faults readers report, the periodic
//! look at every file, and checks against the piece table.
//!
//! ```text
//!  readers (uploads, gateway) ──Fault──► on_fault ──► changed / missing (logged once)
//!  every check_interval_secs ──► scan (blocking: stat every file) ──► Scanned
//!        a file gone or resized ──► missing / changed
//!        a stamp that differs ──► check (Verdict: pieces of those files only)
//!  gateway: stale stamp ──► Settle ──► check; answered with the verdict
//!  warren recheck / warren get of a changed download ──► check (Full)
//! ```
//!
//! Checks run one at a time (they read whole files); each owner has at
//! most one check queued or running per depth.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::{Semaphore, mpsc, oneshot};
use warren_proto::content::{SwarmId, Token};
use warren_proto::encode;

use super::{Cmd, Content, Found, RecheckReport, Registry};
use crate::FilesError;
use crate::Progress;
use crate::Refusal;
use crate::bitmap::Bitmap;
use crate::download::{DownloadState, lay};
use crate::health::{Fault, FaultSink, Health, Owner};
use crate::persist::StoredState;
use crate::recheck::{Rechecked, recheck};
use crate::source::{FileSet, Stamp, all_match};
use crate::store::Table;
use crate::verified::Verified;

pub(super) use crate::recheck::Depth;

/// Why a check runs, and who hears of its result.
pub(super) enum Why {
    /// A file's stamp changed: is its content still the same?
    Stale,
    /// The owner asked (`warren recheck`).
    Owner(oneshot::Sender<Result<RecheckReport, FilesError>>),
    /// Resuming a changed or missing download: what is still there?
    Resume,
}

/// A finished check.
pub(crate) struct Done {
    owner: Owner,
    depth: Depth,
    why: Why,
    result: Result<Rechecked, FilesError>,
}

/// Checks queued or running, and who waits for a verdict.
pub(super) struct Checks {
    running: HashSet<(Owner, bool)>,
    waiters: HashMap<Owner, Vec<Waiter>>,
    /// Where the owner's `warren recheck` wants progress.
    progress: HashMap<Owner, mpsc::Sender<Progress>>,
    /// One check reads at a time.
    gate: Arc<Semaphore>,
    scanning: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            running: HashSet::new(),
            waiters: HashMap::new(),
            progress: HashMap::new(),
            gate: Arc::new(Semaphore::new(1)),
            scanning: false,
        }
    }
}

/// A caller waiting for a verdict: what it looked up, and where to answer.
type Waiter = (SwarmId, Option<SwarmId>, oneshot::Sender<Option<Found>>);

/// Most callers waiting for one owner's verdict; more are answered at once.
const MAX_WAITERS: usize = 64;

impl Registry {
    /// A piece reader for `owner`'s `files`.
    pub(super) fn verified(
        &self,
        owner: Owner,
        content: Arc<Content>,
        files: Arc<FileSet>,
    ) -> Verified {
        let faults = FaultSink {
            owner,
            tx: self.faults_tx.clone(),
        };
        Verified::new(content, files, self.budget.clone(), faults)
    }

    /// Health and reason of a share or download.
    pub(super) fn health_of(&self, owner: Owner) -> (Health, Option<String>) {
        match owner {
            Owner::Share(t) => match self.shares.get(&t) {
                Some(s) => (s.health, s.reason.clone()),
                None => (Health::Missing, Some("no longer shared".into())),
            },
            Owner::Download(sw) => match self.downloads.get(&sw) {
                Some(d) => {
                    let h = match d.state() {
                        StoredState::Changed => Health::Changed,
                        StoredState::Missing => Health::Missing,
                        _ if d.status.borrow().state == DownloadState::Checking => Health::Checking,
                        _ => Health::Ok,
                    };
                    (h, d.stored.error.clone())
                }
                None => (Health::Missing, Some("no longer downloaded".into())),
            },
        }
    }

    /// The owner's name, for logs and reports.
    fn name_of(&self, owner: Owner) -> String {
        match owner {
            Owner::Share(t) => self
                .shares
                .get(&t)
                .map(|s| s.stored.name.clone())
                .unwrap_or_default(),
            Owner::Download(sw) => self
                .downloads
                .get(&sw)
                .and_then(|d| d.stored.name.clone())
                .unwrap_or_default(),
        }
    }

    /// The swarms an owner is announced under.
    fn swarms_of(&self, owner: Owner) -> Vec<(SwarmId, bool)> {
        match owner {
            Owner::Share(t) => match self.shares.get(&t) {
                Some(_) if self.addressed.contains_key(&t) => Vec::new(),
                Some(s) if s.stored.public => vec![
                    (Token(t).swarm(), true),
                    (SwarmId::from(s.content.id), false),
                ],
                Some(_) => vec![(Token(t).swarm(), true)],
                None => Vec::new(),
            },
            Owner::Download(sw) => match self.downloads.get(&sw) {
                Some(d) if d.stored.content.is_some() => vec![(sw, d.stored.ticket.is_some())],
                _ => Vec::new(),
            },
        }
    }

    /// Sets a share's or finished download's health; logs and announces
    /// (or withdraws) only when it changes.
    pub(super) async fn set_health(&mut self, owner: Owner, health: Health, fault: Option<&Fault>) {
        let (before, said) = self.health_of(owner);
        let reason = match owner {
            Owner::Share(_) => fault.map(share_reason),
            Owner::Download(sw) => fault.map(|f| self.download_reason(sw, f)),
        };
        // Nothing new: nothing to write, log or announce.
        if before == health && (fault.is_none() || said == reason) {
            return;
        }
        let name = self.name_of(owner);
        match owner {
            Owner::Share(t) => {
                let Some(s) = self.shares.get_mut(&t) else {
                    return;
                };
                s.health = health;
                s.reason = reason;
            }
            Owner::Download(sw) => {
                let Some(d) = self.downloads.get_mut(&sw) else {
                    return;
                };
                let state = match health {
                    Health::Changed => Some((StoredState::Changed, DownloadState::Changed)),
                    Health::Missing => Some((StoredState::Missing, DownloadState::Missing)),
                    Health::Ok if d.state() != StoredState::Active => {
                        Some((StoredState::Complete, DownloadState::Complete))
                    }
                    Health::Ok => None,
                    Health::Checking => {
                        if d.cancel.is_none() {
                            d.status_tx
                                .send_modify(|s| s.state = DownloadState::Checking);
                        }
                        None
                    }
                };
                if let Some((stored, shown)) = state {
                    if let Some(c) = d.cancel.take() {
                        // Its task stops; what it wrote stays recorded.
                        c.cancel();
                    }
                    d.set_state(stored);
                    d.stored.error = reason.clone();
                    d.status_tx.send_modify(|s| {
                        s.state = shown;
                        s.error = reason;
                        s.connections = 0;
                        s.rate = 0;
                        s.retry_at = None;
                    });
                    self.persist_download(sw, true).await;
                }
            }
        }
        let bad = |h: Health| matches!(h, Health::Changed | Health::Missing);
        if bad(health) && !bad(before) {
            let why = fault.map(|f| f.to_string()).unwrap_or_default();
            tracing::warn!(%name, error = %why, "files no longer hold what was shared or downloaded; not serving them");
            for (swarm, _) in self.swarms_of(owner) {
                let _ = self.me.tracker().provide(swarm, None).await;
            }
        } else if !bad(health) && bad(before) {
            tracing::info!(%name, "files hold their content again; serving them");
            for (swarm, private) in self.swarms_of(owner) {
                let _ = self.me.tracker().provide(swarm, Some(private)).await;
            }
        }
    }

    /// A reader found something wrong.
    pub(super) async fn on_fault(&mut self, owner: Owner, fault: Fault) {
        match fault.health() {
            Health::Checking => self.check(owner, Depth::Verdict, Why::Stale),
            h => self.set_health(owner, h, Some(&fault)).await,
        }
    }

    /// Checks `owner`'s files (in the background; the result comes back
    /// as [`Cmd::Checked`]).
    pub(super) fn check(&mut self, owner: Owner, depth: Depth, why: Why) {
        let full = depth == Depth::Full;
        if matches!(why, Why::Stale) && self.checks.running.contains(&(owner, full)) {
            return;
        }
        let job = match self.check_input(owner) {
            Ok(mut j) => {
                j.progress = self.checks.progress.get(&owner).cloned();
                j
            }
            Err(e) => {
                if let Why::Owner(reply) = why {
                    let _ = reply.send(Err(e));
                }
                return;
            }
        };
        self.checks.running.insert((owner, full));
        match owner {
            Owner::Download(sw) => {
                if let Some(d) = self.downloads.get(&sw) {
                    d.status_tx
                        .send_modify(|s| s.state = DownloadState::Checking);
                }
            }
            Owner::Share(t) => {
                if let Some(s) = self.shares.get_mut(&t).filter(|s| s.health == Health::Ok) {
                    s.health = Health::Checking;
                }
            }
        }
        let (gate, me) = (self.checks.gate.clone(), self.me.tx.clone());
        let progress = job.progress;
        let (files, content, recorded) = (job.files, job.content, job.recorded);
        tokio::spawn(async move {
            let _turn = gate.acquire_owned().await;
            let result = tokio::task::spawn_blocking(move || {
                let only = match (depth, &recorded) {
                    (Depth::Verdict, Some(r)) => Some(stale_pieces(&files, &content, r)),
                    _ => None,
                };
                let mut report = |done: u64, total: u64| {
                    if let Some(p) = &progress {
                        let _ = p.try_send((done, total));
                    }
                };
                recheck(
                    &files,
                    &content,
                    only.as_ref(),
                    depth,
                    &mut report,
                    &AtomicBool::new(false),
                )
            })
            .await
            .unwrap_or_else(|e| Err(e.into()));
            let done = Done {
                owner,
                depth,
                why,
                result,
            };
            let _ = me.send(Cmd::Checked(Box::new(done))).await;
        });
    }

    /// What a check of `owner` reads: its files as they are on disk now.
    fn check_input(&self, owner: Owner) -> Result<CheckInput, FilesError> {
        match owner {
            Owner::Share(t) => {
                let s = self
                    .shares
                    .get(&t)
                    .ok_or_else(|| FilesError::NotFound("no such share".into()))?;
                // Intact so far: only files whose stamps changed need
                // reading. Found wrong before: all of it (a file edited with
                // its times put back has the stamp it had).
                let intact = matches!(s.health, Health::Ok | Health::Checking);
                Ok(CheckInput {
                    files: s.pieces.files().clone(),
                    content: s.content.clone(),
                    recorded: intact.then(|| s.stamps.clone()),
                    progress: None,
                })
            }
            Owner::Download(sw) => {
                let d = self
                    .downloads
                    .get(&sw)
                    .ok_or_else(|| FilesError::NotFound("no such download".into()))?;
                if d.cancel.is_some() {
                    return Err(FilesError::Refused(Refusal::Downloading));
                }
                let content = d
                    .stored
                    .content
                    .and_then(|c| self.load_content(&c).ok().flatten())
                    .ok_or_else(|| FilesError::Refused(Refusal::NothingYet))?;
                let laid = lay(&d.place, &content, d.want.key.as_ref())?;
                let intact = d.state() == StoredState::Complete;
                Ok(CheckInput {
                    files: Arc::new(laid.files_on_disk(d.stamps.clone())),
                    content,
                    recorded: d.stamps.clone().filter(|_| intact),
                    progress: None,
                })
            }
        }
    }

    /// The gateway found a file whose stamp changed: check, then answer.
    pub(super) fn settle(
        &mut self,
        swarm: SwarmId,
        scope: Option<SwarmId>,
        reply: oneshot::Sender<Option<Found>>,
    ) {
        let Some(owner) = self.served.get(&swarm).map(|s| s.owner) else {
            let _ = reply.send(None);
            return;
        };
        let waiting = self.checks.waiters.entry(owner).or_default();
        if waiting.len() >= MAX_WAITERS {
            let _ = reply.send(self.lookup(swarm, scope));
            return;
        }
        waiting.push((swarm, scope, reply));
        self.check(owner, Depth::Verdict, Why::Stale);
    }

    /// `warren recheck ID`.
    pub(super) fn recheck_for_owner(
        &mut self,
        id: &str,
        progress: mpsc::Sender<Progress>,
        reply: oneshot::Sender<Result<RecheckReport, FilesError>>,
    ) {
        let owner = match self.find_owner(id) {
            Some(o) => o,
            None => {
                let _ = reply.send(Err(FilesError::NotFound(format!(
                    "no share or download {id:?}"
                ))));
                return;
            }
        };
        self.checks.progress.insert(owner, progress);
        self.check(owner, Depth::Full, Why::Owner(reply));
    }

    /// A share (token, link, content id) or a download (either of its
    /// links, its token, its swarm or its content id).
    fn find_owner(&self, id: &str) -> Option<Owner> {
        if let Some(t) = self.find_share(id) {
            return Some(Owner::Share(t));
        }
        let id = id.trim();
        let link = id.parse::<warren_proto::link::Link>().ok();
        let named: Vec<[u8; 32]> = [
            link.as_ref().map(|l| l.swarm().0),
            link.as_ref().and_then(|l| match l.target {
                warren_proto::link::Target::Public(c) => Some(c.0),
                warren_proto::link::Target::Private { .. } => None,
            }),
            Token::from_base32(id).ok().map(|t| t.swarm().0),
            SwarmId::from_base32(id).ok().map(|s| s.0),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.downloads
            .iter()
            .find(|(s, d)| {
                named
                    .iter()
                    .any(|n| *n == s.0 || Some(*n) == d.stored.content)
            })
            .map(|(s, _)| Owner::Download(*s))
    }

    /// A check finished: record its verdict, answer who waited.
    pub(super) async fn on_checked(&mut self, done: Done) {
        let Done {
            owner,
            depth,
            why,
            result,
        } = done;
        self.checks.running.remove(&(owner, depth == Depth::Full));
        self.checks.progress.remove(&owner);
        let report = match result {
            Ok(r) => match owner {
                Owner::Share(t) => self.share_checked(t, r).await,
                Owner::Download(sw) => self.download_checked(sw, depth, &why, r).await,
            },
            Err(e) => {
                tracing::warn!(name = %self.name_of(owner), error = %e, "checking files failed");
                if let Owner::Download(sw) = owner {
                    self.restore_shown_state(sw);
                }
                Err(e)
            }
        };
        if let Why::Owner(reply) = why {
            let _ = reply.send(report);
        }
        for (swarm, scope, reply) in self.checks.waiters.remove(&owner).unwrap_or_default() {
            let _ = reply.send(self.lookup(swarm, scope));
        }
    }

    async fn share_checked(
        &mut self,
        token: [u8; 16],
        r: Rechecked,
    ) -> Result<RecheckReport, FilesError> {
        let Some(s) = self.shares.get_mut(&token) else {
            return Err(FilesError::NotFound("no longer shared".into()));
        };
        let intact = r.fault.is_none() && r.good.count() == r.checked;
        match (&r.fault, intact, r.stamps) {
            (None, true, Some(stamps)) => {
                s.seen_bad = None;
                if s.stamps != stamps {
                    // The files are as shared: remember how they look now.
                    for (f, st) in s.stored.sources.iter_mut().zip(&stamps) {
                        f.size = st.size;
                        f.mtime_ns = st.mtime_ns;
                    }
                    let files = Arc::new(s.pieces.files().restamped(stamps.clone()));
                    s.pieces = Arc::new(s.pieces.with_files(files));
                    s.stamps = stamps;
                    let (stored, encoded) = (s.stored.clone(), encode(&s.stamps));
                    self.store
                        .put(Table::Shares, token.to_vec(), encode(&stored))
                        .await;
                    self.store.put(Table::Stamps, token.to_vec(), encoded).await;
                    self.serve_share(token);
                }
                self.set_health(Owner::Share(token), Health::Ok, None).await;
            }
            (fault, _, stamps) => {
                s.seen_bad = stamps;
                let fault = fault.clone().unwrap_or(Fault::Missing(
                    s.stored
                        .sources
                        .first()
                        .map(|f| f.path.clone())
                        .unwrap_or_default(),
                ));
                self.set_health(Owner::Share(token), fault.health(), Some(&fault))
                    .await;
            }
        }
        let (state, reason) = self.health_of(Owner::Share(token));
        Ok(RecheckReport {
            name: self.name_of(Owner::Share(token)),
            pieces: r.checked,
            good: r.good.count(),
            state,
            reason,
            download: None,
        })
    }

    async fn download_checked(
        &mut self,
        swarm: SwarmId,
        depth: Depth,
        why: &Why,
        r: Rechecked,
    ) -> Result<RecheckReport, FilesError> {
        let owner = Owner::Download(swarm);
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return Err(FilesError::NotFound("no longer downloaded".into()));
        };
        let total = r.good.len();
        if depth == Depth::Verdict {
            // A finished download whose stamps changed: intact or not.
            match (&r.fault, r.stamps) {
                (None, Some(stamps)) => {
                    d.seen_bad = None;
                    self.record_stamps(swarm, Some(stamps)).await;
                    self.serve_finished(swarm);
                    self.set_health(owner, Health::Ok, None).await;
                }
                (fault, stamps) => {
                    d.seen_bad = stamps;
                    let fault = fault
                        .clone()
                        .unwrap_or(Fault::Missing(d.stored.out.clone().into()));
                    self.set_health(owner, fault.health(), Some(&fault)).await;
                }
            }
        } else {
            // What is on disk is what the download has.
            d.stored.have = r.good.to_bytes();
            d.seen_bad = None;
            let paused = d.state() == StoredState::Paused;
            if r.good.complete() {
                if let Some(c) = d
                    .stored
                    .content
                    .and_then(|c| self.load_content(&c).ok().flatten())
                {
                    let d = self.downloads.get_mut(&swarm).expect("checked above");
                    d.status_tx.send_modify(|s| s.set_progress(&c, &r.good));
                }
                let stamps = r.stamps.clone();
                self.record_stamps(swarm, stamps).await;
                self.serve_finished(swarm);
                self.set_health(owner, Health::Ok, None).await;
            } else if paused && !matches!(why, Why::Resume) {
                self.restore_shown_state(swarm);
            } else {
                // Fetch what is missing (files that lost pieces carry their
                // temporary names again until they are whole).
                self.served.remove(&swarm);
                if let Err(e) = self.start_download(swarm) {
                    let d = self.downloads.get_mut(&swarm).expect("checked above");
                    d.set_state(StoredState::Failed);
                    d.stored.error = Some(e.to_string());
                    d.status_tx.send_modify(|s| {
                        s.state = DownloadState::Failed;
                        s.error = Some(e.to_string());
                    });
                }
            }
            self.persist_download(swarm, true).await;
        }
        // What the check found (the download may be fetching it again).
        let (state, reason) = match &r.fault {
            Some(f) => (f.health(), Some(self.download_reason(swarm, f))),
            None => (Health::Ok, None),
        };
        Ok(RecheckReport {
            name: self.name_of(owner),
            pieces: r.checked.min(total),
            good: r.good.count(),
            state,
            reason,
            download: self
                .downloads
                .get(&swarm)
                .map(|d| d.status.borrow().clone()),
        })
    }

    /// After a check, a download that is not running shows its stored state.
    fn restore_shown_state(&mut self, swarm: SwarmId) {
        let Some(d) = self.downloads.get(&swarm) else {
            return;
        };
        if d.cancel.is_some() {
            return;
        }
        let shown = d.state().shown();
        let content = d
            .stored
            .content
            .and_then(|c| self.load_content(&c).ok().flatten());
        let have = Bitmap::from_bytes(&d.stored.have);
        d.status_tx.send_modify(|s| {
            s.state = shown;
            if let (Some(c), Some(h)) = (&content, &have) {
                if u64::from(h.len()) == c.manifest.piece_count() {
                    s.set_progress(c, h);
                }
            }
        });
    }

    /// Looks at every shared and finished file (in the background).
    pub(super) fn start_scan(&mut self) {
        if self.checks.scanning {
            return;
        }
        let mut items: Vec<(Owner, Arc<FileSet>)> = self
            .shares
            .iter()
            .map(|(t, s)| (Owner::Share(*t), s.pieces.files().clone()))
            .collect();
        for (sw, d) in &self.downloads {
            let finished = matches!(
                d.state(),
                StoredState::Complete | StoredState::Changed | StoredState::Missing
            );
            if !finished || d.cancel.is_some() {
                continue;
            }
            if let Some(s) = self.served.get(sw) {
                items.push((Owner::Download(*sw), s.pieces.files().clone()));
            }
        }
        if items.is_empty() {
            return;
        }
        self.checks.scanning = true;
        let me = self.me.tx.clone();
        tokio::spawn(async move {
            let results = tokio::task::spawn_blocking(move || {
                items
                    .into_iter()
                    .map(|(o, f)| (o, f.stamps_now()))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            let _ = me.send(Cmd::Scanned(results)).await;
        });
    }

    /// What the scan saw.
    pub(super) async fn on_scanned(
        &mut self,
        results: Vec<(Owner, Result<Vec<Stamp>, FilesError>)>,
    ) {
        self.checks.scanning = false;
        for (owner, seen) in results {
            let (health, _) = self.health_of(owner);
            let (recorded, seen_bad) = match owner {
                Owner::Share(t) => match self.shares.get(&t) {
                    Some(s) => (Some(s.stamps.clone()), s.seen_bad.clone()),
                    None => continue,
                },
                Owner::Download(sw) => match self.downloads.get(&sw) {
                    Some(d) if d.cancel.is_none() => (d.stamps.clone(), d.seen_bad.clone()),
                    _ => continue,
                },
            };
            match seen {
                Err(FilesError::Fault(f)) => {
                    if health != f.health() {
                        self.set_health(owner, f.health(), Some(&f)).await;
                    }
                }
                Err(e) => tracing::debug!(error = %e, "scanning files"),
                Ok(now) => {
                    let intact = matches!(health, Health::Ok | Health::Checking);
                    let look = if intact {
                        !recorded.is_some_and(|r| all_match(&r, &now))
                    } else {
                        // Not again until the files change (or come back).
                        seen_bad.as_ref() != Some(&now)
                    };
                    if look {
                        self.check(owner, Depth::Verdict, Why::Stale);
                    }
                }
            }
        }
    }
}

/// What a fault means for a share, and what its owner can do.
fn share_reason(f: &Fault) -> String {
    format!(
        "{f}; it is not served. Put the file back as it was (it is served again once checked; `warren recheck` checks at once), or share it again for a new link and unshare this one"
    )
}

/// What a check reads.
struct CheckInput {
    files: Arc<FileSet>,
    content: Arc<Content>,
    recorded: Option<Vec<Stamp>>,
    progress: Option<mpsc::Sender<Progress>>,
}

/// The pieces of the files whose stamps differ from `recorded` (a file
/// that cannot be looked up counts as differing).
fn stale_pieces(files: &FileSet, content: &Content, recorded: &[Stamp]) -> Bitmap {
    let n = content.manifest.piece_count() as u32;
    let mut out = Bitmap::new(n);
    for (i, span) in files.spans().iter().enumerate() {
        let now = files.lookup(i).ok().map(|(_, m)| Stamp::of(&m));
        let same = matches!((recorded.get(i), &now), (Some(r), Some(n)) if r.matches(n));
        if !same {
            for p in crate::layout::pieces_of(span, content.manifest.piece_size) {
                out.set(p);
            }
        }
    }
    out
}
