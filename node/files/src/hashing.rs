//! Turning a file or folder into a manifest and a piece table.
//!
//! The walk refuses what it cannot share safely: names that are not valid
//! paths (see `RelPath`), special files, symlinked folders, and symlinks
//! that lead out of the shared tree. Files are read once, in manifest
//! order, and hashed piece by piece across file boundaries.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use warren_proto::content::{
    FileEntry, Listing, MAX_FILES, MAX_PIECE_SIZE, MAX_PIECES, Manifest, Meta, RelPath, piece_hash,
    pieces_root,
};
use warren_proto::seal::SealKey;
use warren_proto::{BoundedString, BoundedVec};

use super::FilesError;
use super::source::Stamp;
use crate::Refusal;

/// Files that cannot be shared named in one refusal, at most.
const MAX_NAMED: usize = 10;
/// Deepest folder nesting walked.
const MAX_DEPTH: usize = 64;
/// Smallest piece size chosen for a share.
const MIN_CHOSEN_PIECE: u32 = 64 * 1024;
/// Pieces aimed for; larger shares get larger pieces.
const TARGET_PIECES: u64 = 4096;

/// A file as found on disk: where, and what it looked like.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    /// Absolute path to read from.
    pub path: PathBuf,
    /// Size when hashed.
    pub size: u64,
    /// Modification time when hashed (nanoseconds since the epoch).
    pub mtime_ns: i128,
}

impl SourceFile {
    fn of(path: PathBuf, meta: &std::fs::Metadata) -> SourceFile {
        let stamp = Stamp::of(meta);
        SourceFile {
            path,
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
        }
    }

    /// Its size and modification time (all a share made before stamps held
    /// more recorded).
    pub fn stamp(&self) -> Stamp {
        Stamp {
            size: self.size,
            mtime_ns: self.mtime_ns,
            ctime_ns: 0,
            ino: 0,
        }
    }
}

/// What to put in the listing besides the files, and how to walk them.
#[derive(Debug, Clone, Default)]
pub struct Describe {
    /// Leave out what cannot be shared instead of refusing the folder.
    pub skip_unsafe: bool,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time (unix seconds).
    pub created_at: u64,
}

/// A hashed share.
#[derive(Debug, Clone)]
pub struct Hashed {
    /// The manifest (sealed if a key was given).
    pub manifest: Manifest,
    /// The piece table.
    pub hashes: Vec<[u8; 32]>,
    /// The files, in manifest order.
    pub sources: Vec<SourceFile>,
    /// The files' stamps, taken from the handles they were read through
    /// before they were read.
    pub stamps: Vec<Stamp>,
    /// What was left out or noticed, for the person sharing.
    pub notes: Vec<String>,
}

/// The piece size for `total` bytes.
pub fn choose_piece_size(total: u64) -> u32 {
    let wanted = total
        .div_ceil(TARGET_PIECES)
        .max(u64::from(MIN_CHOSEN_PIECE))
        .next_power_of_two();
    wanted.min(u64::from(MAX_PIECE_SIZE)) as u32
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FilesError + '_ {
    move |e| FilesError::io(path, e)
}

fn rel(path: &str) -> Result<RelPath, FilesError> {
    RelPath::new(path).map_err(|source| {
        FilesError::Refused(Refusal::UnsafeName {
            path: path.to_string(),
            source,
        })
    })
}

/// What walking a folder found besides the files.
#[derive(Debug, Default)]
struct Walk {
    /// Leave out what cannot be shared instead of refusing.
    skip_unsafe: bool,
    files: Vec<(RelPath, SourceFile)>,
    /// What was left out, and why (with `skip_unsafe`).
    skipped: Vec<String>,
    /// Folders with no file in them (a share holds files only).
    empty: Vec<String>,
}

impl Walk {
    /// Notes `what`: left out with `skip_unsafe`, a reason to refuse the
    /// share otherwise (every such file is named, up to a point).
    fn unsafe_entry(&mut self, what: String) -> Result<(), FilesError> {
        self.skipped.push(what);
        if !self.skip_unsafe && self.skipped.len() >= MAX_NAMED {
            return Err(self.refusal());
        }
        Ok(())
    }

