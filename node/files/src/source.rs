//! Reading a swarm's content from the files that hold it.
//!
//! Every read looks the file up by its path again (`stat`): a file that is
//! gone is [`Fault::Missing`], one whose length is not the manifest's is
//! [`Fault::Changed`], and a file replaced under the same name is reopened
//! rather than read through a stale handle. Whether the bytes themselves
//! are still the content is for the caller to check against the piece
//! table (`verified.rs`); this module only reads.

use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use warren_proto::seal::SealKey;

use super::FilesError;
use super::health::{Change, Fault};
use super::layout::{Names, Span, cover};

/// Open files kept per file set (the rest are reopened as needed).
const OPEN_FILES: usize = 16;

/// What a file looked like when it was last known to hold its content:
/// its length, modification and change times, and inode. A file whose stamp
/// differs is checked against its pieces before it is served again. The
/// change time cannot be set by a user, so an edit whose modification time
/// is put back (`touch -r`, `cp -p`, `rsync -t`) still changes the stamp;
/// the inode changes when a file is replaced by another of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Length in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: i128,
    /// Status change time, nanoseconds since the Unix epoch (0: not
    /// recorded, as for shares made before it was).
    pub ctime_ns: i128,
    /// Inode number (0: not recorded).
    pub ino: u64,
}

impl Stamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        Stamp {
            size: meta.len(),
            mtime_ns,
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            ino: meta.ino(),
        }
    }

    /// Whether `now` is this file as stamped (what was not recorded is not
    /// compared).
    pub fn matches(&self, now: &Stamp) -> bool {
        self.size == now.size
            && self.mtime_ns == now.mtime_ns
            && (self.ctime_ns == 0 || self.ctime_ns == now.ctime_ns)
            && (self.ino == 0 || self.ino == now.ino)
    }
}

/// Whether every stamp of `now` matches its recorded one in `then`.
pub fn all_match(then: &[Stamp], now: &[Stamp]) -> bool {
    then.len() == now.len() && then.iter().zip(now).all(|(a, b)| a.matches(b))
}

/// How a file compares with its stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// As stamped.
    Fresh,
    /// Same length, other modification time: its pieces must be checked.
    Stale(PathBuf),
}

/// A swarm's bytes as they travel, read from the files that hold them. For
/// a sealed share whose files hold plaintext, what is read is encrypted on
/// the way out, so that what is returned is what the pieces hash to.
pub struct FileSet {
    spans: Vec<Span>,
    /// What each file looked like when last checked; none while they are
    /// being written (a download in progress).
    stamps: Option<Vec<Stamp>>,
    /// For a download: which files still carry their `.warren-part` name.
    names: Option<Arc<Names>>,
    seal: Option<SealKey>,
    open: Mutex<HashMap<usize, Handle>>,
}

struct Handle {
    file: Arc<File>,
    dev: u64,
    ino: u64,
}

