//! Mirrors: content this node keeps for others, within the seeding quota.
//!
//! A trusted node may ask (`Mirror` on the tracker channel), or the owner
//! may (`warren mirror LINK`). A mirror is a download into one file under
//! `DATA_DIR/mirror/`, kept exactly as the content travels: a sealed
//! share stays encrypted, because a mirror never has the link's key. It is
//! then served and announced like any share.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use warren_proto::content::{ContentId, SwarmId, Token};
use warren_proto::link::Link;
use warren_proto::{NodeId, PeerAddr};

use super::{Dl, MirrorMeta, Registry};
use crate::FilesError;
use crate::Refusal;
use crate::download::{DownloadStatus, Place, Signer, Want};
use crate::store::Table;

/// A mirror, as `warren mirrors --json` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MirrorInfo {
    /// The swarm (what `warren unmirror` takes, as does the content id).
    pub swarm: String,
    /// The content id, once known.
    pub content: Option<String>,
    /// The link it was asked for by (without any key), if any.
    pub link: Option<String>,
    /// The trusted node that asked, if one did.
    pub asked_by: Option<String>,
    /// Bytes it counts against the seeding quota.
    pub quota_bytes: u64,
    /// Where its content is kept.
    pub file: String,
    /// Its download state.
    #[serde(flatten)]
    pub status: DownloadStatus,
}

