//! Downloads: starting, resuming, pausing, and what they report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use warren_proto::content::{SwarmId, Ticket, Token};
use warren_proto::encode;
use warren_proto::link::Link;

use super::checks::{Depth, Why};
use super::{Content, Dl, Registry, RegistryEvent, Served, View};
use crate::FilesError;
use crate::Refusal;
use crate::bitmap::Bitmap;
use crate::download::{self, DownloadState, DownloadStatus, Place, Want, lay};
use crate::health::{Fault, Owner};
use crate::persist::{StoredMirror, StoredState};
use crate::source::{FileSet, Stamp};
use crate::store::Table;

impl Registry {
    /// Resumes the downloads that were running when the node stopped, and
    /// serves the finished ones from their files (never recreating them:
    /// a finished file that is gone is reported missing by the first scan).
    pub(super) fn resume_all(&mut self) {
        let all: Vec<(SwarmId, StoredState)> = self
            .downloads
            .iter()
            .map(|(s, d)| (*s, d.state()))
            .collect();
        for (s, state) in all {
            match state {
                StoredState::Active => {
                    if let Err(e) = self.start_download(s) {
                        tracing::warn!(error = %e, "cannot resume a download");
                    }
                }
                StoredState::Complete | StoredState::Changed | StoredState::Missing => {
                    self.serve_finished(s)
                }
                StoredState::Paused | StoredState::Failed => {}
            }
        }
    }