impl FileSet {
    /// Content in `spans` (sorted by start). `stamps`, one per span, are
    /// what [`FileSet::freshness`] compares with; `names` maps unfinished
    /// files to their temporary names; `seal` encrypts plaintext files.
    pub fn new(
        spans: Vec<Span>,
        stamps: Option<Vec<Stamp>>,
        names: Option<Arc<Names>>,
        seal: Option<SealKey>,
    ) -> FileSet {
        FileSet {
            spans,
            stamps,
            names,
            seal,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The files, in content order.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The stamps the files had when last verified, if recorded.
    pub fn stamps(&self) -> Option<&[Stamp]> {
        self.stamps.as_deref()
    }

    /// The same files with new stamps (after a check found them intact).
    pub fn restamped(&self, stamps: Vec<Stamp>) -> FileSet {
        FileSet::new(
            self.spans.clone(),
            Some(stamps),
            self.names.clone(),
            self.seal.clone(),
        )
    }

    /// The path file `i` has now (a download's unfinished file carries
    /// its temporary name).
    pub fn path(&self, i: usize) -> PathBuf {
        match &self.names {
            Some(n) => n.current(&self.spans[i].path, i),
            None => self.spans[i].path.clone(),
        }
    }

    /// Looks file `i` up by its path: gone, or of another length than the
    /// manifest's, is a fault. Blocking.
    pub fn lookup(&self, i: usize) -> Result<(PathBuf, std::fs::Metadata), FilesError> {
        let mut path = self.path(i);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            // Renamed to its final name in the meantime: look again.
            Err(e) if e.kind() == ErrorKind::NotFound && self.path(i) != path => {
                path = self.path(i);
                std::fs::metadata(&path).map_err(|e| not_there(&path, e))?
            }
            Err(e) => return Err(not_there(&path, e)),
        };
        let expected = self.spans[i].size;
        if !meta.is_file() {
            return Err(Fault::Changed {
                path,
                change: Change::NotAFile,
            }
            .into());
        }
        if meta.len() != expected {
            return Err(Fault::Changed {
                path,
                change: Change::Size {
                    expected,
                    found: meta.len(),
                },
            }
            .into());
        }
        Ok((path, meta))
    }

    /// How files `range` compare with their stamps. A fault for a file
    /// that is gone or of the wrong length. Blocking.
    pub fn freshness(&self, range: std::ops::Range<usize>) -> Result<Freshness, FilesError> {
        for i in range {
            let (path, meta) = self.lookup(i)?;
            if let Some(stamps) = &self.stamps {
                if !stamps[i].matches(&Stamp::of(&meta)) {
                    return Ok(Freshness::Stale(path));
                }
            }
        }
        Ok(Freshness::Fresh)
    }

    /// Every file's stamp now, in order; a fault for the first that is
    /// gone or of the wrong length. Blocking.
    pub fn stamps_now(&self) -> Result<Vec<Stamp>, FilesError> {
        (0..self.spans.len())
            .map(|i| self.lookup(i).map(|(_, m)| Stamp::of(&m)))
            .collect()
    }

    /// An open handle to file `i` as it is now (reopened if the file was
    /// replaced). The cache lock is not held while reading.
    fn handle(
        &self,
        i: usize,
        path: &std::path::Path,
        meta: &std::fs::Metadata,
    ) -> Result<Arc<File>, FilesError> {
        let mut open = self.open.lock().expect(crate::HELD);
        if let Some(h) = open
            .get(&i)
            .filter(|h| h.dev == meta.dev() && h.ino == meta.ino())
        {
            return Ok(h.file.clone());
        }
        if open.len() >= OPEN_FILES {
            open.clear();
        }
        let file = Arc::new(File::open(path).map_err(|e| not_there(path, e))?);
        open.insert(
            i,
            Handle {
                file: file.clone(),
                dev: meta.dev(),
                ino: meta.ino(),
            },
        );
        Ok(file)
    }

    /// Appends `len` bytes of file `i` from `at` to `out`, read straight
    /// into its spare capacity (nothing is zeroed first).
    fn append_file(
        &self,
        i: usize,
        at: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), FilesError> {
        let (path, meta) = self.lookup(i)?;
        let file = self.handle(i, &path, &meta)?;
        let end = out.len() + len;
        out.reserve_exact(len);
        let mut pos = at;
        while out.len() < end {
            let n = rustix::io::pread(&*file, rustix::buffer::spare_capacity(out), pos)
                .map_err(|e| self.read_error(i, &path, pos, e.into()))?;
            if n == 0 {
                let eof = std::io::Error::from(ErrorKind::UnexpectedEof);
                return Err(self.read_error(i, &path, pos, eof));
            }
            pos += n as u64;
        }
        // A read past this file's part (the file grew) is not content.
        out.truncate(end);
        Ok(())
    }

    fn read_error(
        &self,
        i: usize,
        path: &std::path::Path,
        at: u64,
        e: std::io::Error,
    ) -> FilesError {
        match e.kind() {
            // Shorter than a moment ago: truncated under us.
            ErrorKind::UnexpectedEof => Fault::Changed {
                path: path.to_path_buf(),
                change: Change::Size {
                    expected: self.spans[i].size,
                    found: at,
                },
            }
            .into(),
            _ => FilesError::io(path, e),
        }
    }

    /// The content's `len` bytes from `offset` (as it travels), in a
    /// vector of exactly that capacity, read without zeroing it first.
    /// Blocking.
    pub fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>, FilesError> {
        let mut buf = Vec::with_capacity(len);
        for (i, file_off, part) in cover(&self.spans, offset, len as u64) {
            self.append_file(i, file_off, part as usize, &mut buf)?;
        }
        if buf.len() != len {
            return Err(FilesError::Refused(crate::Refusal::PastTheEnd));
        }
        if let Some(k) = &self.seal {
            k.apply(offset, &mut buf).map_err(FilesError::Seal)?;
        }
        Ok(buf)
    }

    /// The files holding content bytes `offset .. offset + len`.
    pub fn files_of(&self, offset: u64, len: u64) -> std::ops::Range<usize> {
        let c = cover(&self.spans, offset, len.max(1));
        match (c.first(), c.last()) {
            (Some(a), Some(b)) => a.0..b.0 + 1,
            _ => 0..0,
        }
    }
}

fn not_there(path: &std::path::Path, e: std::io::Error) -> FilesError {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => Fault::Missing(path.to_path_buf()).into(),
        ErrorKind::PermissionDenied => Fault::Unreadable {
            path: path.to_path_buf(),
            error: e.to_string(),
        }
        .into(),
        _ => FilesError::io(path, e),
    }
}
