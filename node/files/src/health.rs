//! Whether the files behind a share or a download still hold its content.
//!
//! A file on disk can stop matching what was shared or downloaded at any
//! moment: edited in place, replaced, truncated, deleted. Nothing is served
//! on trust: every piece is checked against the piece table before a byte
//! of it leaves the node (`verified.rs`), and a file whose size or
//! modification time differs from what was recorded is re-checked before
//! it is served again. What a reader finds is a [`Fault`]; the files
//! service turns it into the owner-visible [`Health`] of the share or
//! download, logged once when it changes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use warren_proto::content::SwarmId;
use warren_proto::files::Unavailable;

/// Whether a share's (or a finished download's) files still hold its
/// content, as last checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Every check so far matched.
    #[default]
    Ok,
    /// A file's size or modification time changed; its pieces are being
    /// checked against the piece table.
    Checking,
    /// A file no longer holds what was shared or downloaded.
    Changed,
    /// A file is gone (deleted or moved).
    Missing,
}

impl Health {
    /// The word `warren shares` and the panel show.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Checking => "checking",
            Health::Changed => "changed",
            Health::Missing => "missing",
        }
    }

    /// What a downloader is told (files channel, version 3); none while
    /// the content can be served.
    pub(crate) fn refusal(self) -> Option<Unavailable> {
        match self {
            Health::Ok | Health::Checking => None,
            Health::Changed => Some(Unavailable::Changed),
            Health::Missing => Some(Unavailable::Missing),
        }
    }
}

/// How a file differs from what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Its length differs from the manifest's.
    Size {
        /// The length in the manifest.
        expected: u64,
        /// The length on disk.
        found: u64,
    },
    /// A piece read from it does not hash to the piece table's entry.
    Piece {
        /// The piece.
        index: u32,
        /// The other files the piece holds bytes of, when which of them
        /// changed is not known.
        also: Vec<PathBuf>,
    },
    /// Something else (a folder, a device) is where it was.
    NotAFile,
    /// Its size and modification time are not the ones recorded when it
    /// was last checked (its content is not known yet).
    Modified,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Size { expected, found } => {
                write!(f, "it is {found} bytes long, not {expected}")
            }
            Change::Piece { index, also } if also.is_empty() => {
                write!(f, "piece {index} no longer matches its hash")
            }
            Change::Piece { index, also } => {
                let names: Vec<String> = also.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "piece {index} no longer matches its hash (the piece also holds {}: one of them changed)",
                    names.join(", ")
                )
            }
            Change::NotAFile => f.write_str("it is no longer a regular file"),
            Change::Modified => f.write_str("it was modified"),
        }
    }
}

/// What a reader found wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The file is not there.
    #[error("{} is gone (deleted or moved)", .0.display())]
    Missing(PathBuf),
    /// The file is there but not as recorded.
    #[error("{} changed: {change}", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// How.
        change: Change,
    },
    /// The file is there but cannot be read (its permissions changed).
    #[error("{} cannot be read: {error}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: String,
    },
}

impl Fault {
    /// The health it leads to.
    pub fn health(&self) -> Health {
        match self {
            // Not there to read, as far as anyone asking can tell.
            Fault::Missing(_) | Fault::Unreadable { .. } => Health::Missing,
            Fault::Changed {
                change: Change::Modified,
                ..
            } => Health::Checking,
            Fault::Changed { .. } => Health::Changed,
        }
    }
}

/// Which share or download a reader serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    /// A share, by its token.
    Share([u8; 16]),
    /// A download or a mirror, by its swarm.
    Download(SwarmId),
}

/// Faults queued for the files service. Full: a fault is dropped (the next
/// read of that file finds it again).
pub(crate) const FAULT_QUEUE: usize = 16;

/// Where readers report faults: the files service, which owns the health.
#[derive(Debug, Clone)]
pub(crate) struct FaultSink {
    pub(crate) owner: Owner,
    pub(crate) tx: mpsc::Sender<(Owner, Fault)>,
}

impl FaultSink {
    /// Tells the files service; never waits.
    pub(crate) fn report(&self, fault: &Fault) {
        let _ = self.tx.try_send((self.owner, fault.clone()));
    }
}
