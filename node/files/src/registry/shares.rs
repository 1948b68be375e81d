//! Shares: hashing a path, storing its manifest, links, making it public,
//! withdrawing it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::{mpsc, oneshot};
use warren_proto::content::{ContentId, Meta, SwarmId, Ticket, Token};
use warren_proto::link::{Link, Target};
use warren_proto::seal::SealKey;
use warren_proto::{PeerAddr, encode};

use super::{Cmd, Content, Registry, Served, Share, ShareInfo, ShareOptions, View, addressed};
use crate::FilesError;
use crate::Progress;
use crate::Refusal;
use crate::hashing::{Describe, Hashed, hash_path};
use crate::health::{Health, Owner};
use crate::layout::Span;
use crate::persist::StoredShare;
use crate::source::{FileSet, Stamp};
use crate::store::Table;

/// The token or content id in a browser URL (`http://<onion>/s/<token>`,
/// `…/c/<content id>/0/name`); anything else as it is.
fn from_browser_url(id: &str) -> &str {
    let Some(rest) = id
        .strip_prefix("http://")
        .or_else(|| id.strip_prefix("https://"))
    else {
        return id;
    };
    let mut parts = rest.split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some("s" | "c"), Some(t)) if !t.is_empty() => t,
        _ => id,
    }
}

/// A share's original files, with the stamps they had when last verified.
pub(super) fn share_files(
    stored: &StoredShare,
    stamps: Vec<Stamp>,
    seal: Option<SealKey>,
) -> FileSet {
    let mut start = 0;
    let spans = stored
        .sources
        .iter()
        .map(|s| {
            let span = Span {
                path: s.path.clone(),
                start,
                size: s.size,
            };
            start += s.size;
            span
        })
        .collect();
    FileSet::new(spans, Some(stamps), None, seal)
}

impl Registry {
    /// Serves a share whose files were last verified with `stamps`.
    pub(super) fn install_share(
        &mut self,
        stored: StoredShare,
        content: Arc<Content>,
        stamps: Vec<Stamp>,
    ) {
        let seal = stored.seal.map(SealKey);
        let files = Arc::new(share_files(&stored, stamps.clone(), seal.clone()));
        let token = stored.token;
        let pieces = Arc::new(self.verified(Owner::Share(token), content.clone(), files));
        self.shares.insert(
            token,
            Share {
                stored,
                content,
                seal,
                pieces,
                stamps,
                health: Health::Ok,
                reason: None,
                seen_bad: None,
            },
        );
        self.serve_share(token);
    }

    /// (Re)installs what a share's swarms serve, from the share.
    pub(super) fn serve_share(&mut self, token: [u8; 16]) {
        let Some(s) = self.shares.get(&token) else {
            return;
        };
        let (content, pieces, seal, public) = (
            s.content.clone(),
            s.pieces.clone(),
            s.seal.clone(),
            s.stored.public,
        );
        let ticket = s.stored.ticket.clone();
        let have = self.full_have(&content);
        let view = content.listing(seal.as_ref()).ok().map(|l| View {
            listing: Arc::new(l),
            key: seal,
        });
        let served = Served {
            owner: Owner::Share(token),
            content: content.clone(),
            ticket: Some(ticket),
            pieces,
            have,
            view,
        };
        self.served.insert(Token(token).swarm(), served.clone());
        if public {
            self.served.insert(
                SwarmId::from(content.id),
                Served {
                    ticket: None,
                    ..served
                },
            );
        }
    }

    pub(super) fn own_addr(&self) -> Option<PeerAddr> {
        let own = self.ctx.own_record.borrow();
        own.record
            .hints
            .first()
            .map(|h| PeerAddr::new(own.id(), *h))
    }

    pub(super) fn share_info(&self, s: &Share) -> ShareInfo {
        let own = self.addressed.get(&s.stored.token);
        let at = match own {
            Some(a) => a.addr,
            None => self.own_addr(),
        };
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
        let url = match own {
            Some(a) => link
                .as_ref()
                .zip(a.web_base.as_ref())
                .map(|(l, base)| format!("{base}{}", l.path())),
            None => link.as_ref().and_then(|l| self.browser_url(l)),
        };
        ShareInfo {
            url,
            link: link.map(|l| l.to_string()).unwrap_or_default(),
            public_link: public_link.map(|l| l.to_string()),
            content: s.content.id.to_string(),
            name: s.stored.name.clone(),
            size: s.stored.size,
            files: s.stored.files,
            public: s.stored.public,
            sealed: s.seal.is_some(),
            own_address: own.is_some(),
            created_at: s.stored.created_at,
            state: s.health,
            reason: s.reason.clone(),
            warnings: Vec::new(),
        }
    }

