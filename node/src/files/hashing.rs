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
use std::time::UNIX_EPOCH;

use warren_proto::content::{
    FileEntry, Listing, MAX_FILES, MAX_PIECE_SIZE, MAX_PIECES, Manifest, Meta, RelPath, piece_hash,
    pieces_root,
};
use warren_proto::seal::SealKey;
use warren_proto::{BoundedString, BoundedVec};

use super::FilesError;

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
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        SourceFile {
            path,
            size: meta.len(),
            mtime_ns,
        }
    }

    /// Whether the file on disk is still the one that was hashed.
    pub fn unchanged(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| SourceFile::of(self.path.clone(), &m) == *self)
    }
}

/// What to put in the listing besides the files.
#[derive(Debug, Clone, Default)]
pub struct Describe {
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
    move |e| FilesError::Io {
        path: path.to_path_buf(),
        error: e.to_string(),
    }
}

fn rel(path: &str) -> Result<RelPath, FilesError> {
    RelPath::new(path).map_err(|e| FilesError::Refused(format!("cannot share {path:?}: {e}")))
}

/// Lists the files under `root` (or `root` itself) as (path in share, source).
fn walk(root: &Path) -> Result<Vec<(RelPath, SourceFile)>, FilesError> {
    let meta = std::fs::symlink_metadata(root).map_err(io(root))?;
    let root = root.canonicalize().map_err(io(root))?;
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| FilesError::Refused(format!("{} has no usable name", root.display())))?
        .to_string();
    if meta.is_file() || (meta.file_type().is_symlink() && root.is_file()) {
        let m = std::fs::metadata(&root).map_err(io(&root))?;
        return Ok(vec![(rel(&name)?, SourceFile::of(root, &m))]);
    }
    if !root.is_dir() {
        return Err(FilesError::Refused(format!(
            "{} is not a file or folder",
            root.display()
        )));
    }
    let mut out = Vec::new();
    walk_dir(&root, &root, &name, 0, &mut out)?;
    if out.is_empty() {
        return Err(FilesError::Refused(format!(
            "{} holds no files",
            root.display()
        )));
    }
    Ok(out)
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(RelPath, SourceFile)>,
) -> Result<(), FilesError> {
    if depth > MAX_DEPTH {
        return Err(FilesError::Refused(format!(
            "{} is nested deeper than {MAX_DEPTH} folders",
            dir.display()
        )));
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().into_string().map_err(|n| {
            FilesError::Refused(format!(
                "file name {n:?} in {} is not valid UTF-8",
                dir.display()
            ))
        })?;
        let inner = format!("{prefix}/{name}");
        let ft = e.file_type().map_err(io(&path))?;
        if ft.is_symlink() {
            let target = path.canonicalize().map_err(io(&path))?;
            if !target.starts_with(root) {
                return Err(FilesError::Refused(format!(
                    "{} is a link to {}, outside the shared folder",
                    path.display(),
                    target.display()
                )));
            }
            if !target.is_file() {
                return Err(FilesError::Refused(format!(
                    "{} links to a folder; share the folder itself",
                    path.display()
                )));
            }
            let m = std::fs::metadata(&target).map_err(io(&target))?;
            out.push((rel(&inner)?, SourceFile::of(target, &m)));
        } else if ft.is_dir() {
            walk_dir(root, &path, &inner, depth + 1, out)?;
        } else if ft.is_file() {
            let m = e.metadata().map_err(io(&path))?;
            out.push((rel(&inner)?, SourceFile::of(path, &m)));
        } else {
            return Err(FilesError::Refused(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if out.len() > MAX_FILES {
            return Err(FilesError::Refused(format!("more than {MAX_FILES} files")));
        }
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
    let mut files = walk(root)?;
    files.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let total: u64 = files.iter().map(|(_, s)| s.size).sum();
    let piece_size = choose_piece_size(total);
    if warren_proto::content::piece_count(total, piece_size) > MAX_PIECES {
        return Err(FilesError::Refused(format!(
            "{total} bytes is more than one share can hold"
        )));
    }
    let mut hashes =
        Vec::with_capacity(warren_proto::content::piece_count(total, piece_size) as usize);
    let mut piece = Vec::with_capacity(piece_size as usize);
    let mut buf = vec![0u8; 1 << 20];
    let mut done: u64 = 0;
    progress(0, total);
    for (_, src) in &files {
        let mut f = File::open(&src.path).map_err(io(&src.path))?;
        let mut left = src.size;
        while left > 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(FilesError::Cancelled);
            }
            let want = buf.len().min(left as usize);
            let n = f.read(&mut buf[..want]).map_err(io(&src.path))?;
            if n == 0 {
                return Err(FilesError::Refused(format!(
                    "{} shrank while being shared",
                    src.path.display()
                )));
            }
            let chunk = &mut buf[..n];
            if let Some((key, _)) = seal {
                key.apply(done, chunk)
                    .map_err(|e| FilesError::Refused(e.to_string()))?;
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
    for (_, src) in &files {
        if !src.unchanged() {
            return Err(FilesError::Refused(format!(
                "{} changed while being shared; try again",
                src.path.display()
            )));
        }
    }
    let name = files[0]
        .0
        .components()
        .next()
        .unwrap_or("share")
        .to_string();
    let listing =
        Listing {
            name: BoundedString::new(name).map_err(|e| FilesError::Refused(e.to_string()))?,
            files: BoundedVec::truncating(files.iter().map(|(p, s)| FileEntry {
                path: p.clone(),
                size: s.size,
            })),
            description: match &describe.description {
                Some(d) => Some(BoundedString::new(d.clone()).map_err(|_| {
                    FilesError::Refused("description longer than 1024 bytes".into())
                })?),
                None => None,
            },
            tags: describe
                .tags
                .iter()
                .map(|t| {
                    BoundedString::new(t.clone())
                        .map_err(|_| FilesError::Refused(format!("tag {t:?} longer than 32 bytes")))
                })
                .collect::<Result<Vec<_>, _>>()
                .and_then(|v| {
                    if v.len() > 16 {
                        Err(FilesError::Refused("more than 16 tags".into()))
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
            let sealed = key
                .seal_listing(&listing, piece_size, total, &root_hash, nonce)
                .map_err(|e| FilesError::Refused(e.to_string()))?;
            Meta::Sealed(
                warren_proto::BoundedBytes::new(sealed)
                    .map_err(|_| FilesError::Refused("listing too large to seal".into()))?,
            )
        }
    };
    let manifest = Manifest {
        piece_size,
        total_size: total,
        pieces_root: root_hash,
        meta,
    };
    manifest
        .check()
        .map_err(|e| FilesError::Refused(e.to_string()))?;
    Ok(Hashed {
        manifest,
        hashes,
        sources: files.into_iter().map(|(_, s)| s).collect(),
    })
}
