//! What a download fetches, how it checks what providers say, and where the
//! bytes go.

use std::path::PathBuf;
use std::sync::Arc;

use warren_proto::content::SwarmId;
use warren_proto::link::{Link, Target};
use warren_proto::seal::SealKey;
use warren_proto::{NodeId, PeerAddr};

use super::super::FilesError;
use super::super::bitmap::Bitmap;
use super::super::layout::{Names, Span, create_blob, create_outputs, spans_under};
use super::super::output::Output;
use super::super::registry::{Content, View};
use super::super::source::{FileSet, Stamp};

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

/// Where a download's content lies, once known (no I/O).
pub(crate) struct Laid {
    /// The files, in content order, under their own names.
    pub(crate) spans: Vec<Span>,
    /// What a browser sees, when this node can read the content.
    pub(crate) view: Option<View>,
    /// The key that encrypts what the files hold into what travels
    /// (a sealed share downloaded with its key is written decrypted).
    pub(crate) seal: Option<SealKey>,
    /// The share's name (a sealed mirror has none readable).
    pub(crate) name: String,
    /// Whether the files carry `.warren-part` names until finished.
    pub(crate) part_names: bool,
}

/// Where `content` goes in `place`.
pub(crate) fn lay(
    place: &Place,
    content: &Content,
    key: Option<&SealKey>,
) -> Result<Laid, FilesError> {
    match place {
        Place::Files(out) => {
            let listing = content.listing(key)?;
            Ok(Laid {
                spans: spans_under(out, &listing),
                name: listing.name.to_string(),
                view: Some(View {
                    listing: Arc::new(listing),
                    key: key.cloned(),
                }),
                seal: key.cloned(),
                part_names: true,
            })
        }
        Place::Blob(path) => {
            let spans = vec![Span {
                path: path.clone(),
                start: 0,
                size: content.manifest.total_size,
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
            Ok(Laid {
                spans,
                view: listing.map(|l| View {
                    listing: Arc::new(l),
                    key: None,
                }),
                seal: None,
                name,
                part_names: false,
            })
        }
    }
}

impl Laid {
    /// The files as they are on disk now (each under whichever name it
    /// has), with `stamps` as their last verified state. Blocking.
    pub(crate) fn files_on_disk(&self, stamps: Option<Vec<Stamp>>) -> FileSet {
        let names = self
            .part_names
            .then(|| Arc::new(Names::from_disk(&self.spans)));
        FileSet::new(self.spans.clone(), stamps, names, self.seal.clone())
    }

    /// The files of a finished download, under their own names.
    pub(crate) fn finished(&self, stamps: Option<Vec<Stamp>>) -> FileSet {
        let names = self
            .part_names
            .then(|| Arc::new(Names::all_finished(self.spans.len())));
        FileSet::new(self.spans.clone(), stamps, names, self.seal.clone())
    }
}

/// A download's outputs, ready to be written.
pub(crate) struct Prepared {
    /// What upload sessions serve (as it travels).
    pub(crate) files: Arc<FileSet>,
    /// What a browser sees, when this node can read the content.
    pub(crate) view: Option<View>,
    /// Where verified pieces are written.
    pub(crate) output: Output,
    /// The share's name.
    pub(crate) name: String,
}

/// Creates (or, when `resume`, reopens) the outputs for `content`, given
/// the pieces already on disk. Blocking.
pub(crate) fn prepare(
    place: &Place,
    content: &Arc<Content>,
    key: Option<&SealKey>,
    have: &Bitmap,
    resume: bool,
) -> Result<Prepared, FilesError> {
    let laid = lay(place, content, key)?;
    let piece_size = content.manifest.piece_size;
    let (spans, names) = match place {
        Place::Files(out) => {
            let listing = content.listing(key)?;
            let (spans, names) = create_outputs(out, &listing, piece_size, have, resume)?;
            (spans, Some(names))
        }
        Place::Blob(path) => {
            create_blob(path, content.manifest.total_size, resume)?;
            (laid.spans.clone(), None)
        }
    };
    Ok(Prepared {
        files: Arc::new(FileSet::new(
            spans.clone(),
            None,
            names.clone(),
            laid.seal.clone(),
        )),
        output: Output::new(spans, names, content.clone(), laid.seal.clone()),
        view: laid.view,
        name: laid.name,
    })
}
