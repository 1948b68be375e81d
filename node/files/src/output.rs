//! Writing verified pieces into a download's output files, durably.
//!
//! Pieces are written once, where they belong, in whole. They become
//! durable in batches: after `sync` returns, every piece written before it
//! is on disk, and only then may the download record them as present. A
//! file whose pieces are all durable is read back and checked against the
//! piece table once more before it is called finished (and given its own
//! name): nothing can have changed it unseen since it was written. Writes
//! and the read-back go around the page cache where the file system allows
//! it (`direct.rs`), so the check reads what the disk holds; it reads the
//! next run of pieces while another thread hashes the last.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::sync::Arc;

use warren_proto::seal::SealKey;

use super::FilesError;
use super::bitmap::Bitmap;
use super::direct::{self, AlignedBuf};
use super::layout::{Names, Span, cover, finish_file, open_output, pieces_of, span_complete};
use super::registry::Content;
use super::source::FileSet;
use super::verified::blame;
use warren_proto::content::piece_hash;

/// The output files of one download.
pub struct Output {
    spans: Vec<Span>,
    /// Which files still carry their `.warren-part` name (none: a
    /// mirror's single file, which is never renamed).
    names: Option<Arc<Names>>,
    content: Arc<Content>,
    /// The same files as a file set: names the file at fault when a
    /// piece does not read back as written.
    check: FileSet,
    /// Files found whole and checked.
    finished: Vec<bool>,
    /// Sealed downloads arrive encrypted and are written decrypted.
    seal: Option<SealKey>,
    dirty: BTreeSet<usize>,
    /// Files kept open between pieces (at most `OPEN_FILES`).
    open: HashMap<usize, Handles>,
    /// Bytes written since creation (for figures).
    pub written: u64,
}

/// Output files kept open at once.
const OPEN_FILES: usize = 16;
/// Bytes the read-back check reads at once (whole pieces; at least one):
/// fewer, larger direct reads, each a wait for the disk.
const READ_BACK: usize = 1 << 20;

