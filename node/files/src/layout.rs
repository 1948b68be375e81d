//! Where each byte of a share lives among its files, and creating output
//! files without ever writing outside the target folder.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use warren_proto::content::Listing;

use super::FilesError;
use super::bitmap::Bitmap;
use super::health::{Change, Fault};
use crate::Refusal;

/// A file's place in the content.
#[derive(Debug, Clone)]
pub struct Span {
    /// Where the file is.
    pub path: PathBuf,
    /// Its first byte's content offset.
    pub start: u64,
    /// Its length.
    pub size: u64,
}

/// The parts of `spans` covering content bytes `offset .. offset + len`:
/// (span index, offset inside that file, length).
pub fn cover(spans: &[Span], offset: u64, len: u64) -> Vec<(usize, u64, u64)> {
    let end = offset.saturating_add(len);
    // Spans are sorted by start; find the first that ends after `offset`.
    let first = spans.partition_point(|s| s.start + s.size <= offset);
    let mut out = Vec::new();
    for (i, s) in spans.iter().enumerate().skip(first) {
        if s.start >= end {
            break;
        }
        let from = offset.max(s.start);
        let to = end.min(s.start + s.size);
        if to > from {
            out.push((i, from - s.start, to - from));
        }
    }
    out
}

/// The spans of a listing's files placed under `dir`, each name with its
/// bidi controls replaced ([`warren_proto::content::unspoofed`]).
pub fn spans_under(dir: &Path, listing: &Listing) -> Vec<Span> {
    listing
        .files
        .as_slice()
        .iter()
        .zip(listing.spans())
        .map(|(f, (start, size))| Span {
            // Names are written as they are shown: no bidi controls.
            path: dir.join(warren_proto::content::unspoofed(f.path.as_str())),
            start,
            size,
        })
        .collect()
}

/// The suffix a download's file carries until every piece of it is
/// verified and on disk, so that nobody mistakes a half-written file for a
/// finished one (Transmission's `.part`, qBittorrent's `.!qB`).
pub const PART_SUFFIX: &str = ".warren-part";

/// `path` with [`PART_SUFFIX`] appended.
pub fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(PART_SUFFIX);
    PathBuf::from(s)
}

/// Which of a download's files are finished (under their own names); the
/// others carry [`PART_SUFFIX`]. Shared by the writer, which renames, and
/// the readers that seed and serve the download.
#[derive(Debug)]
pub struct Names {
    finished: Vec<AtomicBool>,
}

impl Names {
    fn new(finished: impl IntoIterator<Item = bool>) -> Names {
        Names {
            finished: finished.into_iter().map(AtomicBool::new).collect(),
        }
    }

    /// Whether file `i` is under its own name.
    pub fn is_finished(&self, i: usize) -> bool {
        self.finished
            .get(i)
            .is_some_and(|f| f.load(Ordering::Acquire))
    }

    /// The path file `i` (whose own name is `path`) has now.
    pub fn current(&self, path: &Path, i: usize) -> PathBuf {
        if self.is_finished(i) {
            path.to_path_buf()
        } else {
            part_path(path)
        }
    }

    /// Each file under whichever name it has on disk: its own name when
    /// that exists or when neither does.
    pub fn from_disk(spans: &[Span]) -> Names {
        Names::new(spans.iter().map(|s| {
            std::fs::symlink_metadata(&s.path).is_ok()
                || std::fs::symlink_metadata(part_path(&s.path)).is_err()
        }))
    }

    /// Every file under its own name.
    pub fn all_finished(n: usize) -> Names {
        Names::new(std::iter::repeat_n(true, n))
    }

    fn set_finished(&self, i: usize) {
        if let Some(f) = self.finished.get(i) {
            f.store(true, Ordering::Release);
        }
    }
}

/// The pieces that hold bytes of `span` (none for an empty file).
pub fn pieces_of(span: &Span, piece_size: u32) -> std::ops::Range<u32> {
    if span.size == 0 {
        return 0..0;
    }
    let ps = u64::from(piece_size.max(1));
    let first = span.start / ps;
    let last = (span.start + span.size - 1) / ps;
    u32::try_from(first).unwrap_or(u32::MAX)..u32::try_from(last + 1).unwrap_or(u32::MAX)
}

/// Whether every piece of `span` is in `have`.
pub fn span_complete(span: &Span, piece_size: u32, have: &Bitmap) -> bool {
    pieces_of(span, piece_size).all(|p| have.get(p))
}

/// Renames `from` to `to` unless `to` exists (never replaces a file the
/// user put there).
pub fn rename_no_replace(from: &Path, to: &Path) -> Result<(), FilesError> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EEXIST) => {
            Err(FilesError::Refused(Refusal::WontReplace(to.to_path_buf())))
        }
        // A filesystem without the flag: check, then rename.
        Err(nix::errno::Errno::EINVAL) => {
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(FilesError::Refused(Refusal::WontReplace(to.to_path_buf())));
            }
            std::fs::rename(from, to).map_err(|e| FilesError::io(from, e))
        }
        Err(e) => Err(FilesError::io(from, std::io::Error::from(e))),
    }
}

