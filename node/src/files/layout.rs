//! Where each byte of a share lives among its files, and creating output
//! files without ever writing outside the target folder.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use warren_proto::content::Listing;

use super::FilesError;

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

/// The spans of a listing's files placed under `dir`.
pub fn spans_under(dir: &Path, listing: &Listing) -> Vec<Span> {
    listing
        .files
        .as_slice()
        .iter()
        .zip(listing.spans())
        .map(|(f, (start, size))| Span {
            path: dir.join(f.path.as_str()),
            start,
            size,
        })
        .collect()
}

/// Creates (or, when `resume`, opens) every output file of `listing`
/// under `dir`, at its final size.
///
/// Refuses, before writing anything: a `dir` that is not a folder; any
/// existing component under `dir` that is a symlink (writing through it
/// could land outside `dir`); and, unless resuming, any file that already
/// exists.
pub fn create_outputs(
    dir: &Path,
    listing: &Listing,
    resume: bool,
) -> Result<Vec<Span>, FilesError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| FilesError::Io {
        path: dir.to_path_buf(),
        error: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(FilesError::Refused(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    let spans = spans_under(dir, listing);
    // Check everything first, so that a refusal leaves no trace.
    for (f, span) in listing.files.as_slice().iter().zip(&spans) {
        let mut at = dir.to_path_buf();
        let comps: Vec<&str> = f.path.components().collect();
        for (i, c) in comps.iter().enumerate() {
            at.push(c);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(FilesError::Refused(format!(
                        "{} is a symlink; refusing to write through it",
                        at.display()
                    )));
                }
                Ok(m) if i + 1 < comps.len() && !m.is_dir() => {
                    return Err(FilesError::Refused(format!(
                        "{} is in the way (not a folder)",
                        at.display()
                    )));
                }
                Ok(_) if i + 1 == comps.len() && !resume => {
                    return Err(FilesError::Refused(format!(
                        "{} already exists; remove it or download elsewhere (--out)",
                        span.path.display()
                    )));
                }
                _ => {}
            }
        }
    }
    for span in &spans {
        if let Some(parent) = span.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| FilesError::Io {
                path: parent.to_path_buf(),
                error: e.to_string(),
            })?;
        }
        let f = open_output(&span.path)?;
        if f.metadata().map(|m| m.len()).unwrap_or(0) != span.size {
            f.set_len(span.size).map_err(|e| FilesError::Io {
                path: span.path.clone(),
                error: e.to_string(),
            })?;
        }
    }
    Ok(spans)
}

/// Creates (or, when `resume`, reopens) the single file that holds a
/// mirror's content, at its final size. Its folder is created if missing;
/// an existing file is refused unless resuming (it would belong to another
/// mirror of the same content).
pub fn create_blob(path: &Path, size: u64, resume: bool) -> Result<(), FilesError> {
    let io = |p: &Path, e: std::io::Error| FilesError::Io {
        path: p.to_path_buf(),
        error: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    if !resume && std::fs::symlink_metadata(path).is_ok() {
        return Err(FilesError::Refused(format!(
            "{} already exists (this content is already mirrored)",
            path.display()
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
        .map_err(|e| FilesError::Io {
            path: path.to_path_buf(),
            error: e.to_string(),
        })
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