/// One output file, opened twice: through the page cache, and around it
/// where the file system allows (`None` where it does not).
struct Handles {
    buffered: File,
    direct: Option<File>,
}

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

    /// Writes a verified piece that starts at content `offset` (decrypted
    /// in place first, for a sealed download). Where `data` starts at an
    /// aligned address (the download's piece buffers), its aligned parts
    /// go to the disk directly.
    pub fn write(&mut self, offset: u64, data: &mut [u8]) -> Result<(), FilesError> {
        if let Some(k) = &self.seal {
            k.apply(offset, data).map_err(FilesError::Seal)?;
        }
        let mut at = 0usize;
        for (i, file_off, len) in cover(&self.spans, offset, data.len() as u64) {
            let h = self.file(i)?;
            let part = &data[at..at + len as usize];
            direct::write_at(&mut h.direct, &h.buffered, part, file_off)
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
            let h = self.file(i)?;
            h.buffered
                .sync_data()
                .map_err(|e| write_error(&self.spans[i].path, e))?;
        }
        Ok(())
    }

    /// Reads `pieces` back from the disk (around the page cache where the
    /// file system allows) and checks each against the piece table. It
    /// reads [`READ_BACK`] bytes of whole pieces at a time, and a second
    /// thread hashes one run while this one reads the next (two buffers).
    /// A piece that does not read back as written is a fault
    /// ([`crate::health::Fault::Changed`]): someone else wrote to the
    /// file, or the disk lost it.
    fn check_pieces(&mut self, pieces: std::ops::Range<u32>) -> Result<(), FilesError> {
        let content = self.content.clone();
        let piece_size = u64::from(content.manifest.piece_size);
        let per_read = (READ_BACK as u64 / piece_size).max(1) as u32;
        if pieces.len() <= per_read as usize {
            // One read: no second thread (a share of many small files).
            let start = u64::from(pieces.start) * piece_size;
            let end = (u64::from(pieces.end) * piece_size).min(content.manifest.total_size);
            let mut buf = AlignedBuf::with_capacity((end - start) as usize);
            buf.resize((end - start) as usize);
            self.read_back(start, buf.as_mut_slice())?;
            return match first_bad(&content, pieces.start, buf.as_slice()) {
                Some(p) => Err(self.fault(p)),
                None => Ok(()),
            };
        }
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(u32, AlignedBuf)>(1);
        let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<AlignedBuf>(2);
        for _ in 0..2 {
            let _ = empty_tx.send(AlignedBuf::with_capacity(
                (piece_size * u64::from(per_read)) as usize,
            ));
        }
        let path = self
            .spans
            .first()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        let (read, bad) = std::thread::scope(|s| {
            let hasher = std::thread::Builder::new()
                .name("read-back".into())
                .spawn_scoped(s, move || {
                    for (first, buf) in full_rx {
                        let bad = first_bad(&content, first, buf.as_slice());
                        if bad.is_some() {
                            return bad;
                        }
                        let _ = empty_tx.send(buf);
                    }
                    None
                });
            let hasher = match hasher {
                Ok(h) => h,
                Err(e) => return (Err(FilesError::io(&path, e)), None),
            };
            let read = self.read_runs(pieces, per_read, &empty_rx, &full_tx);
            drop(full_tx);
            match hasher.join() {
                Ok(bad) => (read, bad),
                // Never taken for checked: a hasher that died checked nothing.
                Err(_) => (
                    Err(FilesError::io(
                        &path,
                        std::io::Error::other("the read-back check stopped"),
                    )),
                    None,
                ),
            }
        });
        match bad {
            Some(p) => Err(self.fault(p)),
            None => read,
        }
    }

    /// The fault of piece `p`, which did not read back as written.
    fn fault(&self, p: u32) -> FilesError {
        let m = &self.content.manifest;
        let offset = u64::from(p) * u64::from(m.piece_size);
        blame(&self.check, p, offset, m.piece_len(u64::from(p))).into()
    }

    /// The reading half of [`Output::check_pieces`]: reads `pieces`,
    /// `per_read` at a time, into the buffers `empty` gives and hands each
    /// run to `full`. Stops early, without error, once the hasher stops
    /// (it found a bad piece, and says which).
    fn read_runs(
        &mut self,
        pieces: std::ops::Range<u32>,
        per_read: u32,
        empty: &std::sync::mpsc::Receiver<AlignedBuf>,
        full: &std::sync::mpsc::SyncSender<(u32, AlignedBuf)>,
    ) -> Result<(), FilesError> {
        let piece_size = u64::from(self.content.manifest.piece_size);
        let mut first = pieces.start;
        while first < pieces.end {
            let last = pieces.end.min(first.saturating_add(per_read));
            let Ok(mut buf) = empty.recv() else {
                return Ok(());
            };
            let offset = u64::from(first) * piece_size;
            let end = (u64::from(last) * piece_size).min(self.content.manifest.total_size);
            buf.resize((end - offset) as usize);
            self.read_back(offset, buf.as_mut_slice())?;
            if full.send((first, buf)).is_err() {
                return Ok(());
            }
            first = last;
        }
        Ok(())
    }

    /// Fills `buf` with content bytes from `offset`, as the files hold
    /// them (encrypted again, for a sealed download: as the piece table
    /// names them).
    fn read_back(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FilesError> {
        let mut at = 0usize;
        for (i, file_off, len) in cover(&self.spans, offset, buf.len() as u64) {
            let h = self.file(i)?;
            let part = &mut buf[at..at + len as usize];
            direct::read_at(&mut h.direct, &h.buffered, part, file_off)
                .map_err(|e| write_error(&self.spans[i].path, e))?;
            at += len as usize;
        }
        if at != buf.len() {
            return Err(FilesError::Refused(crate::Refusal::PastTheEnd));
        }
        if let Some(k) = &self.seal {
            k.apply(offset, buf).map_err(FilesError::Seal)?;
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
            self.check_pieces(pieces_of(&self.spans[i], piece_size))?;
            if let Some(n) = &self.names {
                finish_file(&self.spans[i], n, i)?;
            }
            self.finished[i] = true;
        }
        Ok(())
    }

    fn file(&mut self, i: usize) -> Result<&mut Handles, FilesError> {
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
            let buffered = open_output(&path)?;
            let direct = direct::open(&path);
            self.open.insert(i, Handles { buffered, direct });
        }
        self.open
            .get_mut(&i)
            .ok_or(FilesError::Refused(crate::Refusal::NotOpen))
    }
}

/// The first piece of `buf` (whole pieces from piece `first`) whose hash
/// is not the piece table's.
fn first_bad(content: &Content, first: u32, buf: &[u8]) -> Option<u32> {
    let size = content.manifest.piece_size as usize;
    buf.chunks(size).enumerate().find_map(|(k, piece)| {
        let p = first + k as u32;
        (content.hashes.get(p as usize) != Some(&piece_hash(piece))).then_some(p)
    })
}

fn write_error(path: &std::path::Path, e: std::io::Error) -> FilesError {
    FilesError::io(path, e)
}