    /// Why the share is refused, naming what cannot be shared.
    fn refusal(&self) -> FilesError {
        FilesError::Refused(Refusal::UnsafeFiles {
            named: self.skipped.clone(),
            more: self.skipped.len() >= MAX_NAMED,
        })
    }
}

/// Lists the files under `root` (or `root` itself).
fn walk(root: &Path, skip_unsafe: bool) -> Result<Walk, FilesError> {
    let meta = std::fs::symlink_metadata(root).map_err(io(root))?;
    let root = root.canonicalize().map_err(io(root))?;
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| FilesError::Refused(Refusal::NoName(root.to_path_buf())))?
        .to_string();
    let mut w = Walk {
        skip_unsafe,
        ..Walk::default()
    };
    if meta.is_file() || (meta.file_type().is_symlink() && root.is_file()) {
        let m = std::fs::metadata(&root).map_err(io(&root))?;
        w.files.push((rel(&name)?, SourceFile::of(root, &m)));
        return Ok(w);
    }
    if !root.is_dir() {
        return Err(FilesError::Refused(Refusal::NotFileOrFolder(
            root.to_path_buf(),
        )));
    }
    walk_dir(&root, &root, &name, 0, &mut w)?;
    if !w.skip_unsafe && !w.skipped.is_empty() {
        return Err(w.refusal());
    }
    if w.files.is_empty() {
        return Err(FilesError::Refused(Refusal::NoFiles(root.to_path_buf())));
    }
    Ok(w)
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    w: &mut Walk,
) -> Result<(), FilesError> {
    if depth > MAX_DEPTH {
        return w.unsafe_entry(format!(
            "{} is nested deeper than {MAX_DEPTH} folders",
            dir.display()
        ));
    }
    let before = w.files.len();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = match e.file_name().into_string() {
            Ok(n) => n,
            Err(n) => {
                w.unsafe_entry(format!(
                    "file name {n:?} in {} is not valid UTF-8",
                    dir.display()
                ))?;
                continue;
            }
        };
        let inner = format!("{prefix}/{name}");
        let ft = e.file_type().map_err(io(&path))?;
        let found = if ft.is_symlink() {
            let target = path.canonicalize().map_err(io(&path))?;
            if !target.starts_with(root) {
                w.unsafe_entry(format!(
                    "{} is a link to {}, outside the shared folder",
                    path.display(),
                    target.display()
                ))?;
                continue;
            }
            if !target.is_file() {
                w.unsafe_entry(format!(
                    "{} links to a folder; share the folder itself",
                    path.display()
                ))?;
                continue;
            }
            let m = std::fs::metadata(&target).map_err(io(&target))?;
            SourceFile::of(target, &m)
        } else if ft.is_dir() {
            walk_dir(root, &path, &inner, depth + 1, w)?;
            continue;
        } else if ft.is_file() {
            let m = e.metadata().map_err(io(&path))?;
            SourceFile::of(path, &m)
        } else {
            w.unsafe_entry(format!("{} is not a regular file", path.display()))?;
            continue;
        };
        match RelPath::new(&inner) {
            Ok(p) => w.files.push((p, found)),
            Err(e) => w.unsafe_entry(format!("cannot share {inner:?}: {e}"))?,
        }
        if w.files.len() > MAX_FILES {
            return Err(FilesError::Refused(Refusal::TooManyFiles {
                max: MAX_FILES,
            }));
        }
    }
    if w.files.len() == before && depth > 0 {
        w.empty.push(prefix.to_string());
    }
    Ok(())
}

