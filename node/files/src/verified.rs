//! Pieces checked against the piece table before any byte of them is used.
//!
//! The transfer service and the web gateway read content only through
//! [`Verified::piece`]: a whole piece is read, hashed and compared with its
//! entry in the piece table, and only a piece that matches is handed out.
//! A piece that does not match, or a file that is gone, becomes a
//! [`Fault`] reported to the files service (which marks the share or
//! download changed or missing) and a typed error for the caller, which
//! refuses instead of sending.
//!
//! Memory: each piece in use holds `ceil(len / 1 KiB)` permits of a
//! semaphore shared by the whole node (`files.read_buffer_bytes`) until
//! the last block cut from it has been written out; readers wait for room.
//! Every holder keeps at most one piece, and queued blocks drain on their
//! own, so waiting cannot deadlock. SHA-256 runs on a blocking thread, at hundreds of MB/s even
//! without SHA instructions — far above one Tor circuit's few MB/s.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use warren_proto::content::piece_hash;

use super::FilesError;
use super::health::{Change, Fault, FaultSink};
use super::layout::cover;
use super::registry::Content;
use super::source::{FileSet, Stamp};

/// Bytes per permit of the read budget.
const UNIT: u64 = 1024;

/// The node's budget for pieces held in memory while they are served.
#[derive(Debug, Clone)]
pub(crate) struct ReadBudget {
    sem: Arc<Semaphore>,
    units: u32,
}

impl ReadBudget {
    /// A budget of `bytes` (at least one unit).
    pub(crate) fn new(bytes: u64) -> ReadBudget {
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX >> 4);
        ReadBudget {
            sem: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    async fn take(&self, len: u64) -> Result<OwnedSemaphorePermit, FilesError> {
        // A piece larger than the whole budget takes all of it.
        let n = u32::try_from(len.div_ceil(UNIT).max(1))
            .unwrap_or(u32::MAX)
            .min(self.units);
        self.sem
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(|_| FilesError::Cancelled)
    }
}

/// A piece that matched its hash, as it travels.
pub(crate) struct Piece {
    /// Its index.
    pub(crate) index: u32,
    /// Its bytes. Blocks sent from it share them; the read budget's
    /// permits go back only when the last of those is gone.
    pub(crate) bytes: Bytes,
}

/// A piece's buffer with the read budget it holds.
struct Budgeted {
    buf: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

/// A swarm's content, readable only piece by verified piece.
pub(crate) struct Verified {
    content: Arc<Content>,
    files: Arc<FileSet>,
    budget: ReadBudget,
    faults: FaultSink,
}

impl Verified {
    /// `files` holding `content` as it travels.
    pub(crate) fn new(
        content: Arc<Content>,
        files: Arc<FileSet>,
        budget: ReadBudget,
        faults: FaultSink,
    ) -> Verified {
        Verified {
            content,
            files,
            budget,
            faults,
        }
    }

    /// The content.
    pub(crate) fn content(&self) -> &Arc<Content> {
        &self.content
    }

    /// The files.
    pub(crate) fn files(&self) -> &Arc<FileSet> {
        &self.files
    }

    /// The same content from the same files with another record of them.
    pub(crate) fn with_files(&self, files: Arc<FileSet>) -> Verified {
        Verified {
            files,
            content: self.content.clone(),
            budget: self.budget.clone(),
            faults: self.faults.clone(),
        }
    }

    /// Reports what a reader found (the files service decides what it
    /// means for the share or download).
    pub(crate) fn report(&self, e: &FilesError) {
        if let FilesError::Fault(f) = e {
            self.faults.report(f);
        }
    }

    /// Piece `i`, read and checked. A piece that does not match its hash
    /// is never returned: the caller gets [`Fault::Changed`] (and the
    /// files service hears of it).
    pub(crate) async fn piece(&self, i: u32) -> Result<Piece, FilesError> {
        let m = &self.content.manifest;
        if u64::from(i) >= m.piece_count() {
            return Err(FilesError::Refused(crate::Refusal::NoPiece(i)));
        }
        let permit = self.budget.take(m.piece_len(u64::from(i))).await?;
        let (files, content) = (self.files.clone(), self.content.clone());
        let read = tokio::task::spawn_blocking(move || read_checked(&files, &content, i)).await?;
        match read {
            Ok(buf) => Ok(Piece {
                index: i,
                bytes: Bytes::from_owner(Budgeted {
                    buf,
                    _permit: permit,
                }),
            }),
            Err(e) => {
                self.report(&e);
                Err(e)
            }
        }
    }
}

/// Which file of those piece `i` covers changed: the one whose stamp
/// changed since it was verified; when that does not tell (a download in
/// progress, or none looks changed), the first, naming the others.
pub(crate) fn blame(files: &FileSet, i: u32, offset: u64, len: u64) -> Fault {
    let covered: Vec<usize> = cover(files.spans(), offset, len)
        .iter()
        .map(|(f, _, _)| *f)
        .collect();
    let stale = files.stamps().and_then(|recorded| {
        covered.iter().copied().find(|f| {
            files
                .lookup(*f)
                .is_ok_and(|(_, m)| !recorded[*f].matches(&Stamp::of(&m)))
        })
    });
    let first = covered.first().copied().unwrap_or(0);
    let (file, also) = match stale {
        Some(f) => (f, Vec::new()),
        None => (
            first,
            covered.iter().skip(1).map(|f| files.path(*f)).collect(),
        ),
    };
    Fault::Changed {
        path: files.path(file),
        change: Change::Piece { index: i, also },
    }
}

/// Reads piece `i` of `content` from `files` and checks its hash.
/// Blocking.
pub(crate) fn read_checked(
    files: &FileSet,
    content: &Content,
    i: u32,
) -> Result<Vec<u8>, FilesError> {
    let m = &content.manifest;
    let offset = u64::from(i) * u64::from(m.piece_size);
    let len = m.piece_len(u64::from(i));
    let buf = files.read_vec(offset, len as usize)?;
    let expected = content
        .hashes
        .get(i as usize)
        .ok_or_else(|| FilesError::Refused(crate::Refusal::NoPiece(i)))?;
    if piece_hash(&buf) != *expected {
        return Err(blame(files, i, offset, len).into());
    }
    Ok(buf)
}
