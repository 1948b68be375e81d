//! Factory reset: a confirmed long press asks the node to stop; once every
//! task has ended, `warren run` wipes the data folder (identity, store,
//! Tor state, mirrors, downloads kept there) and starts again as a new node
//! with a new pairing code. The configuration file stays: it holds how the
//! board is wired.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

/// Shared between the board actor, which asks, and `warren run`, which
/// wipes once the node stopped.
#[derive(Debug, Clone, Default)]
pub struct ResetRequest(Arc<AtomicBool>);

impl ResetRequest {
    /// Asks for a factory reset.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether one was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Removes everything in `dir` but the entries named in `keep`; returns how
/// many entries were removed.
pub fn wipe(dir: &Path, keep: &[&str]) -> Result<usize> {
    let what = |p: &Path| format!("wiping {}", p.display());
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).map_err(Error::io(what(dir)))? {
        let entry = entry.map_err(Error::io(what(dir)))?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(Error::io(what(&path)))?;
        if kind.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .map_err(Error::io(what(&path)))?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipe_keeps_only_what_it_is_told_to() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("warren.toml"), "[board]\n").unwrap();
        std::fs::write(dir.path().join("warren.redb"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("arti/state")).unwrap();
        std::fs::write(dir.path().join("arti/state/key"), "k").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        assert_eq!(wipe(dir.path(), &["warren.toml"]).unwrap(), 3);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec!["warren.toml"]);
        assert!(
            Path::new("/etc").exists(),
            "a symlink is removed, not followed"
        );
    }
}