/// Every mirror and the seeding quota.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MirrorList {
    /// `files.seeding_quota_bytes`.
    pub quota_bytes: u64,
    /// Bytes the mirrors count against it.
    pub used_bytes: u64,
    /// The mirrors, newest first.
    pub mirrors: Vec<MirrorInfo>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Registry {
    fn quota_used(&self) -> u64 {
        self.downloads
            .values()
            .filter_map(|d| d.mirror.map(|m| m.reserved))
            .sum()
    }

    /// A trusted node's request; refusals are logged (nobody waits).
    pub(super) async fn mirror_request(&mut self, from: PeerAddr, swarm: SwarmId, size: u64) {
        let want = Want {
            swarm,
            at: from,
            signer: Signer::Any,
            key: None,
        };
        match self
            .start_mirror(want, Some(size), Some(from.id), None)
            .await
        {
            Ok(_) => tracing::info!(from = %from.id.short(), size, "mirroring for a trusted node"),
            Err(e) => {
                tracing::warn!(from = %from.id.short(), size, error = %e, "mirror request refused")
            }
        }
    }

    /// The owner asks for a link's content to be kept for others. The
    /// link's key, if any, is not used: a mirror keeps what travels.
    pub(super) async fn mirror_link(&mut self, link: Link) -> Result<MirrorInfo, FilesError> {
        let mut want = Want::of(&link);
        want.key = None;
        let mut keyless = link.clone();
        if let warren_proto::link::Target::Private { key, .. } = &mut keyless.target {
            *key = None;
        }
        self.start_mirror(want, None, None, Some(keyless.to_string()))
            .await
    }

    async fn start_mirror(
        &mut self,
        want: Want,
        size: Option<u64>,
        asked_by: Option<NodeId>,
        link: Option<String>,
    ) -> Result<MirrorInfo, FilesError> {
        let swarm = want.swarm;
        let Some(dir) = self.mirror_dir.clone() else {
            return Err(FilesError::Refused(Refusal::NoMirrorFolder));
        };
        if self.cfg.seeding_quota_bytes == 0 {
            return Err(FilesError::Refused(Refusal::NoSeedingQuota));
        }
        if self.served.contains_key(&swarm) && !self.downloads.contains_key(&swarm) {
            return Err(FilesError::Refused(Refusal::OwnShare));
        }
        if let Some(d) = self.downloads.get(&swarm) {
            return match d.mirror {
                Some(_) => Ok(self.mirror_info(&swarm, d)),
                None => Err(FilesError::Refused(Refusal::AlreadyDownloading)),
            };
        }
        let left = self
            .cfg
            .seeding_quota_bytes
            .saturating_sub(self.quota_used());
        // Until the content is known, a request without a size holds
        // everything that is left.
        let reserved = size.unwrap_or(left);
        if reserved > left || left == 0 {
            return Err(FilesError::Quota {
                need: reserved.max(1),
                left,
            });
        }
        self.room_for_download()?;
        let file = dir.join(hex(&swarm.0));
        let meta = MirrorMeta { reserved, asked_by };
        let dl = Dl::new(
            link.unwrap_or_default(),
            want,
            Place::Blob(file),
            Some(meta),
            self.now(),
        );
        self.downloads.insert(swarm, dl);
        self.persist_download(swarm, true).await;
        self.start_download(swarm)?;
        Ok(self.mirror_info(&swarm, &self.downloads[&swarm]))
    }

    fn mirror_info(&self, swarm: &SwarmId, d: &Dl) -> MirrorInfo {
        MirrorInfo {
            swarm: swarm.to_base32(),
            content: d.stored.content.map(|c| ContentId(c).to_base32()),
            link: Some(d.stored.link.clone()).filter(|l| !l.is_empty()),
            asked_by: d.mirror.and_then(|m| m.asked_by).map(|n| n.to_string()),
            quota_bytes: d.mirror.map(|m| m.reserved).unwrap_or(0),
            file: d.stored.out.clone(),
            status: d.status.borrow().clone(),
        }
    }

    pub(super) fn mirror_list(&self) -> MirrorList {
        let mut v: Vec<(u64, MirrorInfo)> = self
            .downloads
            .iter()
            .filter(|(_, d)| d.mirror.is_some())
            .map(|(s, d)| (d.stored.added_at, self.mirror_info(s, d)))
            .collect();
        v.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        MirrorList {
            quota_bytes: self.cfg.seeding_quota_bytes,
            used_bytes: self.quota_used(),
            mirrors: v.into_iter().map(|(_, m)| m).collect(),
        }
    }

    /// The mirror named by a swarm, a content id or a link.
    fn find_mirror(&self, id: &str) -> Option<SwarmId> {
        let id = id.trim();
        let wanted: Vec<[u8; 32]> = [
            id.parse::<Link>().ok().map(|l| l.swarm().0),
            SwarmId::from_base32(id).ok().map(|s| s.0),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.downloads
            .iter()
            .filter(|(_, d)| d.mirror.is_some())
            .find(|(s, d)| {
                wanted
                    .iter()
                    .any(|w| *w == s.0 || Some(*w) == d.stored.content)
            })
            .map(|(s, _)| *s)
    }

    /// Stops keeping a mirror: it is withdrawn and its file deleted.
    pub(super) async fn unmirror(&mut self, id: &str) -> Result<(), FilesError> {
        let swarm = self
            .find_mirror(id)
            .ok_or_else(|| FilesError::NotFound(format!("no mirror {id:?}")))?;
        let Some(d) = self.downloads.remove(&swarm) else {
            return Ok(());
        };
        if let Some(c) = &d.cancel {
            c.cancel();
        }
        self.served.remove(&swarm);
        let _ = self.me.tracker().provide(swarm, None).await;
        remove_file(&PathBuf::from(&d.stored.out));
        self.store.delete(Table::Mirrors, swarm.0.to_vec()).await;
        self.store.flush().await.map_err(Self::store_err)
    }

    /// A mirror that failed gives its space and its quota back.
    pub(super) async fn drop_failed_mirror(&mut self, swarm: SwarmId) {
        let Some(d) = self.downloads.get_mut(&swarm) else {
            return;
        };
        let Some(m) = d.mirror.as_mut() else {
            return;
        };
        m.reserved = 0;
        remove_file(&PathBuf::from(&d.stored.out));
        self.served.remove(&swarm);
        let _ = self.me.tracker().provide(swarm, None).await;
    }

    /// Asks the trusted boxes that are connected to mirror one of our
    /// shares; the boxes asked.
    pub(super) async fn ask_mirror(&mut self, id: &str) -> Result<Vec<NodeId>, FilesError> {
        let token = self
            .find_share(id)
            .ok_or_else(|| FilesError::NotFound(format!("no share {id:?}")))?;
        let size = self.shares[&token].stored.size;
        self.me
            .tracker()
            .ask_mirror(Token(token).swarm(), size)
            .await
    }
}

fn remove_file(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a mirror's file");
        }
    }
}
