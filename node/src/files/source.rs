//! Reading a share's content from the files that hold it.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use warren_proto::seal::SealKey;

use super::FilesError;
use super::hashing::SourceFile;
use super::layout::{Span, cover};

/// Open files kept per source (the rest are reopened as needed).
const OPEN_FILES: usize = 16;

/// Reads content bytes at content offsets. Blocking: call from blocking
/// threads.
pub trait PieceSource: Send + Sync {
    /// Fills `buf` with the content from `offset`.
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), FilesError>;
}

/// Content that lives in files (a publisher's originals, or a download's
/// output). For a sealed share whose files hold plaintext, what is read is
/// encrypted on the way out, so that what leaves is what the pieces hash to.
pub struct FileSet {
    spans: Vec<Span>,
    /// For a publisher's originals: what each file looked like when hashed.
    expect: Option<Vec<SourceFile>>,
    seal: Option<SealKey>,
    open: Mutex<HashMap<usize, File>>,
}

impl FileSet {
    /// Content in `spans`; `expect` (if given) is checked before each file
    /// is opened, so an edited original is never served.
    pub fn new(
        spans: Vec<Span>,
        expect: Option<Vec<SourceFile>>,
        seal: Option<SealKey>,
    ) -> FileSet {
        FileSet {
            spans,
            expect,
            seal,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The publisher's originals, as hashed.
    pub fn originals(sources: &[SourceFile], seal: Option<SealKey>) -> FileSet {
        let mut start = 0;
        let spans = sources
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
        FileSet::new(spans, Some(sources.to_vec()), seal)
    }

    fn with_file<T>(
        &self,
        i: usize,
        f: impl FnOnce(&File) -> std::io::Result<T>,
    ) -> Result<T, FilesError> {
        let span = &self.spans[i];
        let err = |e: std::io::Error| FilesError::Io {
            path: span.path.clone(),
            error: e.to_string(),
        };
        let mut open = self
            .open
            .lock()
            .map_err(|_| FilesError::Refused("file cache poisoned".into()))?;
        if !open.contains_key(&i) {
            if let Some(expect) = &self.expect {
                if !expect[i].unchanged() {
                    return Err(FilesError::Changed(span.path.clone()));
                }
            }
            if open.len() >= OPEN_FILES {
                open.clear();
            }
            open.insert(i, File::open(&span.path).map_err(err)?);
        }
        let file = open
            .get(&i)
            .ok_or_else(|| FilesError::Refused("file cache".into()))?;
        f(file).map_err(err)
    }
}

impl PieceSource for FileSet {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), FilesError> {
        let mut at = 0usize;
        for (i, file_off, len) in cover(&self.spans, offset, buf.len() as u64) {
            let part = &mut buf[at..at + len as usize];
            self.with_file(i, |f| f.read_exact_at(part, file_off))?;
            at += len as usize;
        }
        if at != buf.len() {
            return Err(FilesError::Refused(
                "read past the end of the content".into(),
            ));
        }
        if let Some(k) = &self.seal {
            k.apply(offset, buf)
                .map_err(|e| FilesError::Refused(e.to_string()))?;
        }
        Ok(())
    }
}