    /// The browser URL of a link on this node's web gateway.
    pub(super) fn browser_url(&self, link: &Link) -> Option<String> {
        self.extra
            .gateway_base
            .as_ref()
            .map(|base| format!("{base}{}", link.path()))
    }

    pub(super) fn find_share(&self, id: &str) -> Option<[u8; 16]> {
        let id = from_browser_url(id.trim());
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

    pub(super) fn start_share(
        &mut self,
        path: PathBuf,
        opts: ShareOptions,
        progress: mpsc::Sender<Progress>,
        reply: oneshot::Sender<Result<ShareInfo, FilesError>>,
    ) {
        if self.shares.len() >= self.cfg.max_shares {
            let _ = reply.send(Err(FilesError::Refused(Refusal::TooManyShares(
                self.shares.len(),
            ))));
            return;
        }
        if opts.own_address && opts.public {
            let _ = reply.send(Err(FilesError::Refused(Refusal::OwnAddressPublic)));
            return;
        }
        let seal = if opts.sealed {
            let mut k = [0u8; 32];
            if let Err(e) = getrandom::fill(&mut k) {
                let _ = reply.send(Err(e.into()));
                return;
            }
            Some(SealKey(k))
        } else {
            None
        };
        let me = self.me.tx.clone();
        let difficulty = opts.own_address.then_some(self.ctx.policy.difficulty);
        let describe = Describe {
            skip_unsafe: opts.skip_unsafe,
            description: opts.description.clone(),
            tags: opts.tags.clone(),
            created_at: self.now(),
        };
        let throttle = self.me.clone();
        tokio::spawn(async move {
            let seal2 = seal.clone();
            let result = tokio::task::spawn_blocking(move || {
                let mut nonce = [0u8; 24];
                let _ = getrandom::fill(&mut nonce);
                let cancel = AtomicBool::new(false);
                let mut read = 0;
                let mut report = |done: u64, total: u64| {
                    let _ = progress.try_send((done, total));
                    // While the box is too hot, reading slows to the thermal cap.
                    let chunk = usize::try_from(done.saturating_sub(read)).unwrap_or(usize::MAX);
                    read = done;
                    std::thread::sleep(throttle.thermal_wait(crate::Work::Disk, chunk));
                };
                let hashed = hash_path(
                    &path,
                    &describe,
                    seal2.as_ref().map(|k| (k, nonce)),
                    &mut report,
                    &cancel,
                )?;
                // A share with its own address gets its own key and work.
                let identity = difficulty.map(addressed::new_identity).transpose()?;
                Ok((hashed, identity))
            })
            .await
            .unwrap_or_else(|e| Err(e.into()));
            let (result, identity) = match result {
                Ok((h, i)) => (Ok(h), i),
                Err(e) => (Err(e), None),
            };
            let _ = me
                .send(Cmd::Hashed {
                    opts,
                    seal,
                    identity,
                    result: result.map(Box::new),
                    reply,
                })
                .await;
        });
    }

    pub(super) async fn finish_share(
        &mut self,
        h: Hashed,
        opts: ShareOptions,
        seal: Option<SealKey>,
        identity: Option<crate::identity::Identity>,
    ) -> Result<ShareInfo, FilesError> {
        let mut token = [0u8; 16];
        getrandom::fill(&mut token)?;
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
        let signer = identity
            .as_ref()
            .map_or(&self.ctx.keypair, |i| &i.keypair)
            .clone();
        let ticket = Ticket::sign(&signer, Token(token).swarm(), id);
        let stored = StoredShare {
            token,
            content: id.0,
            public: false,
            sources: h.sources,
            seal: seal.as_ref().map(|k| k.0),
            ticket,
            created_at: self.now(),
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
        if let Some(i) = &identity {
            self.save_share_key(token, i).await;
        }
        self.store
            .put(Table::Stamps, token.to_vec(), encode(&h.stamps))
            .await;
        self.store
            .put(Table::Shares, token.to_vec(), encode(&stored))
            .await;
        self.store.flush().await.map_err(Self::store_err)?;
        self.install_share(stored, content, h.stamps);
        if let Some(i) = identity {
            if let Err(e) = self.start_addressed(token, i).await {
                let _ = self.unshare(&Token(token).to_base32()).await;
                return Err(e);
            }
            return Ok(self.share_info(&self.shares[&token]));
        }
        let _ = self
            .me
            .tracker()
            .provide(Token(token).swarm(), Some(true))
            .await;
        tracing::info!(token = %Token(token).to_base32().get(..6).unwrap_or(""), "shared");
        if opts.public {
            return self.set_public(&Token(token).to_base32()).await;
        }
        Ok(self.share_info(&self.shares[&token]))
    }

    pub(super) async fn set_public(&mut self, id: &str) -> Result<ShareInfo, FilesError> {
        let token = self
            .find_share(id)
            .ok_or_else(|| FilesError::NotFound(format!("no share {id:?}")))?;
        let s = self
            .shares
            .get_mut(&token)
            .ok_or_else(|| FilesError::NotFound(id.into()))?;
        if s.seal.is_some() {
            return Err(FilesError::Refused(Refusal::SealedPublic));
        }
        if self.addressed.contains_key(&token) {
            return Err(FilesError::Refused(Refusal::OwnAddressPublic));
        }
        s.stored.public = true;
        let stored = s.stored.clone();
        let content = s.content.clone();
        self.store
            .put(Table::Shares, token.to_vec(), encode(&stored))
            .await;
        self.store.flush().await.map_err(Self::store_err)?;
        // The public swarm serves what the private one does, minus the
        // ticket (a content id proves itself).
        if let Some(private) = self.served.get(&Token(token).swarm()).cloned() {
            self.served.insert(
                SwarmId::from(content.id),
                Served {
                    ticket: None,
                    ..private
                },
            );
        }
        let _ = self
            .me
            .tracker()
            .provide(SwarmId::from(content.id), Some(false))
            .await;
        if let Meta::Plain(l) = &content.manifest.meta {
            let entry = warren_proto::tracker::CatalogueEntry {
                content: content.id,
                name: l.name.clone(),
                size: content.manifest.total_size,
                files: l.files.len() as u32,
                description: l.description.clone(),
                tags: l.tags.clone(),
                publisher: self.ctx.keypair.id(),
                published_at: self.now(),
            };
            let _ = self.me.tracker().publish(entry).await;
        }
        Ok(self.share_info(&self.shares[&token]))
    }

    pub(super) async fn unshare(&mut self, id: &str) -> Result<(), FilesError> {
        let token = self
            .find_share(id)
            .ok_or_else(|| FilesError::NotFound(format!("no share {id:?}")))?;
        let Some(s) = self.shares.remove(&token) else {
            return Ok(());
        };
        self.served.remove(&Token(token).swarm());
        self.stop_addressed(token).await;
        let _ = self.me.tracker().provide(Token(token).swarm(), None).await;
        if s.stored.public
            && !self
                .shares
                .values()
                .any(|o| o.content.id == s.content.id && o.stored.public)
        {
            self.served.remove(&SwarmId::from(s.content.id));
            let _ = self
                .me
                .tracker()
                .provide(SwarmId::from(s.content.id), None)
                .await;
        }
        self.store.delete(Table::Shares, token.to_vec()).await;
        self.store.delete(Table::Stamps, token.to_vec()).await;
        self.store.flush().await.map_err(Self::store_err)
    }
}

impl Registry {
    /// Starts the own addresses of the shares that have one.
    pub(super) async fn start_all_addressed(&mut self) {
        let tokens: Vec<[u8; 16]> = self.shares.keys().copied().collect();
        for token in tokens {
            if let Some(identity) = self.load_share_key(&token) {
                if let Err(e) = self.start_addressed(token, identity).await {
                    tracing::warn!(error = %e, "a share's own address did not start");
                }
            }
        }
    }
}