/// Creates (or, when `resume`, reopens) every output file of `listing`
/// under `dir`, at its final size: under its own name when every piece of
/// it is in `have` (empty files at once), under [`PART_SUFFIX`] otherwise.
///
/// Refuses, before writing anything: a `dir` that is not a folder; any
/// existing component under `dir` that is a symlink (writing through it
/// could land outside `dir`); and, unless resuming, any file (or
/// temporary file) that already exists. When resuming, a file whose pieces
/// are recorded but which is gone is [`Fault::Missing`]: the caller must
/// re-check the download, not recreate it empty.
pub fn create_outputs(
    dir: &Path,
    listing: &Listing,
    piece_size: u32,
    have: &Bitmap,
    resume: bool,
) -> Result<(Vec<Span>, Arc<Names>), FilesError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| FilesError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(FilesError::Refused(Refusal::NotAFolder(dir.to_path_buf())));
    }
    let spans = spans_under(dir, listing);
    // Check everything first, so that a refusal leaves no trace.
    for f in listing.files.as_slice() {
        let mut at = dir.to_path_buf();
        let comps: Vec<&str> = f.path.components().collect();
        for (i, c) in comps.iter().enumerate() {
            at.push(c);
            let last = i + 1 == comps.len();
            let names = if last {
                vec![at.clone(), part_path(&at)]
            } else {
                vec![at.clone()]
            };
            for name in names {
                match std::fs::symlink_metadata(&name) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(FilesError::Refused(Refusal::Symlink(name.to_path_buf())));
                    }
                    Ok(m) if !last && !m.is_dir() => {
                        return Err(FilesError::Refused(Refusal::InTheWay(name.to_path_buf())));
                    }
                    Ok(_) if last && !resume => {
                        return Err(FilesError::Refused(Refusal::NameTaken(name.to_path_buf())));
                    }
                    _ => {}
                }
            }
        }
    }
    let complete: Vec<bool> = spans
        .iter()
        .map(|s| span_complete(s, piece_size, have))
        .collect();
    let mut finished = Vec::with_capacity(spans.len());
    for (span, done) in spans.iter().zip(&complete) {
        let part = part_path(&span.path);
        let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
        let held = pieces_of(span, piece_size).any(|p| have.get(p));
        if let Some(parent) = span.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| FilesError::io(parent, e))?;
        }
        let path = match (*done, exists(&span.path), exists(&part)) {
            (true, true, _) => span.path.clone(),
            // Synced but not checked and renamed when the node stopped: the
            // writer checks it and gives it its name.
            (true, false, true) => part,
            (true, false, false) if span.size == 0 => span.path.clone(),
            (false, true, false) if held => {
                // A finished file whose pieces must be fetched again (a
                // re-check found some of them changed): it is unfinished
                // again, and says so.
                rename_no_replace(&span.path, &part)?;
                part
            }
            (_, false, false) if held => return Err(Fault::Missing(part).into()),
            _ => part,
        };
        let f = open_output(&path)?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len != span.size {
            if held {
                return Err(Fault::Changed {
                    path,
                    change: Change::Size {
                        expected: span.size,
                        found: len,
                    },
                }
                .into());
            }
            f.set_len(span.size).map_err(|e| FilesError::io(&path, e))?;
        }
        finished.push(path == span.path);
    }
    Ok((spans, Arc::new(Names::new(finished))))
}

/// Gives file `i` of a download (its own name `span.path`) that name, from
/// its temporary one. Call only once its pieces are durable and checked.
pub fn finish_file(span: &Span, names: &Names, i: usize) -> Result<(), FilesError> {
    if names.is_finished(i) {
        return Ok(());
    }
    let part = part_path(&span.path);
    match rename_no_replace(&part, &span.path) {
        Ok(()) => {}
        // The writer still held it open: its bytes went to a file that is
        // gone.
        Err(FilesError::Io { .. }) if std::fs::symlink_metadata(&part).is_err() => {
            return Err(Fault::Missing(part).into());
        }
        Err(e) => return Err(e),
    }
    names.set_finished(i);
    Ok(())
}

/// Creates (or, when `resume`, reopens) the single file that holds a
/// mirror's content, at its final size. Its folder is created if missing;
/// an existing file is refused unless resuming (it would belong to another
/// mirror of the same content).
pub fn create_blob(path: &Path, size: u64, resume: bool) -> Result<(), FilesError> {
    let io = |p: &Path, e: std::io::Error| FilesError::io(p, e);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    if !resume && std::fs::symlink_metadata(path).is_ok() {
        return Err(FilesError::Refused(Refusal::AlreadyMirrored(
            path.to_path_buf(),
        )));
    }
    let f = open_output(path)?;
    if f.metadata().map(|m| m.len()).unwrap_or(0) != size {
        f.set_len(size).map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// Opens an output file for writing without following a symlink.
pub fn open_output(path: &Path) -> Result<File, FilesError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| FilesError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans() -> Vec<Span> {
        [("a", 0, 10), ("b", 10, 0), ("c", 10, 5), ("d", 15, 20)]
            .iter()
            .map(|(p, s, n)| Span {
                path: PathBuf::from(p),
                start: *s,
                size: *n,
            })
            .collect()
    }

    #[test]
    fn ranges_map_onto_files() {
        let s = spans();
        assert_eq!(cover(&s, 0, 10), vec![(0, 0, 10)]);
        assert_eq!(
            cover(&s, 8, 9),
            vec![(0, 8, 2), (2, 0, 5), (3, 0, 2)],
            "empty files are skipped"
        );
        assert_eq!(cover(&s, 30, 100), vec![(3, 15, 5)]);
        assert_eq!(cover(&s, 35, 1), vec![]);
    }
}
