//! Writing verified pieces into a download's output files, durably.
//!
//! Pieces are written once, where they belong, in whole. They become
//! durable in batches: after `sync` returns, every piece written before it
//! is on disk, and only then may the download record them as present.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use warren_proto::seal::SealKey;

use super::FilesError;
use super::bitmap::Bitmap;
use super::layout::{Names, Span, cover, finish_files, open_output};

/// The output files of one download.
pub struct Output {
    spans: Vec<Span>,
    /// Which files still carry their `.warren-part` name (none: a
    /// mirror's single file, which is never renamed).
    names: Option<Arc<Names>>,
    piece_size: u32,
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
        piece_size: u32,
        seal: Option<SealKey>,
    ) -> Output {
        Output {
            spans,
            names,
            piece_size,
            seal,
            dirty: BTreeSet::new(),
            open: HashMap::new(),
            written: 0,
        }
    }

    /// Writes a verified piece that starts at content `offset`.
    pub fn write(&mut self, offset: u64, mut data: Vec<u8>) -> Result<(), FilesError> {
        if let Some(k) = &self.seal {
            k.apply(offset, &mut data)
                .map_err(|e| FilesError::Refused(e.to_string()))?;
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

    /// Gives the files whose pieces are all in `durable` their own
    /// names. Call after [`Output::sync`].
    pub fn finish(&mut self, durable: &Bitmap) -> Result<(), FilesError> {
        match &self.names {
            Some(n) => finish_files(&self.spans, n, self.piece_size, durable),
            None => Ok(()),
        }
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
            .ok_or_else(|| FilesError::Refused("output file cache".into()))
    }
}

fn write_error(path: &std::path::Path, e: std::io::Error) -> FilesError {
    FilesError::io(path, e)
}
