//! What a download fetches, how it checks what providers say, and where the
//! bytes go.

use std::path::PathBuf;
use std::sync::Arc;

use warren_proto::content::SwarmId;
use warren_proto::link::{Link, Target};
use warren_proto::seal::SealKey;
use warren_proto::{NodeId, PeerAddr};

use super::super::FilesError;
use super::super::layout::{Span, create_blob, create_outputs};
use super::super::output::Output;
use super::super::registry::{Content, View};
use super::super::source::FileSet;

/// Who must have signed a provider's ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Signer {
    /// Public content: the swarm is the content id, no ticket needed.
    Public,
    /// A private link: the key named in the link.
    Key(NodeId),
    /// A mirror request: any valid ticket (downloaders check the signer
    /// against their own links), or none when the swarm is the content id.
    Any,
}

/// What to fetch.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    /// The swarm to open.
    pub(crate) swarm: SwarmId,
    /// The node to ask first.
    pub(crate) at: PeerAddr,
    /// How tickets are checked.
    pub(crate) signer: Signer,
    /// The link's key: sealed content is written decrypted.
    pub(crate) key: Option<SealKey>,
}

impl Want {
    /// What a link asks for.
    pub(crate) fn of(link: &Link) -> Want {
        let (signer, key) = match &link.target {
            Target::Private { key, .. } => (Signer::Key(link.at.id), key.clone()),
            Target::Public(_) => (Signer::Public, None),
        };
        Want {
            swarm: link.swarm(),
            at: link.at,
            signer,
            key,
        }
    }

    /// Whether providers are asked for among trusted nodes only.
    pub(crate) fn private(&self) -> bool {
        self.signer != Signer::Public
    }
}

/// Where a download's bytes go.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    /// The share's files, under this folder, readable.
    Files(PathBuf),
    /// One file holding the content exactly as it travels (a sealed share
    /// stays encrypted): a mirror kept for others.
    Blob(PathBuf),
}

/// A download's outputs, once the content is known.
pub(crate) struct Prepared {
    /// What upload sessions serve (as it travels).
    pub(crate) served: FileSet,
    /// What a browser sees, when this node can read the content.
    pub(crate) view: Option<View>,
    /// Where verified pieces are written.
    pub(crate) output: Output,
    /// The share's name (a sealed mirror has none readable).
    pub(crate) name: String,
}

/// Creates (or, when `resume`, reopens) the outputs for `content`. Blocking.
pub(crate) fn prepare(
    place: &Place,
    content: &Content,
    key: Option<&SealKey>,
    resume: bool,
) -> Result<Prepared, FilesError> {
    match place {
        Place::Files(out) => {
            let listing = content.listing(key)?;
            let spans = create_outputs(out, &listing, resume)?;
            Ok(Prepared {
                served: FileSet::new(spans.clone(), None, key.cloned()),
                view: Some(View {
                    listing: Arc::new(listing.clone()),
                    plain: Arc::new(FileSet::new(spans.clone(), None, None)),
                }),
                output: Output::new(spans, key.cloned()),
                name: listing.name.to_string(),
            })
        }
        Place::Blob(path) => {
            let size = content.manifest.total_size;
            create_blob(path, size, resume)?;
            let spans = vec![Span {
                path: path.clone(),
                start: 0,
                size,
            }];
            // Plain content stays readable; sealed content is never opened.
            let listing = content.listing(None).ok();
            let name = match &listing {
                Some(l) => l.name.to_string(),
                None => format!(
                    "sealed {}",
                    content.id.to_string().chars().take(12).collect::<String>()
                ),
            };
            Ok(Prepared {
                served: FileSet::new(spans.clone(), None, None),
                view: listing.map(|l| View {
                    listing: Arc::new(l),
                    plain: Arc::new(FileSet::new(spans.clone(), None, None)),
                }),
                output: Output::new(spans, None),
                name,
            })
        }
    }
}
