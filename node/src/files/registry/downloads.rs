//! Downloads: starting, resuming, pausing, and what they report.

use std::path::{Path, PathBuf};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use warren_proto::content::{SwarmId, Token};
use warren_proto::encode;
use warren_proto::link::Link;

use super::{Dl, Registry, RegistryEvent, Served};
use crate::files::FilesError;
use crate::files::bitmap::Bitmap;
use crate::files::download::{self, DownloadStatus, Place, Want};
use crate::files::persist::StoredMirror;
use crate::store::Table;

impl Registry {
    /// Resumes the downloads that were running when the node stopped.
    pub(super) fn resume_all(&mut self) {
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
            return Err(FilesError::Refused(
                "that is one of this node's own shares".into(),
            ));
        }
        if let Some(d) = self.downloads.get_mut(&swarm) {
            if d.mirror.is_some() {
                return Err(FilesError::Refused(
                    "this node keeps a mirror of that for others; `warren unmirror` it first"
                        .into(),
                ));
            }
            if d.cancel.is_some() || d.stored.state == "complete" {
                return Ok(d.status.clone());
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
            self.room_for_download()?;
            let want = Want::of(&link);
            let dl = Dl::new(link.to_string(), want, Place::Files(out), None);
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
            want: d.want.clone(),
            place: d.place.clone(),
            resume,
            max_bytes: d.mirror.map(|m| m.reserved),
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

    /// Refuses when `files.max_downloads` downloads (mirrors included)
    /// are running.
    pub(super) fn room_for_download(&self) -> Result<(), FilesError> {
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
            let _ = self.node.provide(swarm, None).await;
        }
        self.store.delete(Table::Downloads, swarm.0.to_vec()).await;
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
                source,
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
                self.served.insert(
                    swarm,
                    Served {
                        content,
                        ticket,
                        source,
                        have,
                        view,
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
                    if result.is_err() && !matches!(result, Err(FilesError::Cancelled)) {
                        self.drop_failed_mirror(swarm).await;
                    }
                }
                self.persist_download(swarm, true).await;
            }
        }
    }
}