/// Hashes `root` into a share. `progress(done, total)` is called as bytes
/// are read; `cancel` stops it. With `seal`, pieces are hashed encrypted
/// and the listing is sealed.
pub fn hash_path(
    root: &Path,
    describe: &Describe,
    seal: Option<(&SealKey, [u8; 24])>,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<Hashed, FilesError> {
    let walked = walk(root, describe.skip_unsafe)?;
    let mut notes: Vec<String> = walked
        .skipped
        .iter()
        .map(|s| format!("left out: {s}"))
        .collect();
    notes.extend(walked.empty.iter().map(|d| {
        format!("empty folder {d:?} is not part of the share (a share holds files only)")
    }));
    let mut files = walked.files;
    files.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let total: u64 = files.iter().map(|(_, s)| s.size).sum();
    let piece_size = choose_piece_size(total);
    if warren_proto::content::piece_count(total, piece_size) > MAX_PIECES {
        return Err(FilesError::Refused(Refusal::TooLarge { total }));
    }
    let mut hashes =
        Vec::with_capacity(warren_proto::content::piece_count(total, piece_size) as usize);
    let mut piece = Vec::with_capacity(piece_size as usize);
    let mut buf = vec![0u8; 1 << 20];
    let mut done: u64 = 0;
    progress(0, total);
    let mut stamps = Vec::with_capacity(files.len());
    for (_, src) in &files {
        let mut f = File::open(&src.path).map_err(io(&src.path))?;
        let before = Stamp::of(&f.metadata().map_err(io(&src.path))?);
        if before.size != src.size {
            return Err(FilesError::Refused(Refusal::Changed(src.path.clone())));
        }
        stamps.push(before);
        let mut left = src.size;
        while left > 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(FilesError::Cancelled);
            }
            let want = buf.len().min(left as usize);
            let n = f.read(&mut buf[..want]).map_err(io(&src.path))?;
            if n == 0 {
                return Err(FilesError::Refused(Refusal::Shrank(src.path.clone())));
            }
            let chunk = &mut buf[..n];
            if let Some((key, _)) = seal {
                key.apply(done, chunk)?;
            }
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                let take = rest.len().min(piece_size as usize - piece.len());
                piece.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if piece.len() == piece_size as usize {
                    hashes.push(piece_hash(&piece));
                    piece.clear();
                }
            }
            left -= n as u64;
            done += n as u64;
            progress(done, total);
        }
    }
    if !piece.is_empty() {
        hashes.push(piece_hash(&piece));
    }
    for ((_, src), before) in files.iter().zip(&stamps) {
        let now = std::fs::metadata(&src.path).map(|m| Stamp::of(&m));
        if !now.is_ok_and(|now| before.matches(&now)) {
            return Err(FilesError::Refused(Refusal::Changed(src.path.clone())));
        }
    }
    let name = files[0]
        .0
        .components()
        .next()
        .unwrap_or("share")
        .to_string();
    let listing = Listing {
        name: BoundedString::new(name)?,
        files: BoundedVec::truncating(files.iter().map(|(p, s)| FileEntry {
            path: p.clone(),
            size: s.size,
        })),
        description: match &describe.description {
            Some(d) => Some(
                BoundedString::new(d.clone())
                    .map_err(|_| FilesError::Refused(Refusal::DescriptionTooLong))?,
            ),
            None => None,
        },
        tags: describe
            .tags
            .iter()
            .map(|t| {
                BoundedString::new(t.clone())
                    .map_err(|_| FilesError::Refused(Refusal::TagTooLong(t.clone())))
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|v| {
                if v.len() > 16 {
                    Err(FilesError::Refused(Refusal::TooManyTags))
                } else {
                    Ok(BoundedVec::truncating(v))
                }
            })?,
        created_at: describe.created_at,
    };
    let root_hash = pieces_root(&hashes);
    let meta = match seal {
        None => Meta::Plain(listing),
        Some((key, nonce)) => {
            let sealed = key.seal_listing(&listing, piece_size, total, &root_hash, nonce)?;
            Meta::Sealed(
                warren_proto::BoundedBytes::new(sealed)
                    .map_err(|_| FilesError::Refused(Refusal::ListingTooLarge))?,
            )
        }
    };
    let manifest = Manifest {
        piece_size,
        total_size: total,
        pieces_root: root_hash,
        meta,
    };
    manifest.check()?;
    Ok(Hashed {
        manifest,
        hashes,
        sources: files.into_iter().map(|(_, s)| s).collect(),
        stamps,
        notes,
    })
}
