//! Checking files against the piece table again (qBittorrent's "force
//! recheck"): which pieces do the files on disk still hold?
//!
//! Each file is looked up first (gone, or of the wrong length, is a fault
//! and its pieces are not read); then every piece asked about is read and
//! hashed. The stamps taken *before* reading are what the caller may record
//! as "known good": a file modified during the check has another stamp
//! and is checked again later.

use std::sync::atomic::{AtomicBool, Ordering};

use super::FilesError;
use super::bitmap::Bitmap;
use super::health::Fault;
use super::layout::pieces_of;
use super::registry::Content;
use super::source::{FileSet, Stamp};
use super::verified::read_checked;

/// How far to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Stop at the first piece that does not match: is it all intact?
    Verdict,
    /// Check every piece: which ones are intact?
    Full,
}

/// What a check found.
#[derive(Debug)]
pub(crate) struct Rechecked {
    /// The pieces whose bytes match, among those checked.
    pub(crate) good: Bitmap,
    /// How many pieces were asked about.
    pub(crate) checked: u32,
    /// The first fault found (none: every piece checked matched).
    pub(crate) fault: Option<Fault>,
    /// Every file's stamp from before it was read; none if a file is gone
    /// or of the wrong length.
    pub(crate) stamps: Option<Vec<Stamp>>,
}

/// Checks the pieces of `content` in `only` (all when none) against
/// `files`. `progress(done, total)` gets bytes; `cancel` stops early (the
/// result then covers what was checked). Blocking.
pub(crate) fn recheck(
    files: &FileSet,
    content: &Content,
    only: Option<&Bitmap>,
    depth: Depth,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<Rechecked, FilesError> {
    let m = &content.manifest;
    let n = m.piece_count() as u32;
    let wanted = |p: u32| only.is_none_or(|o| o.get(p));
    // Look every file up before reading any.
    let mut bad_piece = Bitmap::new(n);
    let mut fault = None;
    let mut stamps = Vec::with_capacity(files.spans().len());
    for (i, span) in files.spans().iter().enumerate() {
        match files.lookup(i) {
            Ok((_, meta)) => stamps.push(Stamp::of(&meta)),
            Err(FilesError::Fault(f)) => {
                for p in pieces_of(span, m.piece_size) {
                    bad_piece.set(p);
                }
                fault.get_or_insert(f);
            }
            Err(e) => return Err(e),
        }
    }
    let stamps = (stamps.len() == files.spans().len()).then_some(stamps);
    let total: u64 = (0..n)
        .filter(|p| wanted(*p))
        .map(|p| m.piece_len(u64::from(p)))
        .sum();
    let mut good = Bitmap::new(n);
    let mut checked = 0;
    let mut done = 0;
    progress(0, total);
    for p in (0..n).filter(|p| wanted(*p)) {
        if cancel.load(Ordering::Relaxed) || (depth == Depth::Verdict && fault.is_some()) {
            break;
        }
        checked += 1;
        if !bad_piece.get(p) {
            match read_checked(files, content, p) {
                Ok(_) => good.set(p),
                Err(FilesError::Fault(f)) => {
                    fault.get_or_insert(f);
                }
                Err(e) => return Err(e),
            }
        }
        done += m.piece_len(u64::from(p));
        progress(done, total);
    }
    Ok(Rechecked {
        good,
        checked,
        fault,
        stamps,
    })
}
