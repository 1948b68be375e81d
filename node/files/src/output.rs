//! Writing verified pieces into a download's output files, durably.
//!
//! Pieces are written once, where they belong, in whole. They become
//! durable in batches: after `sync` returns, every piece written before it
//! is on disk, and only then may the download record them as present. A
//! file whose pieces are all durable is read back and checked against the
//! piece table once more before it is called finished (and given its own
//! name): nothing can have changed it unseen since it was written.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use warren_proto::seal::SealKey;

use super::FilesError;
use super::bitmap::Bitmap;
use super::layout::{Names, Span, cover, finish_file, open_output, pieces_of, span_complete};
use super::registry::Content;
use super::source::FileSet;
use super::verified::read_checked;

/// The output files of one download.
pub struct Output {
    spans: Vec<Span>,
    /// Which files still carry their `.warren-part` name (none: a
    /// mirror's single file, which is never renamed).
    names: Option<Arc<Names>>,
    content: Arc<Content>,
    /// The same files, read back to check finished ones.
    check: FileSet,
    /// Files found whole and checked.
    finished: Vec<bool>,
    /// Sealed downloads arrive encrypted and are written decrypted.
    seal: Option<SealKey>,
    dirty: BTreeSet<usize>,
    /// Files kept open between pieces (at most `OPEN_FILES`).
    open: HashMap<usize, File>,
    /// Bytes written since creation (for figures).
    pub written: u64,
}

/// Output files kept open at once.
const OPEN_FILES: usize = 16;

impl Output {
    /// Writes into `spans` (created beforehand by `layout::create_outputs`),
    /// each file under its current name in `names`.
    pub fn new(
        spans: Vec<Span>,
        names: Option<Arc<Names>>,
        content: Arc<Content>,
        seal: Option<SealKey>,
    ) -> Output {
        let check = FileSet::new(spans.clone(), None, names.clone(), seal.clone());
        // Files under their own names were checked when they got them.
        let finished = (0..spans.len())
            .map(|i| names.as_ref().is_some_and(|n| n.is_finished(i)))
            .collect();
        Output {
            finished,
            spans,
            names,
            content,
            check,
            seal,
            dirty: BTreeSet::new(),
            open: HashMap::new(),
            written: 0,
        }
    }

    /// Writes a verified piece that starts at content `offset`.
    pub fn write(&mut self, offset: u64, mut data: Vec<u8>) -> Result<(), FilesError> {
        if let Some(k) = &self.seal {
            k.apply(offset, &mut data).map_err(FilesError::Seal)?;
        }
        let mut at = 0usize;
        for (i, file_off, len) in cover(&self.spans, offset, data.len() as u64) {
            let f = self.file(i)?;
            f.write_all_at(&data[at..at + len as usize], file_off)
                .map_err(|e| write_error(&self.spans[i].path, e))?;
            self.dirty.insert(i);
            at += len as usize;
        }
        self.written += data.len() as u64;
        Ok(())
    }

    /// Makes everything written so far durable.
    pub fn sync(&mut self) -> Result<(), FilesError> {
        for i in std::mem::take(&mut self.dirty) {
            let f = self.file(i)?;
            f.sync_data()
                .map_err(|e| write_error(&self.spans[i].path, e))?;
        }
        Ok(())
    }

    /// Checks each file whose pieces are now all in `durable` against the
    /// piece table, reading it back, and gives it its own name. A piece
    /// that no longer matches (the file was written to by someone else) is
    /// a fault: the download stops rather than call it finished. Call
    /// after [`Output::sync`].
    pub fn finish(&mut self, durable: &Bitmap) -> Result<(), FilesError> {
        let piece_size = self.content.manifest.piece_size;
        for i in 0..self.spans.len() {
            if self.finished[i] || !span_complete(&self.spans[i], piece_size, durable) {
                continue;
            }
            for p in pieces_of(&self.spans[i], piece_size) {
                read_checked(&self.check, &self.content, p)?;
            }
            if let Some(n) = &self.names {
                finish_file(&self.spans[i], n, i)?;
            }
            self.finished[i] = true;
        }
        Ok(())
    }

    fn file(&mut self, i: usize) -> Result<&File, FilesError> {
        if !self.open.contains_key(&i) {
            // Closing a written file loses nothing: a later sync through a
            // new handle flushes the file's pages all the same.
            if self.open.len() >= OPEN_FILES {
                self.open.clear();
            }
            let path = match &self.names {
                Some(n) => n.current(&self.spans[i].path, i),
                None => self.spans[i].path.clone(),
            };
            let f = open_output(&path)?;
            self.open.insert(i, f);
        }
        self.open
            .get(&i)
            .ok_or(FilesError::Refused(crate::Refusal::NotOpen))
    }
}

fn write_error(path: &std::path::Path, e: std::io::Error) -> FilesError {
    FilesError::io(path, e)
}
