//! Warren's files service: sharing, downloading, serving, mirroring, and
//! the web gateway that shows shares to a browser.
//!
//! ```text
//!  warren share PATH ──► hashing (blocking) ──► registry: share, token, ticket
//!  warren get LINK ───► registry ──► download task ──► transfer connections
//!                                      │   (several per provider, each on
//!                                      │    its own circuit on Tor)
//!                                      ▼
//!                          verified pieces ──► output files ──► fsync ──► bitmap in redb
//!  inbound transfer connection ──► upload session ──► piece source (files)
//! ```
//!
//! The registry task owns shares and downloads; each download task owns its
//! piece picker and its connections; each upload session owns its request
//! queue. Sizes and queues are bounded by `[files]` in the configuration.
//!
//! Its [`tracker`] task knows who provides which swarm and the catalogue
//! of public shares; it hears the tracker channel of every peer connection
//! from the peer layer. The crate stands on `warren-peers` (connected
//! peers, their records) and `warren-net` (transfer connections reach
//! [`upload::UploadService`] through the router); the panel and the
//! daemon above use [`FilesHandle`].

pub mod bitmap;
pub mod config;
mod counters;
mod direct;
mod download;
pub mod gateway;
pub mod hashing;
pub mod health;
pub mod layout;
pub mod output;
mod persist;
mod recheck;
mod refusal;
mod registry;
mod slots;
pub mod source;
pub mod tracker;
mod transfer;
mod upload;
mod verified;

pub use counters::{FilesCounters, TrackerCounts, TransferCounts};
pub use download::{DownloadState, DownloadStatus};
pub use health::Health;
pub use refusal::Refusal;
pub use registry::{
    Content, DownloadInfo, FilesHandle, MirrorInfo, MirrorList, Progress, RecheckReport, ShareInfo,
    ShareOptions,
};
pub use registry::{ExtraSetup, Found, Pending, Registry, Served, Work, handle};
pub use upload::UploadService;

use std::path::PathBuf;

/// What every `Mutex` of this crate's `lock().expect` says: no code panics
/// while holding one of them (each guards a value that is set, taken or
/// cloned in place), so a poisoned lock is a bug, and says so.
pub(crate) const HELD: &str =
    "a lock of warren-files is poisoned: no code panics while holding one";

use warren_net::{clock, conn, fair, metrics, transport, web};
use warren_peers::{identity, store};

use health::Fault;

/// Why a files operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// The request cannot be carried out as asked (unsafe path, name
    /// taken, a bound reached, …): why, as a type.
    #[error(transparent)]
    Refused(Refusal),
    /// The peer layer failed: the store, or making an identity.
    #[error(transparent)]
    Peers(std::sync::Arc<warren_peers::Error>),
    /// A blocking task (hashing, a check, a read, mining an identity)
    /// panicked or was cancelled.
    #[error("a blocking task failed: {0}")]
    Task(#[source] std::sync::Arc<tokio::task::JoinError>),
    /// The system gave no randomness.
    #[error("no randomness: {0}")]
    Random(#[from] getrandom::Error),
    /// A file operation failed.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong (shared: a files error is cloned to everyone
        /// waiting on the same work).
        #[source]
        error: std::sync::Arc<std::io::Error>,
    },
    /// The disk is full.
    #[error("disk full writing {}: the download is paused; free space and run `warren get` again", .0.display())]
    DiskFull(PathBuf),
    /// A file no longer holds what was shared or downloaded.
    #[error(transparent)]
    Fault(#[from] Fault),
    /// A provider knows the swarm but cannot serve it now.
    #[error("{}", unavailable_text(*.0))]
    Unavailable(warren_proto::files::Unavailable),
    /// Stopped on request.
    #[error("cancelled")]
    Cancelled,
    /// An upload session closed to make room for another downloader.
    #[error("closed for another downloader (every upload slot was taken)")]
    Evicted,
    /// Nothing by that name.
    #[error("not found: {0}")]
    NotFound(String),
    /// Bad bytes from a peer, or a protocol rule broken.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// A sealed share's content keystream cannot reach this far (a fault
    /// of this node's, not of a peer's).
    #[error("sealed content: {0}")]
    Seal(#[source] warren_proto::Error),
    /// A transfer failed (timeout, peer misbehaving); the text says how.
    #[error("transfer: {0}")]
    Transfer(String),
    /// A transfer connection could not be opened (its dial or handshake).
    #[error("transfer: {0}")]
    Dial(#[source] std::sync::Arc<crate::conn::ConnError>),
    /// Over the seeding quota.
    #[error("over the seeding quota: {need} bytes needed, {left} left (files.seeding_quota_bytes)")]
    Quota {
        /// Bytes asked for.
        need: u64,
        /// Bytes left in the quota.
        left: u64,
    },
}

impl From<warren_peers::Error> for FilesError {
    fn from(e: warren_peers::Error) -> Self {
        FilesError::Peers(std::sync::Arc::new(e))
    }
}

impl From<tokio::task::JoinError> for FilesError {
    fn from(e: tokio::task::JoinError) -> Self {
        FilesError::Task(std::sync::Arc::new(e))
    }
}

impl FilesError {
    /// An I/O error on `path` (a full disk is [`FilesError::DiskFull`]).
    pub fn io(path: &std::path::Path, e: std::io::Error) -> FilesError {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            FilesError::DiskFull(path.to_path_buf())
        } else {
            FilesError::Io {
                path: path.to_path_buf(),
                error: std::sync::Arc::new(e),
            }
        }
    }
}

fn unavailable_text(why: warren_proto::files::Unavailable) -> &'static str {
    use warren_proto::files::Unavailable;
    match why {
        Unavailable::Changed => "its copy changed on disk since it was shared, so it is not served",
        Unavailable::Missing => "its copy is gone or cannot be read, so it is not served",
        Unavailable::Checking => "its copy is being checked; it asks to try again shortly",
    }
}

/// `1.5 GiB`-style sizes.
pub fn size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