    /// Serves a finished download from its files, under their own names,
    /// with the stamps recorded when they were last verified.
    pub(super) fn serve_finished(&mut self, swarm: SwarmId) {
        let Some(d) = self.downloads.get(&swarm) else {
            return;
        };
        let content = match d.stored.content.map(|c| self.load_content(&c)) {
            Some(Ok(Some(c))) => c,
            _ => {
                tracing::warn!("a finished download without its manifest is not served");
                return;
            }
        };
        let laid = match lay(&d.place, &content, d.want.key.as_ref()) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "a finished download cannot be served");
                return;
            }
        };
        let files = Arc::new(laid.finished(d.stamps.clone()));
        let ticket = d.stored.ticket.clone();
        let have = self.full_have(&content);
        self.serve_download(swarm, content, ticket, files, have, laid.view);
    }

    /// What a download's swarm serves: its files, read piece by verified
    /// piece, and the pieces it has.
    fn serve_download(
        &mut self,
        swarm: SwarmId,
        content: Arc<Content>,
        ticket: Option<Ticket>,
        files: Arc<FileSet>,
        have: watch::Receiver<Arc<Bitmap>>,
        view: Option<View>,
    ) {
        let owner = Owner::Download(swarm);
        let pieces = Arc::new(self.verified(owner, content.clone(), files));
        self.served.insert(
            swarm,
            Served {
                owner,
                content,
                ticket,
                pieces,
                have,
                view,
            },
        );
    }

    pub(super) fn get(
        &mut self,
        link: Link,
        out: PathBuf,
    ) -> Result<watch::Receiver<DownloadStatus>, FilesError> {
        let swarm = link.swarm();
        if self.shares.values().any(|s| {
            Token(s.stored.token).swarm() == swarm
                || (s.stored.public && SwarmId::from(s.content.id) == swarm)
        }) {
            return Err(FilesError::Refused(Refusal::OwnShare));
        }
        if let Some(d) = self.downloads.get_mut(&swarm) {
            if d.mirror.is_some() {
                return Err(FilesError::Refused(Refusal::MirroredForOthers));
            }
            if d.cancel.is_some() || d.state() == StoredState::Complete {
                return Ok(d.status.clone());
            }
            if matches!(d.state(), StoredState::Changed | StoredState::Missing) {
                // Find out what is still there, then fetch the rest.
                let status = d.status.clone();
                self.check(Owner::Download(swarm), Depth::Full, Why::Resume);
                return Ok(status);
            }
            // Resumed with a link that may name another node to ask (the
            // share moved, or the first one was wrong): ask that one.
            d.want = Want::of(&link);
            d.stored.link = link.to_string();
            // Nothing written yet: the new folder too. (Otherwise the
            // download resumes where its partial files are.)
            if d.stored.content.is_none() && out.is_absolute() && out.is_dir() {
                d.stored.out = out.to_string_lossy().into_owned();
                d.place = Place::Files(out);
            }
        } else {
            if !out.is_absolute() {
                return Err(FilesError::Refused(Refusal::NotAbsolute(out.clone())));
            }
            if !Path::new(&out).is_dir() {
                return Err(FilesError::Refused(Refusal::NotAFolder(out.clone())));
            }
            self.room_for_download()?;
            let want = Want::of(&link);
            let dl = Dl::new(link.to_string(), want, Place::Files(out), None, self.now());
            self.downloads.insert(swarm, dl);
        }
        self.start_download(swarm)?;
        Ok(self.downloads[&swarm].status.clone())
    }

    pub(super) fn start_download(&mut self, swarm: SwarmId) -> Result<(), FilesError> {
        let resume = match self.downloads.get(&swarm).and_then(|d| d.stored.content) {
            Some(c) => {
                let content = self
                    .load_content(&c)?
                    .ok_or_else(|| FilesError::NotFound("the download's manifest".into()))?;
                let have = self.downloads[&swarm].stored.have.clone();
                let have = Bitmap::from_bytes(&have)
                    .filter(|b| u64::from(b.len()) == content.manifest.piece_count())
                    .unwrap_or_else(|| Bitmap::new(content.manifest.piece_count() as u32));
                Some((content, have))
            }
            None => None,
        };
        // Separate Tor circuits to one provider add bandwidth; separate
        // TCP connections to one address do not.
        let circuits = match self.ctx.transport.onion() {
            Some(_) => self.cfg.circuits_per_provider,
            None => 1,
        };
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return Ok(());
        };
        d.status_tx.send_modify(|s| {
            s.state = DownloadState::Metadata;
            s.error = None;
            s.retry_at = None;
        });
        let status_tx = d.status_tx.clone();
        let cancel = CancellationToken::new();
        d.cancel = Some(cancel.clone());
        d.set_state(StoredState::Active);
        d.stored.error = None;
        tokio::spawn(download::run(download::Setup {
            want: d.want.clone(),
            place: d.place.clone(),
            resume,
            max_bytes: d.mirror.map(|m| m.reserved),
            ctx: self.ctx.clone(),
            files: self.me.clone(),
            cfg: self.cfg.clone(),
            circuits,
            registry: self.events_tx.clone(),
            status: status_tx,
            cancel,
        }));
        Ok(())
    }

    /// Refuses when `files.max_downloads` downloads (mirrors included)
    /// are running.
    pub(super) fn room_for_download(&self) -> Result<(), FilesError> {
        let active = self
            .downloads
            .values()
            .filter(|d| d.cancel.is_some())
            .count();
        if active >= self.cfg.max_downloads {
            return Err(FilesError::Refused(Refusal::TooManyDownloads(active)));
        }
        Ok(())
    }

    /// Stops a download and forgets it: no longer resumed, listed or
    /// seeded. Its files stay where they are. Mirrors go with `unmirror`.
    pub(super) async fn forget(&mut self, swarm: SwarmId) -> Result<(), FilesError> {
        match self.downloads.get(&swarm) {
            None => return Err(FilesError::NotFound("no download of that".into())),
            Some(d) if d.mirror.is_some() => {
                return Err(FilesError::NotFound(
                    "that is a mirror: stop it with unmirror".into(),
                ));
            }
            Some(_) => {}
        }
        if let Some(d) = self.downloads.remove(&swarm) {
            if let Some(c) = &d.cancel {
                c.cancel();
            }
        }
        if self.served.remove(&swarm).is_some() {
            let _ = self.me.tracker().provide(swarm, None).await;
        }
        self.store.delete(Table::Downloads, swarm.0.to_vec()).await;
        self.store.delete(Table::Stamps, swarm.0.to_vec()).await;
        self.store.flush().await.map_err(Self::store_err)
    }

    pub(super) async fn persist_download(&mut self, swarm: SwarmId, flush: bool) {
        if let Some(d) = self.downloads.get(&swarm) {
            let (table, value) = match &d.mirror {
                None => (Table::Downloads, encode(&d.stored)),
                Some(m) => (
                    Table::Mirrors,
                    encode(&StoredMirror {
                        at: d.want.at.to_string(),
                        signer: d.want.signer.clone(),
                        reserved: m.reserved,
                        asked_by: m.asked_by,
                        dl: d.stored.clone(),
                    }),
                ),
            };
            self.store.put(table, swarm.0.to_vec(), value).await;
            if flush {
                if let Err(e) = self.store.flush().await {
                    tracing::error!(error = %e, "cannot record download progress");
                }
            }
        }
    }

    pub(super) async fn on_event(&mut self, ev: RegistryEvent) {
        match ev {
            RegistryEvent::Meta {
                swarm,
                content,
                ticket,
                have,
                files,
                view,
                name,
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
                // A resumed download learned its ticket in an earlier run.
                let ticket = match self.downloads.get_mut(&swarm) {
                    Some(d) => {
                        let ticket = ticket.or_else(|| d.stored.ticket.clone());
                        d.stored.content = Some(content.id.0);
                        d.stored.ticket = ticket.clone();
                        d.stored.name = Some(name);
                        if let Some(m) = d.mirror.as_mut() {
                            m.reserved = content.manifest.total_size;
                        }
                        ticket
                    }
                    None => return,
                };
                // Private swarms are the ones with tickets.
                let private = ticket.is_some();
                self.persist_download(swarm, true).await;
                self.serve_download(swarm, content, ticket, files, have, view);
                let _ = self.me.tracker().provide(swarm, Some(private)).await;
            }
            RegistryEvent::Progress { swarm, have } => {
                if let Some(d) = self.downloads.get_mut(&swarm) {
                    d.stored.have = have.to_bytes();
                }
                self.persist_download(swarm, true).await;
            }
            RegistryEvent::Done { swarm, result } => self.download_done(swarm, result).await,
        }
    }

    async fn download_done(
        &mut self,
        swarm: SwarmId,
        result: Result<Option<Vec<Stamp>>, FilesError>,
    ) {
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return;
        };
        d.cancel = None;
        let mut drop_mirror = false;
        match result {
            Ok(stamps) => {
                d.set_state(StoredState::Complete);
                d.stored.error = None;
                if let Some(c) = d
                    .stored
                    .content
                    .and_then(|c| self.load_content(&c).ok().flatten())
                {
                    let d = self.downloads.get_mut(&swarm).expect("checked above");
                    d.stored.have = Bitmap::full(c.manifest.piece_count() as u32).to_bytes();
                }
                self.record_stamps(swarm, stamps).await;
                // Serve it from its finished files from now on.
                self.serve_finished(swarm);
            }
            // Stopped because its files changed: that state stays.
            Err(FilesError::Cancelled)
                if matches!(d.state(), StoredState::Changed | StoredState::Missing) => {}
            Err(FilesError::Cancelled) => d.set_state(StoredState::Paused),
            Err(e) => {
                let state = match download::stopped_state(&e) {
                    DownloadState::Paused => StoredState::Paused,
                    DownloadState::Missing => StoredState::Missing,
                    DownloadState::Changed => StoredState::Changed,
                    _ => StoredState::Failed,
                };
                drop_mirror = d.mirror.is_some();
                let text = match &e {
                    FilesError::Fault(f) => self.download_reason(swarm, f),
                    other => other.to_string(),
                };
                let d = self.downloads.get_mut(&swarm).expect("checked above");
                d.set_state(state);
                d.stored.error = Some(text.clone());
                d.status_tx.send_modify(|s| s.error = Some(text));
            }
        }
        if drop_mirror {
            self.drop_failed_mirror(swarm).await;
        }
        self.persist_download(swarm, true).await;
    }

    /// Records a finished download's stamps (none: forgets them).
    pub(super) async fn record_stamps(&mut self, swarm: SwarmId, stamps: Option<Vec<Stamp>>) {
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return;
        };
        d.stamps = stamps.clone();
        match stamps {
            Some(s) => {
                self.store
                    .put(Table::Stamps, swarm.0.to_vec(), encode(&s))
                    .await
            }
            None => self.store.delete(Table::Stamps, swarm.0.to_vec()).await,
        }
    }

    /// What a fault means for a download, and what its owner can do.
    pub(super) fn download_reason(&self, swarm: SwarmId, f: &Fault) -> String {
        let link = self
            .downloads
            .get(&swarm)
            .map(|d| d.stored.link.clone())
            .unwrap_or_default();
        let what = match f.health() {
            crate::health::Health::Missing => "fetches it again",
            _ => "fetches what changed again, replacing it",
        };
        format!("{f}; it is not seeded; `warren get {link}` {what}")
    }
}
